"""The sandbox's cluster looks like an EKS cluster to the official kubernetes client: the
kube-system ConfigMaps EKS creates, node conditions whose heartbeats move in virtual time,
node Leases renewed, cordon's taint, and a deleted pod Terminating for its grace period."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for

pytestmark = pytest.mark.integration

SPEED = "20"  # 30 virtual seconds of grace take 1.5 s of wall time
SCENARIO = {
    "name": "eksobjects",
    "region": "us-west-2",
    "kubernetes": "1.17",
    "cni": {"version": "v1.7.5"},
    "subnets": [{"name": "eksobjects-a", "az": "us-west-2a", "cidr": "10.30.0.0/24"}],
    "control_plane_subnets": ["eksobjects-a"],
    "nodegroups": [
        {
            "name": "workers",
            "kind": "self-managed",
            "instance_type": "m5.large",
            "desired": 1,
            "subnets": ["eksobjects-a"],
        }
    ],
    "workloads": [{"namespace": "app", "name": "web", "replicas": 1, "cpu": "100m"}],
    "target": {"kubernetes": "1.18", "cni": "v1.7.5"},
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    path = Path(tmp_path_factory.mktemp("scenario")) / "eksobjects.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    yield from sandbox(tmp_path_factory, str(path), speed=SPEED)


def _node(live: SandboxClients) -> client.V1Node:
    (node,) = live.core.list_node().items
    return node


def _ready(node: client.V1Node) -> client.V1NodeCondition:
    (ready,) = [c for c in node.status.conditions if c.type == "Ready"]
    return ready


def test_eks_config_maps_are_there(live: SandboxClients) -> None:
    names = {m.metadata.name for m in live.core.list_namespaced_config_map("kube-system").items}
    assert {"aws-auth", "kube-proxy", "kube-proxy-config", "coredns"} <= names
    auth = live.core.read_namespaced_config_map("aws-auth", "kube-system")
    (role,) = yaml.safe_load(auth.data["mapRoles"])
    assert role["rolearn"].startswith("arn:aws:iam::")
    assert role["groups"] == ["system:bootstrappers", "system:nodes"]
    proxy = live.apps.read_namespaced_daemon_set("kube-proxy", "kube-system")
    mounted = {v.config_map.name for v in proxy.spec.template.spec.volumes if v.config_map}
    assert mounted == {"kube-proxy", "kube-proxy-config"}


def test_node_conditions_heartbeat_and_lease_renewals_move(live: SandboxClients) -> None:
    node = _node(live)
    kinds = {c.type for c in node.status.conditions}
    assert kinds == {"MemoryPressure", "DiskPressure", "PIDPressure", "Ready"}
    assert node.status.node_info.os_image == "Amazon Linux 2"
    coordination = client.CoordinationV1Api(live.api)
    name = node.metadata.name
    first = coordination.read_namespaced_lease(name, "kube-node-lease").spec.renew_time
    beat, since = _ready(node).last_heartbeat_time, _ready(node).last_transition_time
    wait_for(
        lambda: coordination.read_namespaced_lease(name, "kube-node-lease").spec.renew_time > first,
        "the node's lease to be renewed",
    )
    # 1.17 re-posts an unchanged status every 5 virtual minutes: 15 s of wall time here.
    moved = wait_for(
        lambda: (r := _ready(_node(live))).last_heartbeat_time > beat and r,
        "the node's heartbeat",
        timeout=40,
    )
    assert moved.last_transition_time == since


def test_cordon_taints_and_a_deleted_pod_terminates_for_its_grace_period(
    live: SandboxClients,
) -> None:
    node = _node(live).metadata.name
    live.core.patch_node(node, {"spec": {"unschedulable": True}})
    wait_for(
        lambda: any(
            t.key == "node.kubernetes.io/unschedulable" and t.effect == "NoSchedule"
            for t in _node(live).spec.taints or []
        ),
        "the unschedulable taint",
    )
    live.core.patch_node(node, {"spec": {"unschedulable": None}})
    wait_for(lambda: not _node(live).spec.taints, "the taint to go")

    (pod,) = live.core.list_namespaced_pod("app").items
    name = pod.metadata.name
    live.core.delete_namespaced_pod(name, "app")
    deleted_at = time.monotonic()
    terminating = live.core.read_namespaced_pod(name, "app")
    assert terminating.metadata.deletion_grace_period_seconds == 30
    assert isinstance(terminating.metadata.deletion_timestamp, datetime)
    time.sleep(0.5)  # 10 virtual seconds: still Terminating
    assert live.core.read_namespaced_pod(name, "app").metadata.deletion_timestamp

    def gone() -> bool:
        return name not in {p.metadata.name for p in live.core.list_namespaced_pod("app").items}

    wait_for(gone, "the pod to be gone")
    assert time.monotonic() - deleted_at >= 1.2  # most of 30 virtual seconds at speed 20
