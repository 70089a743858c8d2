"""A managed node group update in the sandbox, driven and observed over real HTTP only:
CloudFormation updates through boto3, the cluster through the official kubernetes client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for
from tests.support.watchers import start_watcher

pytestmark = pytest.mark.integration

SCENARIO = "modern"
CONTROL_PLANE_STACK = "modern-eks"
NODEGROUP_STACK = "modern-general"
NODEGROUP = "general"
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
TARGET = "1.32"
WAIT_SECONDS = 60.0
# a 40-minute control-plane update in 4 s; faster, a loaded CI runner could miss the
# 15 virtual minutes EKS gives new nodes to join (NodeCreationFailure)
SPEED = "600"
BUDGETLESS = ("catalog", "exporter")  # modern workloads without a PDB
PDB_PATH = "/apis/policy/v1/poddisruptionbudgets"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, SCENARIO, speed=SPEED)


def _update_parameter(live: SandboxClients, stack: str, key: str, value: str) -> None:
    """UpdateStack with the previous template, changing one parameter, then wait for it."""
    described = live.cfn.describe_stacks(StackName=stack)["Stacks"][0]
    current = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert key in current, f"{stack} has parameters {sorted(current)}"
    parameters: list[dict[str, Any]] = []
    for name, previous in current.items():
        if name == key:
            parameters.append({"ParameterKey": name, "ParameterValue": value})
        elif previous.startswith("["):
            # moto shows list values as a Python repr; the previous value is still right
            parameters.append({"ParameterKey": name, "UsePreviousValue": True})
        else:
            # moto 5.2.5 fails UsePreviousValue on a parameter left at its default
            parameters.append({"ParameterKey": name, "ParameterValue": previous})
    live.cfn.update_stack(StackName=stack, UsePreviousTemplate=True, Parameters=parameters)
    status = live.settled_stack(stack, WAIT_SECONDS)["StackStatus"]
    assert status == "UPDATE_COMPLETE", _reasons(live, stack)


def _reasons(live: SandboxClients, stack: str) -> list[str]:
    events = live.cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [str(e.get("ResourceStatusReason", "")) for e in events if e.get("ResourceStatusReason")]


def _group_nodes(live: SandboxClients) -> list[Any]:
    return list(live.core.list_node(label_selector=f"{NODEGROUP_LABEL}={NODEGROUP}").items)


def _all_running(live: SandboxClients) -> bool:
    pods = live.core.list_pod_for_all_namespaces().items
    return all(p.status.phase == "Running" and p.metadata.deletion_timestamp is None for p in pods)


def test_version_update_replaces_every_node_without_breaking_a_budget(live: SandboxClients) -> None:
    before = {n.metadata.name for n in _group_nodes(live)}
    assert len(before) == 3
    asg_name = live.eks.describe_nodegroup(clusterName=SCENARIO, nodegroupName=NODEGROUP)[
        "nodegroup"
    ]["resources"]["autoScalingGroups"][0]["name"]
    sizes = live.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])[
        "AutoScalingGroups"
    ][0]
    _update_parameter(live, CONTROL_PLANE_STACK, "KubernetesVersion", TARGET)

    watcher = start_watcher(live.kubeconfig, PDB_PATH, WAIT_SECONDS)
    try:
        _update_parameter(live, NODEGROUP_STACK, "KubernetesVersion", TARGET)
        wait_for(lambda: _all_running(live), "every pod to run", WAIT_SECONDS)
    finally:
        watcher.finish()

    assert not watcher.errors, watcher.errors
    assert watcher.violations == []
    assert watcher.events > 50
    assert len(watcher.lowest) >= 3
    assert min(watcher.lowest.values()) == 0, "drains take budgets to their limit, no further"
    nodes = _group_nodes(live)
    assert len(nodes) == 3
    assert not {n.metadata.name for n in nodes} & before, "every old node is replaced"
    for node in nodes:
        assert node.status.node_info.kubelet_version.startswith(f"v{TARGET}."), node.metadata.name
        assert not node.spec.unschedulable
    nodegroup = live.eks.describe_nodegroup(clusterName=SCENARIO, nodegroupName=NODEGROUP)
    assert nodegroup["nodegroup"]["status"] == "ACTIVE"
    assert nodegroup["nodegroup"]["version"] == TARGET
    after = live.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])[
        "AutoScalingGroups"
    ][0]
    assert (after["DesiredCapacity"], after["MaxSize"]) == (
        sizes["DesiredCapacity"],
        sizes["MaxSize"],
    ), "the scale-down phase puts the group back to its size"


def test_a_budget_that_never_allows_eviction_fails_the_update_after_15_minutes(
    live: SandboxClients,
) -> None:
    nodes = {n.metadata.name for n in _group_nodes(live)}
    pods = live.core.list_pod_for_all_namespaces().items
    blocked = next(
        p
        for p in pods
        if p.spec.node_name in nodes and (p.metadata.labels or {}).get("app") in BUDGETLESS
    )
    namespace, app = blocked.metadata.namespace, blocked.metadata.labels["app"]
    client.PolicyV1Api(live.api).create_namespaced_pod_disruption_budget(
        namespace,
        client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name=f"{app}-all"),
            spec=client.V1PodDisruptionBudgetSpec(
                min_available="100%",
                selector=client.V1LabelSelector(match_labels={"app": app}),
            ),
        ),
    )
    nodegroup = live.eks.describe_nodegroup(clusterName=SCENARIO, nodegroupName=NODEGROUP)
    update = live.eks.update_nodegroup_version(
        clusterName=SCENARIO,
        nodegroupName=NODEGROUP,
        releaseVersion=f"{nodegroup['nodegroup']['releaseVersion']}-patched",
    )["update"]

    def finished() -> bool:
        described = live.eks.describe_update(
            name=SCENARIO, nodegroupName=NODEGROUP, updateId=update["id"]
        )["update"]
        return described["status"] != "InProgress"

    wait_for(finished, "the nodegroup update to end", WAIT_SECONDS)
    described = live.eks.describe_update(
        name=SCENARIO, nodegroupName=NODEGROUP, updateId=update["id"]
    )["update"]
    assert described["status"] == "Failed"
    [error] = described["errors"]
    assert error["errorCode"] == "PodEvictionFailure"
    assert error["errorMessage"] == (
        f"Reached max retries while trying to evict pods from nodes in node group {NODEGROUP}"
    )
    [stuck] = error["resourceIds"]
    assert stuck in nodes
    node = live.core.read_node(stuck)
    assert node.spec.unschedulable, "the failed update leaves the old node cordoned"
    assert live.core.read_namespaced_pod(blocked.metadata.name, namespace).status.phase == (
        "Running"
    )
    status = live.eks.describe_nodegroup(clusterName=SCENARIO, nodegroupName=NODEGROUP)
    assert status["nodegroup"]["status"] == "ACTIVE"
