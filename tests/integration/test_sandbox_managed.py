"""A managed node group update in the sandbox, driven and observed over real HTTP only:
CloudFormation updates through boto3, the cluster through the official kubernetes client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from kubernetes import client, config, watch

from upgrader.sandbox import control, files
from upgrader.sandbox.daemon import SPEED_ENV

pytestmark = pytest.mark.integration

SCENARIO = "modern"
CONTROL_PLANE_STACK = "modern-eks"
NODEGROUP_STACK = "modern-general"
NODEGROUP = "general"
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
TARGET = "1.32"
WAIT_SECONDS = 60.0
SPEED = "2400"
BUDGETLESS = ("catalog", "exporter")  # modern workloads without a PDB


class Live:
    """boto3 and kubernetes clients configured from the sandbox's files only."""

    def __init__(self, running: control.Running) -> None:
        env = files.parse_env(running.env.read_text())
        session = boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        )
        url = env["AWS_ENDPOINT_URL"]
        self.cfn = session.client("cloudformation", endpoint_url=url)
        self.eks = session.client("eks", endpoint_url=url)
        self.asg = session.client("autoscaling", endpoint_url=url)
        api = config.new_client_from_config(config_file=env["KUBECONFIG"])
        self.core = client.CoreV1Api(api)
        self.policy = client.PolicyV1Api(api)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    directory = tmp_path_factory.mktemp("sandbox-managed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SPEED_ENV, SPEED)  # a 40-minute control-plane update in about a second
        running = control.up(SCENARIO, directory)
    try:
        yield Live(running)
    finally:
        control.down(directory)


def _update_parameter(live: Live, stack: str, key: str, value: str) -> None:
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
    status = _wait_stack(live, stack)
    assert status == "UPDATE_COMPLETE", _reasons(live, stack)


def _wait_stack(live: Live, stack: str) -> str:
    deadline = time.monotonic() + WAIT_SECONDS
    status = ""
    while time.monotonic() < deadline:
        status = live.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if not status.endswith("IN_PROGRESS"):
            return str(status)
        time.sleep(0.1)
    return status


def _reasons(live: Live, stack: str) -> list[str]:
    events = live.cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [str(e.get("ResourceStatusReason", "")) for e in events if e.get("ResourceStatusReason")]


class PdbWatcher(threading.Thread):
    """Follows every pod change through a watch and checks each PDB after each event.

    A budget needs ``minAvailable`` or ``expected - maxUnavailable`` healthy pods, with
    ``expected`` the matching pods before the update (the controllers' replicas).
    """

    def __init__(self, live: Live) -> None:
        super().__init__(name="pdb-watcher", daemon=True)
        self.live = live
        self.stop = threading.Event()
        self.started = threading.Event()
        self.events = 0
        self.lowest: dict[str, int] = {}  # PDB -> fewest healthy pods above its need
        self.violations: list[str] = []
        self.errors: list[BaseException] = []
        self._pods: dict[str, Any] = {}
        self._budgets: list[tuple[str, str, dict[str, str], int]] = []

    def run(self) -> None:
        try:
            listed = self.live.core.list_pod_for_all_namespaces()
            self._pods = {p.metadata.uid: p for p in listed.items}
            for pdb in self.live.policy.list_pod_disruption_budget_for_all_namespaces().items:
                self._budgets.append(self._budget(pdb))
            self._check()
            self.started.set()
            stream = watch.Watch()
            rv = listed.metadata.resource_version
            while not self.stop.is_set():
                for event in stream.stream(
                    self.live.core.list_pod_for_all_namespaces,
                    resource_version=rv,
                    timeout_seconds=1,
                ):
                    pod = event["object"]
                    if event["type"] == "DELETED":
                        self._pods.pop(pod.metadata.uid, None)
                    else:
                        self._pods[pod.metadata.uid] = pod
                    self.events += 1
                    self._check()
                rv = stream.resource_version
        except BaseException as err:  # reported by the test
            self.errors.append(err)
            self.started.set()

    def _budget(self, pdb: Any) -> tuple[str, str, dict[str, str], int]:
        namespace = pdb.metadata.namespace
        wanted = dict(pdb.spec.selector.match_labels or {})
        expected = sum(1 for p in self._pods.values() if _selects(namespace, wanted, p))
        if pdb.spec.min_available is not None:
            need = int(pdb.spec.min_available)
        else:
            need = expected - int(pdb.spec.max_unavailable)
        return f"{namespace}/{pdb.metadata.name}", namespace, wanted, need

    def _check(self) -> None:
        for name, namespace, wanted, need in self._budgets:
            healthy = sum(
                1 for p in self._pods.values() if _selects(namespace, wanted, p) and _healthy(p)
            )
            self.lowest[name] = min(self.lowest.get(name, healthy - need), healthy - need)
            if healthy < need:
                self.violations.append(f"{name}: {healthy} healthy, needs {need}")


def _selects(namespace: str, wanted: dict[str, str], pod: Any) -> bool:
    labels = pod.metadata.labels or {}
    return pod.metadata.namespace == namespace and wanted.items() <= labels.items()


def _healthy(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp is not None or pod.status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _group_nodes(live: Live) -> list[Any]:
    return list(live.core.list_node(label_selector=f"{NODEGROUP_LABEL}={NODEGROUP}").items)


def _all_running(live: Live) -> bool:
    pods = live.core.list_pod_for_all_namespaces().items
    return all(p.status.phase == "Running" and p.metadata.deletion_timestamp is None for p in pods)


def _eventually(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_version_update_replaces_every_node_without_breaking_a_budget(live: Live) -> None:
    before = {n.metadata.name for n in _group_nodes(live)}
    assert len(before) == 3
    asg_name = live.eks.describe_nodegroup(clusterName=SCENARIO, nodegroupName=NODEGROUP)[
        "nodegroup"
    ]["resources"]["autoScalingGroups"][0]["name"]
    sizes = live.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])[
        "AutoScalingGroups"
    ][0]
    _update_parameter(live, CONTROL_PLANE_STACK, "KubernetesVersion", TARGET)

    watcher = PdbWatcher(live)
    watcher.start()
    assert watcher.started.wait(WAIT_SECONDS)
    try:
        _update_parameter(live, NODEGROUP_STACK, "KubernetesVersion", TARGET)
        _eventually(lambda: _all_running(live), "every pod to run")
    finally:
        watcher.stop.set()
        watcher.join(timeout=10)

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
    live: Live,
) -> None:
    nodes = {n.metadata.name for n in _group_nodes(live)}
    pods = live.core.list_pod_for_all_namespaces().items
    blocked = next(
        p
        for p in pods
        if p.spec.node_name in nodes and (p.metadata.labels or {}).get("app") in BUDGETLESS
    )
    namespace, app = blocked.metadata.namespace, blocked.metadata.labels["app"]
    live.policy.create_namespaced_pod_disruption_budget(
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

    _eventually(finished, "the nodegroup update to end")
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
