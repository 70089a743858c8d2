"""Capacity gates CAP001-CAP005: subnet addresses, control-plane subnets, pod room,
kubelet max pods and leaked ENIs. Pure functions over :class:`GateInputs`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.capacity.waves import Blocker, SubnetBudget
from upgrader.catalog.instances import bundled
from upgrader.errors import UnknownInstanceTypeError
from upgrader.gates.findings import advisory, blocking, mib
from upgrader.gates.inputs import GateInputs, GroupRoll
from upgrader.model.aws import Eni
from upgrader.model.kube import Node, Pod
from upgrader.model.plan import Finding
from upgrader.model.state import ClusterState

LEAKED_ENI_PREFIX = "aws-K8S-"
_GONE = frozenset({"terminated", "shutting-down"})
_FINISHED = frozenset({"Succeeded", "Failed"})


def pool_settings(cni: CniSettings) -> str:
    """The pool settings that size a new node's addresses, in words."""
    parts = [
        f"{env}={value}"
        for env, value in (
            ("WARM_ENI_TARGET", cni.warm_eni_target),
            ("WARM_IP_TARGET", cni.warm_ip_target),
            ("MINIMUM_IP_TARGET", cni.minimum_ip_target),
            ("WARM_PREFIX_TARGET", cni.warm_prefix_target),
        )
        if value is not None
    ]
    if cni.prefix_delegation:
        parts.append("ENABLE_PREFIX_DELEGATION=true")
    return f"CNI {cni.version.tag} with " + (", ".join(parts) or "ipamd defaults")


def leaked_enis(state: ClusterState) -> tuple[Eni, ...]:
    """ENIs ipamd created (``aws-K8S-<instance>``) left ``available`` after their
    instance is gone. An ENI mid-attach is also ``available`` but its instance lives."""
    live = {i.instance_id for i in state.instances if i.state not in _GONE}
    out = []
    for eni in state.enis:
        if eni.status != "available" or not eni.description.startswith(LEAKED_ENI_PREFIX):
            continue
        owner = eni.instance_id or eni.description[len(LEAKED_ENI_PREFIX) :]
        if owner not in live:
            out.append(eni)
    return tuple(sorted(out, key=lambda e: e.eni_id))


def _eni_addresses(eni: Eni) -> int:
    return eni.addresses + 16 * eni.prefixes


def _leak_hint(inputs: GateInputs, subnet_id: str) -> str:
    leaked = [e for e in leaked_enis(inputs.state) if e.subnet_id == subnet_id]
    if not leaked:
        return ""
    held = sum(_eni_addresses(e) for e in leaked)
    return (
        f" ({len(leaked)} leaked ENI(s) hold {held} of its addresses: delete them with "
        "`upgrader apply --cleanup-leaked-enis`, see CAP005)"
    )


def _fixes(inputs: GateInputs, group: GroupRoll, subnet_id: str, az: str, short: int) -> str:
    label = inputs.subnet_label(subnet_id)
    cni = group.cni
    if cni.ip_target_mode:
        pool = "lower WARM_IP_TARGET/MINIMUM_IP_TARGET so a new node holds fewer addresses"
    else:
        warm = cni.warm_eni_target if cni.warm_eni_target is not None else 1
        pool = (
            f"lower WARM_ENI_TARGET (now {warm}) or set WARM_IP_TARGET/MINIMUM_IP_TARGET "
            "so a new node holds fewer addresses"
        )
    return (
        f"Fix: free at least {short} addresses in {label}{_leak_hint(inputs, subnet_id)}; "
        f"or {pool}; or add another subnet in {az} with free addresses to node group "
        f"{group.name}."
    )


def _blocker_finding(inputs: GateInputs, group: GroupRoll, b: Blocker) -> Finding:
    label = inputs.subnet_label(b.subnet_id)
    short = b.demand + b.reserve - b.free_ips
    return blocking(
        "CAP001",
        label,
        f"node group {group.name}: replacing even one {group.instance_type.name} node in "
        f"{b.az} needs {b.demand} addresses in {label} at the wave's peak (the new node's "
        f"warm pool under {pool_settings(group.cni)}, with its displaced pods); "
        f"{b.free_ips} are free and {b.reserve} must stay free (reserve): {short} short. "
        f"{b.nodes_left} node(s) in {b.az} cannot be replaced. "
        + _fixes(inputs, group, b.subnet_id, b.az, short),
    )


def _budget_finding(inputs: GateInputs, group: GroupRoll, wave: int, b: SubnetBudget) -> Finding:
    label = inputs.subnet_label(b.subnet_id)
    short = b.peak_demand + b.reserve - b.free_before
    return blocking(
        "CAP001",
        label,
        f"node group {group.name}, wave {wave}: the new nodes need {b.peak_demand} addresses "
        f"in {label} at the peak; {b.free_before} are free and the reserve is {b.reserve}, "
        f"{short} short. " + _fixes(inputs, group, b.subnet_id, b.az, short),
    )


def _forced_surge(inputs: GateInputs, group: GroupRoll) -> Iterator[Finding]:
    """Managed groups: EKS launches its surge whatever the subnets hold, so a wave the
    planner had to shrink below that surge is a wave EKS would still run."""
    surge = group.forced_surge_per_az
    if not surge:
        return
    left: dict[str, int] = defaultdict(int)
    node_az = {n.name: n.az for n in inputs.state.nodes}
    for name in group.nodes:
        left[node_az.get(name, "?")] += 1
    for wave in group.roll.waves:
        for step in wave.steps:
            wanted = min(surge, left[step.az])
            got = len(step.drained)
            left[step.az] -= got
            if got >= wanted:
                continue
            tight = min(
                (b for b in wave.budgets if b.az == step.az),
                key=lambda b: (b.free_at_peak, b.subnet_id),
                default=None,
            )
            where = inputs.subnet_label(tight.subnet_id) if tight else step.az
            yield blocking(
                "CAP001",
                where,
                f"managed node group {group.name}: EKS surges {wanted} new "
                f"{group.instance_type.name} nodes at once in {step.az}, but {where} keeps "
                f"its reserve for only {got}. Fix: free addresses in {where}, lower the warm "
                f"pool ({pool_settings(group.cni)}), or add a subnet in {step.az}.",
            )


def cap001_subnet_addresses(inputs: GateInputs) -> Iterator[Finding]:
    """Each wave's peak address demand fits every subnet it lands in, keeping the
    reserve; checked per subnet and AZ, never summed. Leaked ENIs' addresses are
    not counted as free (EC2 already counts them as used)."""
    for group in inputs.groups:
        for blocker in group.roll.blockers:
            yield _blocker_finding(inputs, group, blocker)
        for wave in group.roll.waves:
            for budget in wave.budgets:
                if not budget.safe:
                    yield _budget_finding(inputs, group, wave.index, budget)
        yield from _forced_surge(inputs, group)


def cap002_control_plane_subnets(inputs: GateInputs) -> Iterator[Finding]:
    """The control plane's subnets have enough free addresses in enough AZs for EKS
    to place its new control-plane ENIs during the upgrade."""
    state = inputs.state
    need = inputs.config.gate("control_plane_min_free_ips")
    azs = inputs.config.gate("control_plane_min_azs")
    rows, good = [], set()
    for sid in sorted(state.cluster.subnet_ids):
        subnet = state.subnet(sid)
        if subnet is None:
            rows.append(f"{sid} (not found)")
            continue
        rows.append(f"{inputs.subnet_label(sid)} in {subnet.az}: {subnet.available_ips} free")
        if subnet.available_ips >= need:
            good.add(subnet.az)
    if len(good) >= azs:
        return
    yield blocking(
        "CAP002",
        f"control-plane subnets of {state.cluster.name}",
        f"EKS needs at least {need} free addresses in subnets of at least {azs} AZs to "
        f"upgrade the control plane; only {len(good)} AZ(s) qualify ({'; '.join(rows)}). "
        "Fix: free addresses in those subnets (leaked ENIs, unused endpoints) or add a "
        "subnet with free addresses in another AZ to the cluster (UpdateClusterConfig).",
    )


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
    # room each schedulable node has now; drained nodes leave the sum as waves go
    free = {
        n.name: _minus(_capacity(n, cni), _usage(pods[n.name]))
        for n in state.nodes
        if n.ready and not n.unschedulable
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


def cap004_kubelet_max_pods(inputs: GateInputs) -> Iterator[Finding]:
    """Kubelet maxPods (node allocatable pods) <= the pods the node can give an address
    (``pod-IP capacity + 2`` host-network pods) under the target CNI settings.

    Advisory: the excess only hurts when the scheduler fills a node past its pod-IP
    capacity (those pods stay ContainerCreating, #331); the roll itself never relies on
    it (CAP003 counts the smaller of the two), and a real stuck pod is POD001's finding.
    Blocking every upgrade of clusters that have run this way for years would not help.
    """
    nodes = {n.name: n for n in inputs.state.nodes}
    for group in inputs.groups:
        limits = max_pods(group.instance_type, group.cni)
        over = sorted(
            (nodes[n].name, nodes[n].allocatable_pods)
            for n in group.nodes
            if n in nodes and nodes[n].allocatable_pods > limits.uncapped
        )
        if not over:
            continue
        worst = max(mp for _, mp in over)
        why = " with custom networking (the primary ENI carries no pods)" * (
            group.cni.custom_networking
        )
        yield advisory(
            "CAP004",
            f"node group {group.name}",
            f"kubelet maxPods {worst} on {', '.join(n for n, _ in over)} "
            f"({group.instance_type.name}) exceeds the {limits.uncapped} pods it can give an "
            f"address under {pool_settings(group.cni)}{why}: {limits.pod_ip_capacity} "
            "VPC-IP pods plus 2 host-network pods; pods past that stay ContainerCreating "
            "(aws/amazon-vpc-cni-k8s#331). Fix: bootstrap the nodes with "
            f"`--use-max-pods false --kubelet-extra-args '--max-pods={limits.uncapped}'`.",
        )


def cap005_leaked_enis(inputs: GateInputs) -> Iterator[Finding]:
    """ENIs leaked by ipamd (#69) hold subnet addresses nobody uses; EC2 already counts
    them as taken, so CAP001 does not count them free. Advisory: cleanup is an option."""
    by_subnet: dict[str, list[Eni]] = defaultdict(list)
    for eni in leaked_enis(inputs.state):
        by_subnet[eni.subnet_id].append(eni)
    for sid in sorted(by_subnet):
        enis = by_subnet[sid]
        held = sum(_eni_addresses(e) for e in enis)
        label = inputs.subnet_label(sid)
        yield advisory(
            "CAP005",
            label,
            f"{len(enis)} leaked ENI(s) ({', '.join(e.eni_id for e in enis)}) are "
            f"'available', described aws-K8S-<instance> for instances that no longer exist, "
            f"and hold {held} addresses in {label} (aws/amazon-vpc-cni-k8s#69). Fix: run "
            "`upgrader apply PLAN --cleanup-leaked-enis`, or delete them with "
            "`aws ec2 delete-network-interface --network-interface-id <id>`.",
        )
