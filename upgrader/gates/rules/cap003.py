"""CAP003: the pods each wave displaces fit on the nodes that stay plus the new ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import bundled
from upgrader.errors import UnknownInstanceTypeError
from upgrader.gates.findings import blocking, mib
from upgrader.gates.inputs import GateInputs, GroupRoll
from upgrader.gates.rule import Rule
from upgrader.model.kube import Node, Pod
from upgrader.model.plan import Finding, Severity
from upgrader.model.state import ClusterState
from upgrader.model.unowned import FARGATE, node_owner

_FINISHED = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True, slots=True)
class _Room:
    pods: int = 0
    ips: int = 0
    cpu_m: int = 0
    memory: int = 0

    def __add__(self, other: _Room) -> _Room:
        return _Room(
            self.pods + other.pods,
            self.ips + other.ips,
            self.cpu_m + other.cpu_m,
            self.memory + other.memory,
        )

    def times(self, k: int) -> _Room:
        return _Room(self.pods * k, self.ips * k, self.cpu_m * k, self.memory * k)


def _usage(pods: list[Pod]) -> _Room:
    return _Room(
        len(pods),
        sum(1 for p in pods if p.needs_vpc_ip),
        sum(p.cpu_m for p in pods),
        sum(p.memory for p in pods),
    )


def _ip_capacity(node: Node, cni: CniSettings) -> int:
    try:
        return max_pods(bundled().get(node.instance_type), cni).pod_ip_capacity
    except UnknownInstanceTypeError:
        return node.allocatable_pods  # unknown type: kubelet's limit is all we know


def _capacity(node: Node, cni: CniSettings) -> _Room:
    return _Room(
        node.allocatable_pods,
        _ip_capacity(node, cni),
        node.allocatable_cpu_m,
        node.allocatable_memory,
    )


def _minus(a: _Room, b: _Room) -> _Room:
    return _Room(a.pods - b.pods, a.ips - b.ips, a.cpu_m - b.cpu_m, a.memory - b.memory)


def _pods_by_node(state: ClusterState) -> dict[str, list[Pod]]:
    out: dict[str, list[Pod]] = defaultdict(list)
    for pod in state.pods:
        if pod.node and pod.phase not in _FINISHED:
            out[pod.node].append(pod)
    return out


def _fresh_node(group: GroupRoll, template: Node, pods: list[Pod]) -> _Room:
    """Room on one new node of ``group``: a node like ``template`` running only the
    DaemonSet pods ``template`` runs (they come back on every node)."""
    daemons = [p for p in pods if p.owner_kind == "DaemonSet"]
    cap = _capacity(template, group.cni)
    if group.kubelet_max_pods is not None:
        cap = _Room(group.kubelet_max_pods, cap.ips, cap.cpu_m, cap.memory)
    return _minus(cap, _usage(daemons))


def _shortfalls(moved: _Room, room: _Room) -> list[str]:
    out = []
    if moved.pods > room.pods:
        out.append(f"pods {moved.pods} > {room.pods} (kubelet max pods)")
    if moved.ips > room.ips:
        out.append(f"VPC addresses {moved.ips} > {room.ips} (ENI x IPv4-per-ENI capacity)")
    if moved.cpu_m > room.cpu_m:
        out.append(f"CPU requests {moved.cpu_m}m > {room.cpu_m}m")
    if moved.memory > room.memory:
        out.append(f"memory requests {mib(moved.memory)} MiB > {mib(room.memory)} MiB")
    return out


def cap003_displaced_pods_fit(inputs: GateInputs) -> Iterator[Finding]:
    """After each wave, the pods drained so far fit (in total, per resource) in the room
    left on the nodes that stay plus the new nodes: kubelet max pods, pod-IP capacity
    (ENI formula, target CNI), CPU and memory requests. Aggregate, not bin-packing:
    a pass is necessary, not sufficient; the scheduler is watched at run time."""
    state = inputs.state
    nodes = {n.name: n for n in state.nodes}
    pods = _pods_by_node(state)
    cni = inputs.groups[0].cni if inputs.groups else None
    if cni is None:
        return
    # room each schedulable node has now; drained nodes leave the sum as waves go. A
    # Fargate node runs its one pod and takes no other: no room for displaced pods.
    free = {
        n.name: _minus(_capacity(n, cni), _usage(pods[n.name]))
        for n in state.nodes
        if n.ready and not n.unschedulable and node_owner(n) != FARGATE
    }
    staying = _Room()
    for room in free.values():
        staying = staying + room
    new_room, moved, drained = _Room(), _Room(), 0
    for group in inputs.groups:
        members = [nodes[n] for n in group.nodes if n in nodes]
        if not members:
            continue
        fresh = _fresh_node(group, members[0], pods[members[0].name])
        reported = False  # one finding per group; later waves still drain their nodes
        for wave in group.roll.waves:
            wave_nodes = sorted(n for step in wave.steps for n in step.drained)
            drained += len(wave_nodes)
            new_room = new_room + fresh.times(len(wave_nodes))
            for name in wave_nodes:
                staying = _minus(staying, free.pop(name, _Room()))
                movable = [p for p in pods[name] if p.owner_kind not in ("DaemonSet", "Node")]
                moved = moved + _usage(movable)
            short = _shortfalls(moved, staying + new_room)
            if short and not reported:
                reported = True
                yield blocking(
                    "CAP003",
                    f"node group {group.name}",
                    f"wave {wave.index} drains {', '.join(wave_nodes)}: the pods drained so "
                    f"far must fit on the nodes that stay plus the {drained} new node(s), "
                    f"but {'; '.join(short)}. Fix: add surge nodes (raise the group's max "
                    "size), lower the pods' requests or replicas, or fix kubelet max pods "
                    "(CAP004).",
                )


RULE = Rule(
    id="CAP003",
    title="displaced pods fit on the nodes that stay (max pods, CPU, memory)",
    severity=Severity.BLOCKING,
    inputs=("state", "groups"),
    check=cap003_displaced_pods_fit,
    description=(
        "After each wave, the pods drained so far fit in the room left on the nodes that "
        "stay plus the new nodes: kubelet max pods, pod-IP capacity (ENI formula under "
        "the target CNI), CPU and memory requests. Fargate nodes give no room (each runs "
        "only the pod it was made for). An aggregate check, not a bin packing: the "
        "scheduler is watched at run time."
    ),
)
