"""One clock for every service: the Staging sandbox's instances, their Auto Scaling
activities, its stacks and their events, the EKS cluster and the Kubernetes nodes are
stamped by the same virtual clock, which starts at wall-clock now, so what was made
together is close in time and in the order it was made, whichever API reports it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from tests.support.sandbox_clients import SandboxClients, sandbox

pytestmark = pytest.mark.integration

# One request stamps both. A request's wall time on a loaded 2-core machine (tens of ms)
# is tens of virtual seconds at the default 600x, so "close" is a couple of virtual minutes.
SAME_CALL = timedelta(minutes=2)
STACK_TO_RESOURCE = timedelta(minutes=10)
BOOT = timedelta(minutes=15)  # an instance's launch to its node's registration


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxClients, datetime]]:
    started = datetime.fromtimestamp(time.time(), UTC) - timedelta(seconds=1)
    for live in sandbox(tmp_path_factory, "staging"):
        yield live, started


def _bracket(events: list[dict[str, Any]], resource_type: str) -> tuple[datetime, datetime]:
    """When the stack began creating its resource of ``resource_type`` and finished it."""
    mine = [e for e in events if e["ResourceType"] == resource_type]
    began = min(e["Timestamp"] for e in mine if e["ResourceStatus"] == "CREATE_IN_PROGRESS")
    (done,) = (e["Timestamp"] for e in mine if e["ResourceStatus"] == "CREATE_COMPLETE")
    return began, done


def _virtual_now(live: SandboxClients) -> datetime:
    """The virtual now, as the Kubernetes API stamps an object made just now."""
    made = live.core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="probe-"))
    )
    return made.metadata.creation_timestamp + timedelta(seconds=1)  # whole seconds


def test_every_service_stamps_with_the_one_clock_from_wall_clock_now(
    staged: tuple[SandboxClients, datetime],
) -> None:
    live, started = staged
    eks_stack, workers_stack = (
        live.cfn.describe_stacks(StackName=name)["Stacks"][0]
        for name in ("staging-eks", "staging-workers")
    )
    eks_events, events = (
        live.cfn.describe_stack_events(StackName=name)["StackEvents"]
        for name in ("staging-eks", "staging-workers")
    )
    cluster = live.eks.describe_cluster(name="staging")["cluster"]
    (group,) = live.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    activities = live.asg.describe_scaling_activities(
        AutoScalingGroupName=group["AutoScalingGroupName"]
    )["Activities"]
    instances = {
        i["InstanceId"]: i
        for r in live.ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    nodes = {n.spec.provider_id.rsplit("/", 1)[1]: n for n in live.core.list_node().items}
    now = _virtual_now(live)

    launched = {
        a["Description"].rsplit(" ", 1)[1]: a["StartTime"]
        for a in activities
        if a["Description"].startswith("Launching a new EC2 instance: ")
    }
    assert set(launched) == set(instances) == set(nodes)
    stamps = [
        eks_stack["CreationTime"],
        cluster["createdAt"],
        workers_stack["CreationTime"],
        group["CreatedTime"],
        *(e["Timestamp"] for e in [*eks_events, *events]),
        *launched.values(),
        *(i["LaunchTime"] for i in instances.values()),
        *(n.metadata.creation_timestamp for n in nodes.values()),
    ]
    # from wall-clock now, never a month back; none later than the virtual now
    assert all(started <= stamp <= now for stamp in stamps), (started, now, sorted(stamps))

    # made in this order, each close to what made it
    for stack, stack_events in ((eks_stack, eks_events), (workers_stack, events)):
        first = min(e["Timestamp"] for e in stack_events)
        assert timedelta(0) <= first - stack["CreationTime"] <= SAME_CALL, stack["StackName"]
    began, done = _bracket(eks_events, "AWS::EKS::Cluster")
    assert began <= cluster["createdAt"] <= done, (began, cluster["createdAt"], done)
    assert cluster["createdAt"] - eks_stack["CreationTime"] <= STACK_TO_RESOURCE
    assert done <= workers_stack["CreationTime"]
    began, done = _bracket(events, "AWS::AutoScaling::AutoScalingGroup")
    assert began <= group["CreatedTime"] <= done, (began, group["CreatedTime"], done)
    assert group["CreatedTime"] - workers_stack["CreationTime"] <= STACK_TO_RESOURCE
    for instance_id, instance in instances.items():
        launch = instance["LaunchTime"]
        assert timedelta(0) <= launch - group["CreatedTime"].replace(microsecond=0) <= SAME_CALL
        assert launch <= done + SAME_CALL, instance_id
        assert abs(launched[instance_id] - launch) <= SAME_CALL, instance_id
        joined = nodes[instance_id].metadata.creation_timestamp
        assert timedelta(0) <= joined - launch <= BOOT, (instance_id, launch, joined)
