"""Kubernetes side of a cluster as discovered: nodes, pods, DaemonSets, workloads, PDBs."""

from __future__ import annotations

from dataclasses import dataclass

from upgrader.model.aws import Pairs


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    name: str
    instance_id: str  # from spec.providerID aws:///<az>/<id>
    az: str
    instance_type: str
    kubelet_version: str  # "v1.12.10-eks-..."
    kube_proxy_version: str
    ready: bool
    unschedulable: bool
    allocatable_pods: int
    allocatable_cpu_m: int
    allocatable_memory: int  # bytes
    nodegroup: str | None = None  # eks.amazonaws.com/nodegroup label (managed groups)
    labels: Pairs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Pod:
    namespace: str
    name: str
    node: str | None
    phase: str
    host_network: bool
    ip: str | None
    owner_kind: str | None  # ReplicaSet, DaemonSet, StatefulSet, Job, Node, ...
    owner_name: str | None
    cpu_m: int  # sum of container requests
    memory: int  # bytes
    waiting_reason: str | None = None  # first container's state.waiting.reason
    created: str = ""  # creationTimestamp
    terminating: bool = False
    labels: Pairs = ()
    last_event: str | None = None  # newest Warning event message, for stuck pods

    @property
    def needs_vpc_ip(self) -> bool:
        return not self.host_network

    @property
    def stuck_creating(self) -> bool:
        return self.phase == "Pending" and self.waiting_reason == "ContainerCreating"


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    name: str
    image: str
    env: Pairs = ()  # literal values only; valueFrom entries are left out

    @property
    def tag(self) -> str:
        return self.image.rsplit(":", 1)[1] if ":" in self.image.rsplit("/", 1)[-1] else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSet:
    namespace: str
    name: str
    api_version: str
    containers: tuple[Container, ...]
    update_strategy: str
    max_unavailable: str | None
    desired: int
    ready: int
    updated: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    kind: str  # Deployment | StatefulSet
    namespace: str
    name: str
    api_version: str
    replicas: int
    ready: int
    containers: tuple[Container, ...] = ()
    selector: Pairs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdb:
    namespace: str
    name: str
    api_version: str
    min_available: str | None
    max_unavailable: str | None
    selector: Pairs  # matchLabels
    expected_pods: int
    current_healthy: int
    desired_healthy: int
    disruptions_allowed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveObject:
    """A live object's identity and the apiVersion it was last applied with."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
