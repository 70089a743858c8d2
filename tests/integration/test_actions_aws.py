"""AwsActions over the Staging sandbox (with two leaked ENIs in private-a): change sets
executed and waited for, a failing update reported with its cause, Auto Scaling
changes visible in describe calls, leaked ENIs found and deleted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.errors import CloudError, StackUpdateFailed
from upgrader.config import Config, load
from upgrader.errors import ExitCode, UpgraderError

pytestmark = pytest.mark.integration
SCENARIOS = REPO / "twin" / "ekstwin" / "scenarios"


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    scenario = yaml.safe_load((SCENARIOS / "staging.yaml").read_text())
    scenario["faults"] = {"leaked_enis": {"private-a": 2}, "stuck_ipamd_nodes": 0}
    path = tmp_path_factory.mktemp("actions-aws") / "leaky.yaml"
    path.write_text(yaml.safe_dump(scenario))
    # speed 1500: a 40-minute control-plane update in 1.6 s
    yield from sandbox(tmp_path_factory, str(path), speed="1500")


@pytest.fixture(scope="module")
def config(leaky: SandboxClients) -> Iterator[Config]:
    with leaky.environment():
        yield load(leaky.running.config)


@pytest.fixture(scope="module")
def aws(config: Config) -> AwsActions:
    return AwsActions.connect(config.region)


@pytest.fixture(scope="module")
def asg_client(leaky: SandboxClients) -> Any:
    return leaky.asg


def _change_set(aws: AwsActions, stack: str, version: str) -> str:
    """A change set setting every parameter explicitly, created with boto3.

    Not through ``create_change_set``: moto stores a ``UsePreviousValue`` of a
    CommaDelimitedList parameter as a list, and executing that change set then
    crashes the sandbox (see ``test_executing_a_planned_change_set``)."""
    cfn = aws.aws.cfn
    current = aws.stack(stack)
    name = f"by-hand-{version.replace('.', '-')}"
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="UPDATE",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": key, "ParameterValue": version if key == "KubernetesVersion" else v}
            for key, v in current.parameters
        ],
    )
    cfn.get_waiter("change_set_create_complete").wait(
        ChangeSetName=created["Id"], WaiterConfig={"Delay": 1}
    )
    return created["Id"]


def _asg_name(aws: AwsActions) -> str:
    stack = aws.stack("staging-workers")
    return stack.resources_of("AWS::AutoScaling::AutoScalingGroup")[0].physical_id


def _subnet_ids(aws: AwsActions) -> list[str]:
    return list(aws.asg(_asg_name(aws)).subnet_ids)


def test_executed_change_set_is_waited_for_until_update_complete(aws: AwsActions) -> None:
    aws.execute_change_set("staging-eks", _change_set(aws, "staging-eks", "1.13"))
    polls: list[tuple[str, float]] = []
    status = aws.wait_stack(
        "staging-eks",
        timeout_seconds=30,
        poll_seconds=0.2,
        on_poll=lambda s, t: polls.append((s, t)),
    )
    assert status == "UPDATE_COMPLETE"
    assert polls[0][0] == "UPDATE_IN_PROGRESS"  # the 40-minute virtual update took polls
    assert polls[-1][0] == "UPDATE_COMPLETE"
    assert aws.stack("staging-eks").parameter("KubernetesVersion") == "1.13"
    assert aws.cluster_version("staging") == ("1.13", "ACTIVE")
    # A finished update waits no more.
    assert aws.wait_stack("staging-eks", timeout_seconds=0) == "UPDATE_COMPLETE"


def test_skipping_a_minor_fails_with_the_failing_resource_first(aws: AwsActions) -> None:
    version = aws.stack("staging-eks").parameter("KubernetesVersion")
    assert version == "1.13"  # after the test above; 1.13 -> 1.15 skips a minor
    aws.execute_change_set("staging-eks", _change_set(aws, "staging-eks", "1.15"))
    with pytest.raises(StackUpdateFailed) as caught:
        aws.wait_stack("staging-eks", timeout_seconds=30, poll_seconds=0.1)
    failed = caught.value
    assert failed.exit_code == ExitCode.STEP_FAILED and int(failed.exit_code) == 4
    assert failed.stack == "staging-eks"
    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    first = failed.events[0]
    assert set(first) == {"resource", "type", "status", "reason", "time"}
    assert first["type"] == "AWS::EKS::Cluster"
    assert first["status"] == "UPDATE_FAILED"
    assert "Unsupported Kubernetes minor version update from 1.13 to 1.15" in first["reason"]
    assert first["resource"] in failed.message and "1.15" in failed.message
    statuses = [e["status"] for e in failed.events]
    assert "UPDATE_IN_PROGRESS" in statuses  # the update's start, not older history
    assert "CREATE_COMPLETE" not in statuses
    assert aws.cluster_version("staging") == ("1.13", "ACTIVE")


def test_wait_times_out_while_the_update_runs(aws: AwsActions) -> None:
    aws.execute_change_set("staging-eks", _change_set(aws, "staging-eks", "1.14"))
    with pytest.raises(StackUpdateFailed) as caught:
        aws.wait_stack("staging-eks", timeout_seconds=0.2, poll_seconds=0.05)
    assert caught.value.status == "TIMEOUT"
    assert "still updating" in caught.value.message
    assert aws.wait_stack("staging-eks", timeout_seconds=30, poll_seconds=0.2) == "UPDATE_COMPLETE"


def test_capacity_and_processes_show_in_describe_calls(aws: AwsActions, asg_client: Any) -> None:
    name = _asg_name(aws)
    before = aws.asg(name)
    aws.set_capacity(name, desired=before.desired + 1, max_size=before.desired + 2)
    raw = asg_client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ][0]
    assert (raw["DesiredCapacity"], raw["MaxSize"], raw["MinSize"]) == (
        before.desired + 1,
        before.desired + 2,
        before.min_size,
    )
    aws.suspend_processes(name, ["AZRebalance", "ReplaceUnhealthy"])
    assert aws.asg(name).suspended_processes == ("AZRebalance", "ReplaceUnhealthy")
    aws.resume_processes(name, ["ReplaceUnhealthy"])
    assert aws.asg(name).suspended_processes == ("AZRebalance",)
    aws.resume_processes(name, [])  # not "resume everything"
    assert aws.asg(name).suspended_processes == ("AZRebalance",)
    aws.resume_processes(name, ["AZRebalance"])

    grown = aws.asg(name)
    assert len(grown.instance_ids) == before.desired + 1
    victim = grown.instance_ids[0]
    aws.terminate(victim, decrement=True)
    after = aws.asg(name)
    assert after.desired == before.desired
    assert victim not in after.instance_ids
    assert {i.state for i in aws.instances([victim])} <= {"terminated", "shutting-down"}
    aws.terminate(victim, decrement=True)  # already gone: nothing to do
    assert aws.asg(name).desired == before.desired


def test_capacity_outside_the_bounds_is_refused_before_any_call(aws: AwsActions) -> None:
    name = _asg_name(aws)
    current = aws.asg(name)
    with pytest.raises(CloudError) as caught:
        aws.set_capacity(name, desired=current.max_size + 5)
    assert "must be between" in str(caught.value)
    assert aws.asg(name).desired == current.desired


def test_leaked_enis_are_found_and_deleting_them_frees_addresses(aws: AwsActions) -> None:
    subnet_ids = _subnet_ids(aws)
    leaked = aws.leaked_enis(subnet_ids)
    assert len(leaked) == 2
    assert all(e.description.startswith("aws-K8S-i-") for e in leaked)
    assert all(e.status == "available" and e.instance_id is None for e in leaked)
    subnet_id = leaked[0].subnet_id
    assert {e.subnet_id for e in leaked} == {subnet_id}
    (free,) = (s.available_ips for s in aws.subnets([subnet_id]))
    held = sum(e.addresses for e in leaked)
    assert held > 2  # each holds a full ENI's secondary addresses
    for eni in leaked:
        aws.delete_eni(eni.eni_id)
    aws.delete_eni(leaked[0].eni_id)  # already deleted: nothing to do
    assert aws.leaked_enis(subnet_ids) == ()
    (after,) = aws.subnets([subnet_id])
    assert after.available_ips == free + held


def test_enis_of_live_nodes_are_never_leaked(aws: AwsActions) -> None:
    assert aws.leaked_enis(_subnet_ids(aws)) == ()
    ec2 = aws.aws.ec2
    instance = aws.asg(_asg_name(aws)).instance_ids[0]
    subnet_id = aws.instances([instance])[0].subnet_id
    eni = ec2.create_network_interface(SubnetId=subnet_id, Description=f"aws-K8S-{instance}")
    try:
        assert aws.leaked_enis([subnet_id]) == ()  # mid-attach: its instance is alive
    finally:
        aws.delete_eni(eni["NetworkInterface"]["NetworkInterfaceId"])


def test_create_change_set_leaves_a_reviewable_change_set(aws: AwsActions) -> None:
    made = aws.create_change_set(
        "staging-eks", {"KubernetesVersion": "1.15"}, description="upgrader plan 1.15"
    )
    assert made.status == "CREATE_COMPLETE" and made.name.startswith("upgrader-")
    assert made.name in [c.name for c in aws.stack("staging-eks").change_sets]


def test_executing_a_gone_change_set_says_plan_again(aws: AwsActions) -> None:
    with pytest.raises(UpgraderError) as caught:
        aws.execute_change_set("staging-eks", "upgrader-000000000000")
    assert "upgrader plan" in caught.value.hint


def test_executing_a_planned_change_set(aws: AwsActions) -> None:
    """Last in the module: the crash leaves the stack UPDATE_IN_PROGRESS."""
    made = aws.create_change_set(
        "staging-eks", {"KubernetesVersion": "1.15"}, description="upgrader plan 1.15"
    )
    aws.execute_change_set("staging-eks", made.name)
    assert aws.wait_stack("staging-eks", timeout_seconds=30, poll_seconds=0.2) == (
        "UPDATE_COMPLETE"
    )
