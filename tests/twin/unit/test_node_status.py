"""Node status as a kubelet keeps it, in virtual time: the four conditions with moving
heartbeats, node Leases from 1.14, the node lifecycle controller's cordon and not-ready
taints, and graceful pod deletion (Terminating for the grace period, then the address
goes back to ipamd)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ekstwin.aws import AwsTwin
from ekstwin.clock import VirtualClock
from ekstwin.controllers.base import ControllerManager
from ekstwin.controllers.gc import GarbageCollector
from ekstwin.controllers.ipamd import Ipamd
from ekstwin.controllers.kubelet import Kubelet
from ekstwin.controllers.nodes import LEASES, NodeLifecycle
from ekstwin.controllers.objects import parse_time
from ekstwin.kubeapi import Store

CLUSTER = "c"
CNI = "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.5.5"
AWS_NODE = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "aws-node"},
    "spec": {
        "selector": {"matchLabels": {"k8s-app": "aws-node"}},
        "template": {
            "metadata": {"labels": {"k8s-app": "aws-node"}},
            "spec": {"containers": [{"name": "aws-node", "image": CNI}]},
        },
    },
}


@dataclass
class Cluster:
    clock: VirtualClock
    twin: AwsTwin
    store: Store
    ipamd: Ipamd
    manager: ControllerManager
    subnet: str
    version: str

    def node(self) -> str:
        with self.twin.lock:
            self.twin.ec2.run_instances(
                self.twin.ami_for(self.version),
                1,
                "",
                [],
                subnet_id=self.subnet,
                instance_type="r5.xlarge",
                is_instance_type_default=False,
                tags={"instance": {f"kubernetes.io/cluster/{CLUSTER}": "owned"}},
            )
        before = {n["metadata"]["name"] for n in self.store.list("nodes")}
        self.run(1)
        (name,) = {n["metadata"]["name"] for n in self.store.list("nodes")} - before
        return str(name)

    def ready_node(self) -> str:
        node = self.node()
        self.pod("aws-node", node, hostNetwork=True, image=CNI)
        self.run(10)
        assert self.condition(node, "Ready")["status"] == "True"
        return node

    def pod(self, name: str, node: str, *, image: str = "nginx:1.27", **spec: Any) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": name, "image": image}], **spec},
        }
        self.store.create("pods", body, namespace="kube-system")

    def run(self, seconds: float) -> None:
        """One controller pass per virtual second."""
        for _ in range(int(seconds)):
            self.clock.advance(1)
            with self.twin.lock:
                self.clock.run_due()
                self.manager.step()

    def get(self, node: str) -> dict[str, Any]:
        found = self.store.find("nodes", node)
        assert found is not None
        return found

    def condition(self, node: str, kind: str) -> dict[str, Any]:
        conditions = self.get(node)["status"]["conditions"]
        (found,) = [c for c in conditions if c["type"] == kind]
        return dict(found)

    def taints(self, node: str) -> list[tuple[str, str]]:
        return [(t["key"], t["effect"]) for t in self.get(node)["spec"].get("taints") or []]

    def lease_renewed(self, node: str) -> float:
        lease = self.store.find(LEASES, node, namespace="kube-node-lease")
        assert lease is not None
        return parse_time(lease["spec"]["renewTime"]) or 0.0

    def pod_obj(self, name: str) -> dict[str, Any] | None:
        return self.store.find("pods", name, namespace="kube-system")


@pytest.fixture
def make_cluster() -> Iterator[Callable[[str], Cluster]]:
    twins: list[AwsTwin] = []

    def make(version: str) -> Cluster:
        clock = VirtualClock(speed=1.0, wall=lambda: 0.0)
        twin = AwsTwin(clock, region="us-west-2")
        twin.start()
        twins.append(twin)
        twin.seed_eks_amis()
        store = Store(kubernetes_version=version, now=clock.now)
        store.create("daemonsets.apps", AWS_NODE, namespace="kube-system")
        vpc = twin.create_vpc("10.0.0.0/16", "vpc")
        subnet = twin.create_subnet(vpc, "10.0.0.0/24", "us-west-2a", "s0")
        ipamd = Ipamd(twin, clock)
        nodes = NodeLifecycle(store, twin, clock, ipamd, cluster=CLUSTER, boot_seconds=0)
        kubelet = Kubelet(store, clock, ipamd, nodes)
        manager = ControllerManager(store, clock, [nodes, GarbageCollector(store), kubelet])
        return Cluster(clock, twin, store, ipamd, manager, subnet, version)

    yield make
    for twin in twins:
        twin.stop()


def test_a_node_has_the_kubelets_conditions_and_node_info(
    make_cluster: Callable[[str], Cluster],
) -> None:
    cluster = make_cluster("1.13")
    node = cluster.node()
    kinds = [c["type"] for c in cluster.get(node)["status"]["conditions"]]
    assert kinds == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert cluster.condition(node, "MemoryPressure")["reason"] == "KubeletHasSufficientMemory"
    assert cluster.condition(node, "Ready")["status"] == "False"
    info = cluster.get(node)["status"]["nodeInfo"]
    assert info["kubeletVersion"].startswith("v1.13.")
    assert info["kubeProxyVersion"] == info["kubeletVersion"]
    assert info["osImage"] == "Amazon Linux 2"
    assert info["containerRuntimeVersion"].startswith("docker://")
    assert (info["operatingSystem"], info["architecture"]) == ("linux", "amd64")
    assert info["kernelVersion"].endswith(".amzn2.x86_64")
    status = cluster.get(node)["status"]
    assert [a["type"] for a in status["addresses"]] == ["InternalIP", "Hostname", "InternalDNS"]
    assert status["capacity"]["pods"] == status["allocatable"]["pods"] == "58"


def test_heartbeats_move_every_ten_seconds_and_transitions_only_on_change(
    make_cluster: Callable[[str], Cluster],
) -> None:
    cluster = make_cluster("1.13")
    node = cluster.node()
    registered = parse_time(cluster.condition(node, "DiskPressure")["lastTransitionTime"])
    cluster.pod("aws-node", node, hostNetwork=True, image=CNI)
    cluster.run(5)
    ready = cluster.condition(node, "Ready")
    assert ready["status"] == "True"
    became_ready = parse_time(ready["lastTransitionTime"])
    assert became_ready is not None and registered is not None and became_ready > registered
    beat = parse_time(ready["lastHeartbeatTime"])
    cluster.run(25)
    ready = cluster.condition(node, "Ready")
    later = parse_time(ready["lastHeartbeatTime"])
    assert beat is not None and later is not None and 20 <= later - beat <= 30
    assert parse_time(ready["lastTransitionTime"]) == became_ready
    disk = cluster.condition(node, "DiskPressure")
    assert parse_time(disk["lastTransitionTime"]) == registered
    assert disk["lastHeartbeatTime"] == ready["lastHeartbeatTime"]
    assert cluster.store.find(LEASES, node, namespace="kube-node-lease") is None  # no NodeLease


def test_from_1_14_the_kubelet_renews_its_lease_and_posts_status_less_often(
    make_cluster: Callable[[str], Cluster],
) -> None:
    cluster = make_cluster("1.17")
    node = cluster.ready_node()
    lease = cluster.store.find(LEASES, node, namespace="kube-node-lease")
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == node
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    renewed = cluster.lease_renewed(node)
    beat = parse_time(cluster.condition(node, "Ready")["lastHeartbeatTime"])
    cluster.run(30)
    assert 20 <= cluster.lease_renewed(node) - renewed <= 30
    assert parse_time(cluster.condition(node, "Ready")["lastHeartbeatTime"]) == beat
    cluster.run(300)  # nodeStatusReportFrequency: 5 min from 1.17
    later = parse_time(cluster.condition(node, "Ready")["lastHeartbeatTime"])
    assert beat is not None and later is not None and later > beat
    info = cluster.get(node)["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"].startswith("docker://")

    instance = cluster.get(node)["spec"]["providerID"].rsplit("/", 1)[1]
    with cluster.twin.lock:
        cluster.twin.ec2.terminate_instances([instance])
    cluster.run(2)
    assert cluster.store.find("nodes", node) is None
    assert cluster.store.find(LEASES, node, namespace="kube-node-lease") is None


def test_nodes_from_1_24_run_containerd(make_cluster: Callable[[str], Cluster]) -> None:
    cluster = make_cluster("1.24")
    node = cluster.node()
    info = cluster.get(node)["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"].startswith("containerd://")
    assert info["kubeletVersion"].startswith("v1.24.")


def test_cordon_taints_the_node_and_not_ready_nodes_are_tainted(
    make_cluster: Callable[[str], Cluster],
) -> None:
    cluster = make_cluster("1.13")
    node = cluster.node()
    not_ready = [
        ("node.kubernetes.io/not-ready", "NoSchedule"),
        ("node.kubernetes.io/not-ready", "NoExecute"),
    ]
    assert cluster.taints(node) == not_ready
    cluster.pod("aws-node", node, hostNetwork=True, image=CNI)
    cluster.run(5)
    assert cluster.taints(node) == []
    cluster.store.patch("nodes", node, {"spec": {"unschedulable": True}})
    cluster.run(1)
    assert cluster.taints(node) == [("node.kubernetes.io/unschedulable", "NoSchedule")]
    cluster.store.patch(
        "nodes",
        node,
        {
            "spec": {
                "taints": [
                    *cluster.get(node)["spec"]["taints"],
                    {"key": "team", "value": "a", "effect": "NoSchedule"},
                ]
            }
        },
    )
    cluster.store.patch("nodes", node, {"spec": {"unschedulable": None}})
    cluster.run(1)
    assert cluster.taints(node) == [("team", "NoSchedule")]  # others' taints stay


def test_a_deleted_pod_is_terminating_for_its_grace_period_then_frees_its_address(
    make_cluster: Callable[[str], Cluster],
) -> None:
    cluster = make_cluster("1.13")
    node = cluster.ready_node()
    cluster.pod("web", node)
    cluster.pod("quick", node, terminationGracePeriodSeconds=5)
    cluster.pod("forced", node)
    cluster.run(5)
    web = cluster.pod_obj("web")
    assert web is not None and web["status"]["phase"] == "Running"
    uid = web["metadata"]["uid"]
    store = cluster.ipamd.pools[node].datastore
    ip = store.assigned[uid]

    cluster.store.delete("pods", "web", namespace="kube-system")
    cluster.store.delete("pods", "quick", namespace="kube-system")
    cluster.store.delete("pods", "forced", namespace="kube-system", grace_period_seconds=0)
    assert cluster.pod_obj("forced") is None
    web = cluster.pod_obj("web")
    assert web is not None
    assert web["metadata"]["deletionGracePeriodSeconds"] == 30
    cluster.run(10)
    assert cluster.pod_obj("quick") is None
    web = cluster.pod_obj("web")
    assert web is not None and web["status"]["phase"] == "Running"  # Terminating
    assert store.assigned.get(uid) == ip
    cluster.run(21)
    assert cluster.pod_obj("web") is None
    assert uid not in store.assigned
    assert store.in_cooldown(ip, cluster.clock.now())  # the cooldown starts when it is gone
