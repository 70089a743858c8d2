"""Discovery's call count does not grow with nodes or pods: a 2-node and a 12-node
cluster take the same AWS and Kubernetes calls. The 12-node one also carries a
leaked ENI pair, a pod stuck in ContainerCreating and a last-applied annotation."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for
from upgrader.adapters.discover import discover
from upgrader.config import load
from upgrader.model.state import ClusterState

pytestmark = pytest.mark.integration

SCENARIO = """\
name: {name}
region: ap-northeast-1
kubernetes: "1.12"
cni: {{version: v1.3.2, env: {{WARM_ENI_TARGET: "1"}}}}
subnets:
  - {{name: {name}-a, az: ap-northeast-1a, cidr: 10.30.0.0/22}}
  - {{name: {name}-c, az: ap-northeast-1c, cidr: 10.30.4.0/22}}
control_plane_subnets: [{name}-a, {name}-c]
nodegroups:
  - {{name: workers, kind: self-managed, instance_type: r5.xlarge, desired: {nodes},
      subnets: [{name}-a, {name}-c]}}
workloads:
  - {{namespace: app, name: web, replicas: {web}, cpu: 100m, memory: 128Mi,
      pdb: {{max_unavailable: 1}}}}
  - {{namespace: api, name: api, replicas: {api}, cpu: 100m, memory: 128Mi}}
faults: {{leaked_enis: {{{name}-a: {leaked}}}, stuck_ipamd_nodes: {stuck}}}
target: {{kubernetes: "1.13", cni: v1.5.5}}
"""


@dataclass
class Measured:
    state: ClusterState
    aws_calls: list[dict[str, Any]]
    kube_calls: list[dict[str, Any]]
    stuck_node: str | None = None


def _break_a_node(live: SandboxClients) -> str:
    """Restart aws-node on the node whose ipamd wedges (#59), then place a pod there."""
    core, apps = live.core, live.apps
    nodes = sorted(core.list_node().items, key=lambda n: n.spec.provider_id.rsplit("/", 1)[1])
    node = nodes[0].metadata.name
    aws_node = next(
        p
        for p in core.list_namespaced_pod("kube-system").items
        if p.metadata.name.startswith("aws-node") and p.spec.node_name == node
    )
    core.delete_namespaced_pod(aws_node.metadata.name, "kube-system")
    # The old pod stays Running through its grace period: wait for its replacement, or the
    # probe may still get an address from the datastore before it wedges.
    wait_for(
        lambda: any(
            p.metadata.name.startswith("aws-node")
            and p.metadata.uid != aws_node.metadata.uid
            and p.metadata.deletion_timestamp is None
            and p.spec.node_name == node
            and p.status.phase == "Running"
            for p in core.list_namespaced_pod("kube-system").items
        ),
        "aws-node to run again",
        timeout=20,
    )
    core.create_namespaced_pod(
        "app",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "probe"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx:1.27"}]},
        },
    )
    applied = {"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {}}
    apps.create_namespaced_deployment(
        "api",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "legacy",
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied)
                },
            },
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "legacy"}},
                "template": {
                    "metadata": {"labels": {"app": "legacy"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
                },
            },
        },
    )

    def probe_waiting() -> bool:
        statuses = core.read_namespaced_pod("probe", "app").status.container_statuses or []
        return bool(statuses and statuses[0].state.waiting is not None)

    wait_for(probe_waiting, "the probe pod to wait", timeout=20)
    return str(node)


def _measure(
    tmp_path_factory: pytest.TempPathFactory, nodes: int, web: int, api: int, faults: bool
) -> Iterator[Measured]:
    name = f"scale{nodes}"
    scenario = tmp_path_factory.mktemp(name) / f"{name}.yaml"
    scenario.write_text(
        SCENARIO.format(
            name=name, nodes=nodes, web=web, api=api, leaked=2 if faults else 0, stuck=int(faults)
        )
    )
    yield from sandbox(
        tmp_path_factory, str(scenario), lambda running: _measured(SandboxClients(running), faults)
    )


def _measured(live: SandboxClients, faults: bool) -> Measured:
    stuck = _break_a_node(live) if faults else None
    aws_before, kube_before = len(live.aws_requests()), len(live.kube_requests())
    with live.environment():
        state = discover(load(live.running.config))
    return Measured(
        state, live.aws_requests()[aws_before:], live.kube_requests()[kube_before:], stuck
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Measured]:
    yield from _measure(tmp_path_factory, 2, 6, 4, faults=False)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Measured]:
    yield from _measure(tmp_path_factory, 12, 60, 40, faults=True)


def test_same_calls_for_2_and_12_nodes(small: Measured, large: Measured) -> None:
    assert (len(small.state.nodes), len(large.state.nodes)) == (2, 12)
    assert len(large.state.pods) > 4 * len(small.state.pods)
    assert len(large.state.instances) == 12
    small_aws = Counter(c["action"] for c in small.aws_calls)
    large_aws = Counter(c["action"] for c in large.aws_calls)
    assert large_aws == small_aws
    assert large_aws["DescribeInstances"] == 1
    assert large_aws["DescribeNetworkInterfaces"] == 1
    assert sorted(c["path"] for c in large.kube_calls) == sorted(
        c["path"] for c in small.kube_calls
    )
    pod_lists = [c for c in large.kube_calls if c["path"] == "/api/v1/pods"]
    assert len(pod_lists) == 1  # one page, not one call per node or pod
    assert not any(c["mutating"] for c in large.aws_calls)
    assert {c["method"] for c in large.kube_calls} == {"GET"}


def test_leaked_enis_are_reported_available_without_an_instance(large: Measured) -> None:
    leaked = [e for e in large.state.enis if e.status == "available"]
    assert len(leaked) == 2
    subnet = next(s for s in large.state.subnets if s.name == "scale12-a")
    for eni in leaked:
        assert eni.description.startswith("aws-K8S-i-")
        assert eni.instance_id is None
        assert eni.subnet_id == subnet.subnet_id
        assert eni.addresses == 15
    known = {i.instance_id for i in large.state.instances}
    assert all(e.description.removeprefix("aws-K8S-") not in known for e in leaked)


def test_stuck_pod_carries_its_newest_warning_event(large: Measured) -> None:
    stuck = [p for p in large.state.pods if p.stuck_creating]
    assert [(p.namespace, p.name, p.node) for p in stuck] == [("app", "probe", large.stuck_node)]
    assert stuck[0].last_event is not None
    assert "failed to set up" in stuck[0].last_event
    assert all(p.last_event is None for p in large.state.pods if not p.stuck_creating)


def test_last_applied_api_version_becomes_a_live_object(large: Measured) -> None:
    legacy = [o for o in large.state.live_objects if o.name == "legacy"]
    assert [(o.api_version, o.kind, o.namespace) for o in legacy] == [
        ("extensions/v1beta1", "Deployment", "api")
    ]
    workload = large.state.workload("Deployment", "api", "legacy")
    assert workload is not None and workload.api_version == "apps/v1"
