"""The Staging sandbox's node group, made from AWS's 2019 template, seen and changed over
real HTTP only: its nodes run the cluster, and after the stack moves it to a launch template
the same nodes stay while new ones launched from the template join the cluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for
from tests.twin.nodegroup_2019 import change_set_parameters, launch_template_body

pytestmark = pytest.mark.integration

STACK = "staging-workers"
AL2_113 = "/aws/service/eks/optimized-ami/1.13/amazon-linux-2/recommended/image_id"
WAIT_SECONDS = 60.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "staging")


def _group(live: SandboxClients) -> dict[str, Any]:
    (group,) = live.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    return dict(group)


def _ready_nodes(live: SandboxClients) -> dict[str, Any]:
    """Ready nodes by instance ID."""
    return {
        n.spec.provider_id.rsplit("/", 1)[1]: n
        for n in live.core.list_node().items
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    }


def _execute(live: SandboxClients, name: str, body: str | None, **changed: str) -> None:
    keys = [
        p["ParameterKey"]
        for p in live.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Parameters"]
    ]
    live.cfn.create_change_set(
        StackName=STACK,
        ChangeSetName=name,
        ChangeSetType="UPDATE",
        Capabilities=["CAPABILITY_IAM"],
        Parameters=change_set_parameters(keys, changed),
        **({"TemplateBody": body} if body else {"UsePreviousTemplate": True}),
    )
    live.cfn.execute_change_set(StackName=STACK, ChangeSetName=name)
    assert live.settled_stack(STACK, WAIT_SECONDS)["StackStatus"] == "UPDATE_COMPLETE"


def test_2019_nodes_join_and_keep_running_through_the_move_to_a_launch_template(
    live: SandboxClients,
) -> None:
    group = _group(live)
    assert group["LaunchConfigurationName"].startswith(f"{STACK}-NodeLaunchConfig-")
    running = {i["InstanceId"] for i in group["Instances"]}
    nodes = _ready_nodes(live)
    assert set(nodes) == running
    pods = {p.metadata.name: p.status.pod_ip for p in live.core.list_pod_for_all_namespaces().items}

    _execute(live, "to-launch-template", launch_template_body())
    assert {i["InstanceId"] for i in _group(live)["Instances"]} == running
    assert set(_ready_nodes(live)) == running
    after = {
        p.metadata.name: p.status.pod_ip for p in live.core.list_pod_for_all_namespaces().items
    }
    assert after == pods  # nothing was drained or replaced

    # A 1.13 AMI through the template, then one more node: it launches from version 2 and
    # joins the cluster with a 1.13 kubelet; its aws-node runs and ipamd warms addresses.
    _execute(live, "ami-1-13", None, NodeImageIdSSMParam=AL2_113)
    name = group["AutoScalingGroupName"]
    live.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3)
    members = live.asg.describe_auto_scaling_instances()["AutoScalingInstances"]
    (new,) = [m for m in members if m["InstanceId"] not in running]
    assert new["LaunchTemplate"]["Version"] == "2"
    node = wait_for(lambda: _ready_nodes(live).get(new["InstanceId"]), "the new node", WAIT_SECONDS)
    assert node.status.node_info.kubelet_version.startswith("v1.13.")

    def aws_node_running() -> bool:
        found = live.core.list_namespaced_pod(
            "kube-system",
            label_selector="k8s-app=aws-node",
            field_selector=f"spec.nodeName={node.metadata.name}",
        ).items
        return bool(found) and found[0].status.phase == "Running"

    wait_for(aws_node_running, "aws-node on the new node", WAIT_SECONDS)

    def warm_addresses() -> list[str]:
        interfaces = live.ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [new["InstanceId"]]}]
        )["NetworkInterfaces"]
        return [
            a["PrivateIpAddress"]
            for eni in interfaces
            for a in eni["PrivateIpAddresses"]
            if not a["Primary"]
        ]

    wait_for(warm_addresses, "ipamd's warm addresses on the new node", WAIT_SECONDS)
