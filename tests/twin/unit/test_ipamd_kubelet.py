"""The node lifecycle and kubelet driving the twin's ipamd: the aws-node pod's image and env
pick the release and settings, ENIConfigs come from the store, ipamd's errors become events
on the aws-node pod, and a node whose ipamd never initialises does not turn Ready."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ekstwin.aws import AwsTwin
from ekstwin.clock import VirtualClock
from ekstwin.controllers.base import ControllerManager
from ekstwin.controllers.ipamd import NO_IP_MESSAGE, Ipamd
from ekstwin.controllers.ipamd.eniconfig import RESOURCE, eniconfig_object
from ekstwin.controllers.kubelet import Kubelet
from ekstwin.controllers.nodes import NodeLifecycle
from ekstwin.kubeapi import Store

CLUSTER = "c"
CNI_IMAGE = "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:{}"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": RESOURCE},
    "spec": {
        "group": "crd.k8s.amazonaws.com",
        "scope": "Cluster",
        "names": {"plural": "eniconfigs", "kind": "ENIConfig"},
        "versions": [{"name": "v1alpha1", "served": True, "storage": True}],
    },
}

AWS_NODE = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "aws-node"},
    "spec": {
        "selector": {"matchLabels": {"k8s-app": "aws-node"}},
        "template": {
            "metadata": {"labels": {"k8s-app": "aws-node"}},
            "spec": {"containers": [{"name": "aws-node", "image": CNI_IMAGE.format("v1.5.5")}]},
        },
    },
}


@dataclass
class Cluster:
    clock: VirtualClock
    twin: AwsTwin
    store: Store
    manager: ControllerManager
    subnets: list[str]

    def node(self, instance_type: str, *, eniconfig: bool = False) -> str:
        """Launch an instance; run passes until its Node is registered; the Node's name."""
        with self.twin.lock:
            self.twin.ec2.run_instances(
                self.twin.ami_for("1.13"),
                1,
                "",
                [],
                subnet_id=self.subnets[0],
                instance_type=instance_type,
                is_instance_type_default=False,
                tags={"instance": {f"kubernetes.io/cluster/{CLUSTER}": "owned"}},
            )
        before = {n["metadata"]["name"] for n in self.store.list("nodes")}
        self.run(1)
        (name,) = {n["metadata"]["name"] for n in self.store.list("nodes")} - before
        return str(name)

    def pod(self, name: str, node: str, *, cni: str | None = None, **env: str) -> None:
        container: dict[str, Any] = {"name": name, "image": "nginx:1.27"}
        spec: dict[str, Any] = {"nodeName": node, "containers": [container]}
        if cni:
            container["image"] = CNI_IMAGE.format(cni)
            container["env"] = [{"name": k, "value": v} for k, v in env.items()]
            spec["hostNetwork"] = True
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
        self.store.create("pods", pod, namespace="kube-system")

    def run(self, seconds: float) -> None:
        """Controller passes over ``seconds`` of virtual time, one per virtual second."""
        for _ in range(int(seconds)):
            self.clock.advance(1)
            with self.twin.lock:
                self.clock.run_due()
                self.manager.step()

    def phase(self, pod: str) -> str:
        found = self.store.find("pods", pod, namespace="kube-system")
        return str((found or {}).get("status", {}).get("phase", "Pending"))

    def ready(self, node: str) -> bool:
        conditions = (self.store.find("nodes", node) or {})["status"]["conditions"]
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def events(self, reason: str) -> list[str]:
        return [
            e["message"]
            for e in self.store.list("events", namespace="kube-system")
            if e["reason"] == reason
        ]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    clock = VirtualClock(speed=1.0, wall=lambda: 0.0)
    twin = AwsTwin(clock, region="us-west-2")
    twin.start()
    twin.seed_eks_amis()
    store = Store(kubernetes_version="1.13", now=clock.now)
    store.create("customresourcedefinitions.apiextensions.k8s.io", CRD)
    store.create("daemonsets.apps", AWS_NODE, namespace="kube-system")  # nodes wait for a CNI
    vpc = twin.create_vpc("10.0.0.0/16", "vpc")
    subnets = [twin.create_subnet(vpc, f"10.0.{i}.0/24", "us-west-2a", f"s{i}") for i in range(2)]
    ipamd = Ipamd(twin, clock)
    nodes = NodeLifecycle(
        store, twin, clock, ipamd, cluster=CLUSTER, eniconfig_by_az=True, boot_seconds=0
    )
    manager = ControllerManager(store, clock, [nodes, Kubelet(store, clock, ipamd, nodes)])
    yield Cluster(clock, twin, store, manager, subnets)
    twin.stop()


def test_the_aws_node_pods_release_and_env_drive_the_nodes_ipamd(cluster: Cluster) -> None:
    node = cluster.node("r5.xlarge")
    assert (cluster.store.find("nodes", node) or {})["status"]["capacity"]["pods"] == "58"
    cluster.pod("aws-node", node, cni="v1.9.3", WARM_IP_TARGET="2")
    cluster.pod("web", node)
    cluster.run(20)
    assert cluster.ready(node)
    assert cluster.phase("web") == "Running"
    free = cluster.twin.subnet_free(cluster.subnets[0])
    assert free == 251 - 1 - 3  # one pod + WARM_IP_TARGET=2


def test_custom_networking_reads_the_nodes_eniconfig_from_the_store(cluster: Cluster) -> None:
    node = cluster.node("r5.xlarge")
    cluster.store.create(RESOURCE, eniconfig_object("us-west-2a", cluster.subnets[1]))
    cluster.pod("aws-node", node, cni="v1.5.5", AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG="true")
    cluster.pod("web", node)
    cluster.run(20)
    assert cluster.phase("web") == "Running"
    assert cluster.twin.subnet_free(cluster.subnets[0]) == 251 - 1
    assert cluster.twin.subnet_free(cluster.subnets[1]) == 251 - 30  # ceil(1 / 14) + 1 ENIs


def test_an_unknown_type_on_v1_5_leaves_the_node_not_ready_with_ipamds_error(
    cluster: Cluster,
) -> None:
    node = cluster.node("m6i.large")
    cluster.pod("aws-node", node, cni="v1.5.5")
    cluster.pod("web", node)
    cluster.run(20)
    assert not cluster.ready(node)
    assert cluster.phase("web") == "Pending"
    (message,) = cluster.events("UnknownInstanceType")
    assert message == (
        "Initialization failure: vpc ip resource(eni ip limit): unknown instance type: m6i.large"
    )
    assert any(NO_IP_MESSAGE in m for m in cluster.events("FailedCreatePodSandBox"))
