"""`upgrader apply` on node-group stacks adopted from AWS's templates.

On a launch template under AutoScalingRollingUpdate (AWS's node-group template as teams ran
it from 2020), CloudFormation's own rolling update replaces the nodes and upgrader drains
each one first through a termination lifecycle hook: first the twin's lifecycle hooks (over
HTTP, virtual time), then the whole apply on the Staging sandbox with a pod watcher. On the
2019 template (a launch configuration), the plan's change set migrates the group to a
launch template and upgrader's own roll replaces the nodes.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ekstwin.aws import AwsTwin
from ekstwin.clock import VirtualClock
from tests.integration.apply_harness import run_apply
from tests.integration.test_plan_adoption import LEGACY, NODEGROUP_TEMPLATE, SSM, Legacy
from tests.support.sandbox_clients import sandbox, wait_for
from tests.support.watchers import start_watcher
from upgrader.adapters.aws import Aws
from upgrader.adapters.aws_actions import AwsActions
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import dump_template, load_template
from upgrader_stacks.migrate import migrate

pytestmark = pytest.mark.integration

REGION = "us-west-2"
HOOK = "drain"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
WAIT = "Terminating:Wait"


# The twin's lifecycle hooks --------------------------------------------------------------


class Twin:
    """An in-process AWS twin on a virtual clock that only moves when a test moves it."""

    def __init__(self) -> None:
        self.clock = VirtualClock(speed=1e-9)
        self.twin = AwsTwin(self.clock, region=REGION)
        self.url = self.twin.start()
        self.twin.seed_eks_amis()
        vpc = self.twin.create_vpc("10.9.0.0/16", "hooks")
        self.subnets = (
            self.twin.create_subnet(vpc, "10.9.0.0/24", "us-west-2a", "a"),
            self.twin.create_subnet(vpc, "10.9.1.0/24", "us-west-2b", "b"),
        )
        self.asg = self.client("autoscaling")
        self._groups = 0

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def later(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.clock.run_due()

    def group(self, desired: int, *, heartbeat: int | None = None, result: str = "") -> str:
        """A group of ``desired`` instances with a terminating hook (``heartbeat`` given)."""
        self._groups += 1
        name = f"hooked-{self._groups}"
        template = self.client("ec2").create_launch_template(
            LaunchTemplateName=name,
            LaunchTemplateData={"ImageId": self.twin.ami_for("1.12"), "InstanceType": "m5.large"},
        )["LaunchTemplate"]["LaunchTemplateId"]
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
            MinSize=0,
            MaxSize=6,
            DesiredCapacity=desired,
            VPCZoneIdentifier=",".join(self.subnets),
        )
        if heartbeat is not None:
            extra = {"DefaultResult": result} if result else {}
            self.asg.put_lifecycle_hook(
                LifecycleHookName=HOOK,
                AutoScalingGroupName=name,
                LifecycleTransition=TERMINATING,
                HeartbeatTimeout=heartbeat,
                **extra,
            )
        return name

    def members(self, group: str) -> dict[str, str]:
        """Instance ID -> LifecycleState, as DescribeAutoScalingGroups lists them."""
        (found,) = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
            "AutoScalingGroups"
        ]
        return {i["InstanceId"]: i["LifecycleState"] for i in found["Instances"]}

    def ec2_state(self, instance_id: str) -> str:
        reservations = self.client("ec2").describe_instances(InstanceIds=[instance_id])
        return str(reservations["Reservations"][0]["Instances"][0]["State"]["Name"])


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    made = Twin()
    yield made
    made.twin.stop()


def test_terminate_waits_for_the_hook_until_completed(twin: Twin) -> None:
    group = twin.group(2, heartbeat=600)
    first, second = sorted(twin.members(group))
    twin.asg.terminate_instance_in_auto_scaling_group(
        InstanceId=first, ShouldDecrementDesiredCapacity=False
    )
    members = twin.members(group)
    assert members[first] == WAIT and members[second] == "InService"
    assert list(members.values()).count("InService") == 2  # its replacement launched at once
    (described,) = twin.asg.describe_auto_scaling_instances(InstanceIds=[first])[
        "AutoScalingInstances"
    ]
    assert described["LifecycleState"] == WAIT
    assert twin.ec2_state(first) == "running"  # still serving until the action completes

    twin.later(599)
    assert twin.members(group)[first] == WAIT
    twin.asg.complete_lifecycle_action(
        LifecycleHookName=HOOK,
        AutoScalingGroupName=group,
        LifecycleActionResult="CONTINUE",
        InstanceId=first,
    )
    assert first not in twin.members(group)
    assert twin.ec2_state(first) == "shutting-down"  # as EC2: terminated a little later
    twin.later(30)
    assert twin.ec2_state(first) == "terminated"
    with pytest.raises(
        ClientError, match=f"No active Lifecycle Action found with instance ID {first}"
    ):
        twin.asg.complete_lifecycle_action(
            LifecycleHookName=HOOK,
            AutoScalingGroupName=group,
            LifecycleActionResult="CONTINUE",
            InstanceId=first,
        )


def test_scale_in_ends_with_the_default_result_after_the_heartbeat_timeout(twin: Twin) -> None:
    group = twin.group(2, heartbeat=300, result="ABANDON")
    twin.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)
    waiting = [i for i, s in twin.members(group).items() if s == WAIT]
    assert len(waiting) == 1 and len(twin.members(group)) == 2
    twin.later(200)
    twin.asg.record_lifecycle_action_heartbeat(
        LifecycleHookName=HOOK, AutoScalingGroupName=group, InstanceId=waiting[0]
    )
    twin.later(200)  # 400 s after the scale-in, 200 s after the heartbeat
    assert twin.members(group)[waiting[0]] == WAIT
    twin.later(101)
    assert waiting[0] not in twin.members(group)
    assert twin.ec2_state(waiting[0]) == "shutting-down"  # as EC2: terminated a little later
    twin.later(30)
    assert twin.ec2_state(waiting[0]) == "terminated"
    assert list(twin.members(group).values()) == ["InService"]


def test_without_a_hook_termination_starts_at_once(twin: Twin) -> None:
    group = twin.group(1)
    (only,) = twin.members(group)
    twin.asg.terminate_instance_in_auto_scaling_group(
        InstanceId=only, ShouldDecrementDesiredCapacity=True
    )
    assert twin.members(group) == {}
    assert twin.ec2_state(only) == "shutting-down"  # as EC2: terminated a little later
    twin.later(30)
    assert twin.ec2_state(only) == "terminated"


def _rolling_template(subnets: tuple[str, str]) -> str:
    return json.dumps(
        {
            "Parameters": {
                "Ami": {
                    "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                    "Default": SSM.format("1.12"),
                }
            },
            "Resources": {
                "Lt": {
                    "Type": "AWS::EC2::LaunchTemplate",
                    "Properties": {
                        "LaunchTemplateData": {
                            "ImageId": {"Ref": "Ami"},
                            "InstanceType": "m5.large",
                        }
                    },
                },
                "Asg": {
                    "Type": "AWS::AutoScaling::AutoScalingGroup",
                    "UpdatePolicy": {
                        "AutoScalingRollingUpdate": {
                            "MaxBatchSize": 1,
                            "MinInstancesInService": 2,
                            "PauseTime": "PT5M",
                        }
                    },
                    "Properties": {
                        "MinSize": "2",
                        "MaxSize": "3",
                        "DesiredCapacity": "2",
                        "VPCZoneIdentifier": list(subnets),
                        "LaunchTemplate": {
                            "LaunchTemplateId": {"Ref": "Lt"},
                            "Version": {"Fn::GetAtt": ["Lt", "LatestVersionNumber"]},
                        },
                    },
                },
            },
            "Outputs": {"Group": {"Value": {"Ref": "Asg"}}},
        }
    )


def test_rolling_update_waits_for_each_batch_to_be_released(twin: Twin) -> None:
    cfn = twin.client("cloudformation")
    body = _rolling_template(twin.subnets)
    cfn.create_stack(StackName="rolling-hooked", TemplateBody=body)
    outputs = cfn.describe_stacks(StackName="rolling-hooked")["Stacks"][0]["Outputs"]
    group = outputs[0]["OutputValue"]
    old = set(twin.members(group))
    aws = AwsActions(Aws.connect(REGION, _session()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", twin.url)
        aws.put_termination_hook(group, "upgrader-drain", heartbeat_seconds=3600)
        aws.put_termination_hook(group, "upgrader-drain", heartbeat_seconds=3600)  # again
        cfn.update_stack(
            StackName="rolling-hooked",
            TemplateBody=body,
            Parameters=[{"ParameterKey": "Ami", "ParameterValue": SSM.format("1.13")}],
        )
        twin.later(1)
        (first,) = aws.waiting_termination(group)
        assert first in old
        twin.later(3000)  # held: no second batch, the stack still updating
        assert aws.waiting_termination(group) == (first,)
        assert len([i for i in twin.members(group) if i in old]) == 2
        assert _status(cfn) == "UPDATE_IN_PROGRESS"

        aws.complete_lifecycle_action(group, "upgrader-drain", first)
        aws.complete_lifecycle_action(group, "upgrader-drain", first)  # no longer pending: ok
        twin.later(299)
        assert aws.waiting_termination(group) == ()  # PauseTime after the termination
        twin.later(1)
        (second,) = aws.waiting_termination(group)
        assert second in old - {first}
        aws.delete_lifecycle_hook(group, "upgrader-drain")  # its waiting action continues
        aws.delete_lifecycle_hook(group, "upgrader-drain")  # gone already: ok
        assert twin.ec2_state(second) in ("shutting-down", "terminated")
        twin.later(300)
        assert _status(cfn) == "UPDATE_COMPLETE"
        assert not set(twin.members(group)) & old
        assert twin.asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"] == []


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


def _status(cfn: Any) -> str:
    return str(cfn.describe_stacks(StackName="rolling-hooked")["Stacks"][0]["StackStatus"])


# The whole apply on the Staging sandbox --------------------------------------------------

PDB_PATH = "/apis/policy/v1beta1/poddisruptionbudgets"
APP = ("app", "legacy-app")
REPLICAS = 4


def _pods_on_the_legacy_node(legacy: Legacy) -> None:
    """A Deployment (PDB maxUnavailable 1) whose pods all run on the legacy node: the other
    nodes are cordoned while it starts."""
    core = legacy.core
    others = [n.metadata.name for n in core.list_node().items if n.metadata.name != legacy.node]
    for name in others:
        core.patch_node(name, {"spec": {"unschedulable": True}})
    namespace, name = APP
    labels = {"app": name}
    legacy.kube_request(
        "POST",
        f"/apis/policy/v1beta1/namespaces/{namespace}/poddisruptionbudgets",
        {
            "apiVersion": "policy/v1beta1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
        },
    )
    container = {
        "name": "app",
        "image": "nginx:1.15",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
    }
    legacy.kube_request(
        "POST",
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": REPLICAS,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
    )

    def all_running() -> list[Any]:
        pods = core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
        running = [p for p in pods if p.status.phase == "Running"]
        return running if len(running) == REPLICAS else []

    running = wait_for(all_running, f"{REPLICAS} {name} pods to run", timeout=30)
    assert {p.spec.node_name for p in running} == {legacy.node}, running
    for node in others:
        core.patch_node(node, {"spec": {"unschedulable": False}})


def rolling_launch_template(upstream: Path) -> str:
    """AWS's node-group template as teams ran it from 2020: the 2019 one on a launch
    template (``SecurityGroupIds``), still under its AutoScalingRollingUpdate."""
    original = load_template((upstream / NODEGROUP_TEMPLATE).read_text())
    del original["Resources"]["NodeLaunchConfig"]["Properties"]["AssociatePublicIpAddress"]
    arn = "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/any/1"
    stack = Stack(
        name="any",
        stack_id=arn,
        status="CREATE_COMPLETE",
        parameters=(),
        resources=(),
        template_body=json.dumps(original),
    )
    template = load_template(migrate(stack))
    template["Resources"]["NodeGroup"]["UpdatePolicy"] = original["Resources"]["NodeGroup"][
        "UpdatePolicy"
    ]
    return dump_template(template)


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory, upstream: Path) -> Iterator[Legacy]:
    """Staging plus staging-legacy (1 r5.xlarge at 1.12 on a launch template under
    AutoScalingRollingUpdate)."""
    template = rolling_launch_template(upstream)
    yield from sandbox(
        tmp_path_factory, "staging", lambda running: Legacy(running, upstream, template)
    )


def _apply(legacy: Legacy, plan: Path, cwd: Path, *, kill_at: str = "") -> Applied:
    """Run apply; with ``kill_at``, SIGKILL it at the first event whose message starts so."""
    kill = (lambda e: e["message"].startswith(kill_at)) if kill_at else None
    return Applied(*run_apply(legacy.env, plan, cwd, kill, timeout=180))


@dataclass(frozen=True)
class Applied:
    code: int
    events: list[dict[str, Any]]
    stderr: str

    def messages(self, step: str) -> list[str]:
        return [e["message"] for e in self.events if e.get("step") == step]


def test_apply_drains_the_nodes_cloudformation_replaces(adopted: Legacy, tmp_path: Path) -> None:
    started = time.monotonic()
    core = adopted.core
    _pods_on_the_legacy_node(adopted)
    result, out, runbook = adopted.plan(tmp_path, adopted.config(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "termination lifecycle hook `upgrader-drain`" in runbook.read_text()
    watcher = start_watcher(adopted.kubeconfig, PDB_PATH)

    replacing = f"CloudFormation is replacing {adopted.instance_id}; draining its node first"
    killed = _apply(adopted, out, tmp_path, kill_at=replacing)
    assert killed.code == -signal.SIGKILL, killed.stderr
    # Killed mid-drain: the hook still holds the old instance for the re-run.
    asg_name = adopted.legacy_asg()
    asg = adopted.asg
    (held,) = asg.describe_auto_scaling_instances(InstanceIds=[adopted.instance_id])[
        "AutoScalingInstances"
    ]
    assert held["LifecycleState"] == "Terminating:Wait"
    resumed = _apply(adopted, out, tmp_path)
    watcher.finish()
    assert resumed.code == 0, resumed.stderr
    assert watcher.errors == [] and watcher.lost == [] and watcher.violations == []
    assert f"{APP[0]}/{APP[1]}" in watcher.lowest  # the budget was watched

    # The legacy node was replaced by CloudFormation at 1.13, drained before it went.
    (new,) = adopted.legacy_instances()
    assert new != adopted.instance_id
    ec2 = adopted.ec2
    old_state = ec2.describe_instances(InstanceIds=[adopted.instance_id])["Reservations"][0][
        "Instances"
    ][0]["State"]["Name"]
    assert old_state == "terminated"
    new_node = adopted.ready_node(new)
    kubelet = core.read_node(new_node).status.node_info.kubelet_version
    assert kubelet.startswith("v1.13."), kubelet
    messages = resumed.messages("nodegroup-stack-legacy")
    released = f"{adopted.instance_id} drained; lifecycle action completed, the ASG terminates it"
    assert messages.index(replacing) < messages.index(released)
    events = resumed.events
    roll = [e for e in events if e.get("step") == "nodegroup-roll-legacy"]
    assert roll and not any(e["kind"] == "wave" for e in roll)  # nothing old was left

    # The hook is gone and every hook call went through the twin's Auto Scaling API.
    hooks = asg.describe_lifecycle_hooks(AutoScalingGroupName=asg_name)
    assert hooks["LifecycleHooks"] == []
    actions = [r["action"] for r in adopted.aws_requests() if r["service"] == "autoscaling"]
    assert actions.count("PutLifecycleHook") == 2  # put again by the re-run
    assert actions.count("CompleteLifecycleAction") == 1
    assert actions.count("DeleteLifecycleHook") == 1
    pods = core.list_namespaced_pod(APP[0], label_selector=f"app={APP[1]}").items
    assert len([p for p in pods if p.status.phase == "Running"]) == REPLICAS
    assert adopted.node not in {p.spec.node_name for p in pods}
    print(f"adopted apply: {time.monotonic() - started:.1f} s wall")


# The 2019 template: migrated to a launch template by the plan's change set ---------------


@pytest.fixture(scope="module")
def on_launch_configuration(
    tmp_path_factory: pytest.TempPathFactory, upstream: Path
) -> Iterator[Legacy]:
    """Staging plus staging-legacy made from AWS's 2019 template (a launch configuration)."""
    yield from sandbox(tmp_path_factory, "staging", lambda running: Legacy(running, upstream))


def test_apply_migrates_the_2019_group_to_a_launch_template_and_rolls_it(
    on_launch_configuration: Legacy, tmp_path: Path
) -> None:
    legacy = on_launch_configuration
    cfn, asg = legacy.cfn, legacy.asg
    asg_name = legacy.legacy_asg()
    result, out, _ = legacy.plan(tmp_path, legacy.config(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    planned = json.loads(out.read_text())
    step = next(s for s in planned["steps"] if s["id"] == "nodegroup-stack-legacy")
    name = step["params"]["change_set"]["name"]
    cfn.delete_change_set(StackName=LEGACY, ChangeSetName=name)  # apply must recreate it
    before = len(legacy.aws_requests())

    applied = _apply(legacy, out, tmp_path)
    assert applied.code == 0, applied.stderr + "\n".join(e["message"] for e in applied.events)
    recreated = f"change set of the plan was gone; created {name}"  # same template, same name
    assert recreated in applied.messages("nodegroup-stack-legacy")

    # The stack runs the plan's template: the launch configuration is gone, the same ASG
    # launches from the new launch template at the 1.13 AMI.
    stack = cfn.describe_stacks(StackName=LEGACY)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert cfn.get_template(StackName=LEGACY)["TemplateBody"] == step["params"]["template"]["body"]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values["NodeImageIdSSMParam"] == SSM.format("1.13")
    resources = {
        r.get("LogicalResourceId"): r
        for r in cfn.describe_stack_resources(StackName=LEGACY)["StackResources"]
    }
    assert "NodeLaunchConfig" not in resources
    template_id = resources["NodeLaunchTemplate"]["PhysicalResourceId"]
    assert resources["NodeGroup"]["PhysicalResourceId"] == asg_name
    (group,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])[
        "AutoScalingGroups"
    ]
    assert "LaunchConfigurationName" not in group
    assert group["LaunchTemplate"]["LaunchTemplateId"] == template_id

    # Its node was replaced by upgrader's roll (drained), never by CloudFormation.
    (new,) = legacy.legacy_instances()
    assert new != legacy.instance_id
    old = legacy.ec2.describe_instances(InstanceIds=[legacy.instance_id])
    assert old["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"
    kubelet = legacy.core.read_node(legacy.ready_node(new)).status.node_info.kubelet_version
    assert kubelet.startswith("v1.13."), kubelet
    roll = applied.messages("nodegroup-roll-legacy")
    assert roll, applied.events
    actions = [r["action"] for r in legacy.aws_requests()[before:]]
    assert "PutLifecycleHook" not in actions  # CloudFormation replaced nothing to drain
    assert "ExecuteChangeSet" in actions
