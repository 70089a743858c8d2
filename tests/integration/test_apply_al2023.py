"""One plan, one apply on the twin: a self-managed node group on Amazon Linux 2 at 1.31
goes to 1.33 in two hops; 1.33 has no AL2 AMI. The group rolls once, at the last hop
(kubelet skew 3), where its stack moves to the AL2023 AMI and nodeadm NodeConfig user data
(carrying the bootstrap.sh call's node labels); apply re-derives that hop from the live
cluster and finds what was reviewed. Every new node joins at 1.33 on Amazon Linux 2023
(the twin registers an AL2023 instance only with a NodeConfig naming the cluster), with
no pod lost."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[2] / "twin" / "ekstwin" / "scenarios" / "modern.yaml"
PDBS = "/apis/policy/v1/poddisruptionbudgets"
STACK = "al2-memory"
LABELS = "--kubelet-extra-args '--node-labels=team=memory'"


@pytest.fixture
def al2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scenario = yaml.safe_load(SHIPPED.read_text())
    scenario.update(name="al2", kubernetes="1.31")
    scenario["nodegroups"] = [g for g in scenario["nodegroups"] if g["kind"] == "self-managed"]
    scenario["target"] = {"kubernetes": "1.33", "cni": "v1.20.1"}
    path = tmp_path_factory.mktemp("scenario") / "al2.yaml"
    path.write_text(yaml.safe_dump(scenario))
    yield from sandbox(tmp_path_factory, str(path), Cluster, speed="1500")


def _set_bootstrap_arguments(c: Cluster, value: str) -> None:
    """The user's bootstrap.sh arguments, as a team sets them on its stack."""
    stack = c.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    c.cfn.create_change_set(
        StackName=STACK,
        ChangeSetName="team-bootstrap-arguments",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": p["ParameterKey"], "ParameterValue": value}
            if p["ParameterKey"] == "BootstrapArguments"
            else {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
            for p in stack["Parameters"]
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    c.cfn.get_waiter("change_set_create_complete").wait(
        StackName=STACK,
        ChangeSetName="team-bootstrap-arguments",
        WaiterConfig={"Delay": 1, "MaxAttempts": 60},
    )
    c.cfn.execute_change_set(StackName=STACK, ChangeSetName="team-bootstrap-arguments")
    c.cfn.get_waiter("stack_update_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


def test_an_al2_group_moves_to_al2023_on_its_roll_to_1_33(al2: Cluster) -> None:
    c = al2
    _set_bootstrap_arguments(c, LABELS)
    _, _, watcher = c.planned(PDBS)
    plan = yaml.safe_load(c.plan_file.read_text())
    assert not plan["blocked"], plan["findings"]
    assert [h["kubernetes"] for h in plan["hops"]] == ["1.32", "1.33"]
    (stack_step,) = [s for s in plan["steps"] if s["kind"] == "nodegroup-stack"]
    assert stack_step["id"] == "nodegroup-stack-memory@1.33"
    assert "Amazon Linux 2023" in stack_step["params"]["template"]["reason"]
    assert "NodeConfig" in stack_step["params"]["template"]["diff"]

    code, _, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    nodes = c.core.list_node().items
    assert len(nodes) == 3
    for node in nodes:
        assert node.status.node_info.kubelet_version.startswith("v1.33.")
        assert node.status.node_info.os_image.startswith("Amazon Linux 2023")
    template = c.ec2.describe_launch_template_versions(
        LaunchTemplateId=c.asg.describe_auto_scaling_groups()["AutoScalingGroups"][0][
            "LaunchTemplate"
        ]["LaunchTemplateId"],
        Versions=["$Latest"],
    )["LaunchTemplateVersions"][0]
    user_data = base64.b64decode(template["LaunchTemplateData"]["UserData"]).decode()
    assert "kind: NodeConfig" in user_data and "name: al2\n" in user_data
    assert '"--node-labels=team=memory"' in user_data and "bootstrap.sh" not in user_data
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    assert c.journal()["complete"]
