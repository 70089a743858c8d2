"""Subnet budgets and capacity-aware waves for rolling node groups.

A wave replaces, in each AZ of a node group, ``k`` old nodes: launch ``k`` new
nodes (they take their peak addresses), drain the ``k`` old ones (their pods
move to the new nodes), terminate them (their addresses come back). The peak
of a wave is checked per subnet, never summed across subnets or AZs.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from upgrader.capacity.node import ceil_div, max_pods, node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import InstanceType

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Subnet:
    """A subnet and the addresses free in it now."""

    id: str
    az: str
    free_ips: int
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """An old node to replace: where it sits, its pods, the addresses it holds."""

    name: str
    subnet_id: str
    pods: int
    subnet_ips: int
    pod_subnet_id: str | None = None
    pod_subnet_ips: int = 0

    def holdings(self) -> tuple[tuple[str, int], ...]:
        """(subnet id, addresses) for every subnet the node holds addresses in."""
        pod = ((self.pod_subnet_id, self.pod_subnet_ips),) if self.pod_subnet_id else ()
        return ((self.subnet_id, self.subnet_ips), *pod)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroupRoll:
    """A node group to roll and what its new nodes will be.

    ``pod_subnet_by_az`` names the ENIConfig subnet per AZ under custom networking.
    """

    name: str
    instance_type: InstanceType
    cni: CniSettings
    subnet_ids: tuple[str, ...]
    nodes: tuple[Node, ...]
    kubelet_max_pods: int | None = None
    max_surge: int | None = None
    pod_subnet_by_az: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetBudget:
    """One subnet during one wave: free before, peak demand, released, free after."""

    subnet_id: str
    az: str
    free_before: int
    peak_demand: int
    released: int
    free_after: int
    reserve: int

    @property
    def free_at_peak(self) -> int:
        return self.free_before - self.peak_demand

    @property
    def safe(self) -> bool:
        """The wave takes nothing here, or leaves at least the reserve at its peak."""
        return self.peak_demand == 0 or self.free_at_peak >= self.reserve


@dataclass(frozen=True, slots=True, kw_only=True)
class AzBudget:
    """The subnets of one AZ during one wave, summed for display; gates use the
    per-subnet budgets, never these sums."""

    az: str
    free_before: int
    peak_demand: int
    released: int
    free_after: int
    tightest_subnet: str
    tightest_free_at_peak: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AzStep:
    """The part of a wave in one AZ."""

    az: str
    drained: tuple[str, ...]
    new_nodes: tuple[tuple[str, int], ...]
    displaced_pods: int
    pods_per_new_node: int
    overflow_pods: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Wave:
    """One wave of a node-group roll and its per-subnet budgets."""

    index: int
    group: str
    steps: tuple[AzStep, ...]
    budgets: tuple[SubnetBudget, ...]

    @property
    def size(self) -> int:
        return sum(len(s.drained) for s in self.steps)

    def az_budgets(self) -> tuple[AzBudget, ...]:
        """Per-AZ view of :attr:`budgets`."""
        by_az: dict[str, list[SubnetBudget]] = defaultdict(list)
        for b in self.budgets:
            by_az[b.az].append(b)
        out = []
        for az in sorted(by_az):
            bs = by_az[az]
            tight = min(bs, key=lambda b: (b.free_at_peak, b.subnet_id))
            out.append(
                AzBudget(
                    az=az,
                    free_before=sum(b.free_before for b in bs),
                    peak_demand=sum(b.peak_demand for b in bs),
                    released=sum(b.released for b in bs),
                    free_after=sum(b.free_after for b in bs),
                    tightest_subnet=tight.subnet_id,
                    tightest_free_at_peak=tight.free_at_peak,
                )
            )
        return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Blocker:
    """Why an AZ of a group cannot roll: the tightest subnet for a wave of one."""

    group: str
    az: str
    subnet_id: str
    free_ips: int
    demand: int
    reserve: int
    nodes_left: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RollPlan:
    """Waves of all groups in order, the predicted end state and the lower bound."""

    waves: tuple[Wave, ...]
    blockers: tuple[Blocker, ...]
    free_after: Mapping[str, int]
    lower_bound_waves: int | None

    @property
    def blocked(self) -> bool:
        return bool(self.blockers)


@dataclass(frozen=True, slots=True)
class _NewNode:
    node_ips: int
    pod_ips: int
    steady_node_ips: int
    steady_pod_ips: int

    @property
    def steady_total(self) -> int:
        return self.steady_node_ips + self.steady_pod_ips


class _Sizer:
    """Per-group cache of new-node addresses and pod capacity."""

    def __init__(self, group: NodeGroupRoll) -> None:
        self.group = group
        limits = max_pods(group.instance_type, group.cni)
        mp = group.kubelet_max_pods if group.kubelet_max_pods is not None else limits.value
        self.pod_capacity = min(limits.pod_ip_capacity, max(mp - 2, 0))
        self._cache: dict[int, _NewNode] = {}
        self._slope: Fraction | None = None

    def new_node(self, pods: int) -> _NewNode:
        hit = self._cache.get(pods)
        if hit is None:
            g = self.group
            a = node_addresses(g.instance_type, g.cni, pods, kubelet_max_pods=g.kubelet_max_pods)
            peak_total = a.peak_ips
            peak_node = a.node_subnet_ips if g.cni.custom_networking else peak_total
            hit = _NewNode(
                node_ips=peak_node,
                pod_ips=peak_total - peak_node,
                steady_node_ips=a.node_subnet_ips,
                steady_pod_ips=a.pod_subnet_ips,
            )
            self._cache[pods] = hit
        return hit

    def least_slope(self) -> Fraction:
        """The fewest addresses each extra pod can add, on a new node or as overflow."""
        if self._slope is None:
            base = self.new_node(0)
            start = base.steady_total
            slope = Fraction(1)  # overflow pods cost at least one address each
            for pods in range(1, self.pod_capacity + 1):
                nn = self.new_node(pods)
                slope = min(slope, Fraction(nn.steady_total - start, pods))
            self._slope = slope
        return self._slope

    def overflow_ips(self, overflow: int) -> int:
        """Addresses that pods with no room on the new nodes add on the staying nodes."""
        if overflow <= 0:
            return 0
        g = self.group
        grown = node_addresses(g.instance_type, g.cni, overflow).subnet_ips
        return max(grown - node_addresses(g.instance_type, g.cni, 0).subnet_ips, overflow)


@dataclass(slots=True)
class _Placement:
    new_nodes: dict[str, int]
    demand: dict[str, int]
    steady: dict[str, int]
    overflow: int
    per_node_pods: int


def _place(
    sizer: _Sizer,
    free: Mapping[str, int],
    node_subnets: Sequence[str],
    pod_subnet: str | None,
    k: int,
    displaced: int,
    reserve: int,
) -> _Placement | None:
    """Place ``k`` new nodes on the subnets with most slack; None if any subnet
    would fall below ``reserve`` at the wave's peak."""
    per_node = min(ceil_div(displaced, k), sizer.pod_capacity) if k else 0
    overflow = max(displaced - k * sizer.pod_capacity, 0)
    nn = sizer.new_node(per_node)
    demand: dict[str, int] = defaultdict(int)
    steady: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    heap = [(-(free[s] - reserve), s) for s in node_subnets]
    heapq.heapify(heap)
    for _ in range(k):
        neg_slack, s = heap[0]
        if -neg_slack < nn.node_ips:
            return None
        heapq.heapreplace(heap, (neg_slack + nn.node_ips, s))
        demand[s] += nn.node_ips
        steady[s] += nn.steady_node_ips
        counts[s] += 1
    target = pod_subnet or heap[0][1]
    if nn.pod_ips:
        demand[target] += k * nn.pod_ips
        steady[target] += k * nn.steady_pod_ips
    extra = sizer.overflow_ips(overflow)
    if extra:
        demand[target] += extra
        steady[target] += extra
    if any(free[s] - d < reserve for s, d in demand.items()):
        return None
    return _Placement(dict(counts), dict(demand), dict(steady), overflow, per_node)


def _largest(limit: int, attempt: Callable[[int], T | None]) -> tuple[int, T | None]:
    """Binary search for the largest ``k`` in 1..limit whose ``attempt`` is not None
    (0 if none), assuming success is downward closed; returns ``k`` and its result."""
    lo, hi, best = 1, limit, 0
    found: T | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        result = attempt(mid)
        if result is not None:
            best, found, lo = mid, result, mid + 1
        else:
            hi = mid - 1
    return best, found


def _largest_wave(
    sizer: _Sizer,
    free: Mapping[str, int],
    node_subnets: Sequence[str],
    pod_subnet: str | None,
    prefix_pods: Sequence[int],
    limit: int,
    reserve: int,
) -> tuple[int, _Placement | None]:
    """Largest ``k <= limit`` whose placement is safe; ``prefix_pods[k]`` is the
    number of pods on the first ``k`` nodes to drain."""

    def attempt(k: int) -> _Placement | None:
        return _place(sizer, free, node_subnets, pod_subnet, k, prefix_pods[k], reserve)

    return _largest(limit, attempt)


def largest_safe_wave(
    subnets: Sequence[Subnet], group: NodeGroupRoll, reserve: int
) -> dict[str, int]:
    """Per AZ, the most old nodes of ``group`` one wave can replace right now
    (0: not even one; the AZ is blocked)."""
    by_id = {s.id: s for s in subnets}
    free = {s.id: s.free_ips for s in subnets}
    sizer = _Sizer(group)
    out = {}
    for az, (node_subnets, pod_subnet, nodes) in sorted(_group_layout(group, by_id).items()):
        if not nodes:
            continue
        limit = _wave_limit(group, len(nodes))
        prefix = _prefix_sums(n.pods for n in nodes[:limit])
        out[az], _ = _largest_wave(sizer, free, node_subnets, pod_subnet, prefix, limit, reserve)
    return out


def _wave_limit(group: NodeGroupRoll, nodes_left: int) -> int:
    """At most ``max_surge`` nodes, and never more than are left."""
    return min(nodes_left, group.max_surge or nodes_left)


def _prefix_sums(values: Iterable[int]) -> list[int]:
    out = [0]
    for v in values:
        out.append(out[-1] + v)
    return out


def _group_layout(
    group: NodeGroupRoll, subnets: Mapping[str, Subnet]
) -> dict[str, tuple[list[str], str | None, list[Node]]]:
    """Per AZ: the group's node subnets, its pod subnet, and its old nodes by name."""
    layout: dict[str, tuple[list[str], str | None, list[Node]]] = {}
    for sid in group.subnet_ids:
        az = subnets[sid].az
        pod = (group.pod_subnet_by_az or {}).get(az)
        layout.setdefault(az, ([], pod, []))[0].append(sid)
    for node in sorted(group.nodes, key=lambda n: n.name):
        az = subnets[node.subnet_id].az
        layout.setdefault(az, ([node.subnet_id], None, []))[2].append(node)
    return layout


def _held_in(node: Node, subnet_ids: Iterable[str]) -> int:
    """Addresses ``node`` holds in the given subnets."""
    ids = set(subnet_ids)
    return sum(ips for sid, ips in node.holdings() if sid in ids)


def _az_lower_bound(
    sizer: _Sizer,
    slack0: int,
    gains: Sequence[int],
    pods_ascending: Sequence[int],
    limit: int,
) -> int | None:
    """Fewest waves for one AZ of a group, or None if no wave of one fits.

    ``slack0`` is the most free-above-reserve the AZ's subnets can offer at the
    start; ``gains[r]`` the most that ``r`` replaced nodes can add to it. Each wave
    takes the least demand any ``k`` nodes can have: the ``k`` emptiest nodes'
    pods on ``k`` new nodes, no overflow.
    """
    n = len(pods_ascending)
    prefix = _prefix_sums(pods_ascending)

    def demand(k: int) -> int:
        nn = sizer.new_node(min(ceil_div(prefix[k], k), sizer.pod_capacity))
        return k * (nn.node_ips + nn.pod_ips)

    replaced, waves = 0, 0
    while replaced < n:
        slack = slack0 + gains[replaced]

        def fits(k: int, room: int = slack) -> bool | None:
            return demand(k) <= room or None  # demand(k) grows with k: emptiest nodes first

        best, _ = _largest(min(limit, n - replaced), fits)
        if best == 0:
            return None
        replaced += best
        waves += 1
    return waves


def lower_bound_waves(
    subnets: Sequence[Subnet], groups: Sequence[NodeGroupRoll], reserve: int
) -> int | None:
    """Fewest waves any safe roll of ``groups`` (one group after another) can take.

    A wave of ``k`` in an AZ needs, summed over the subnets it lands in, at least
    ``k`` new nodes' least peak above the reserve. What the AZ can offer is
    bounded by its free addresses now, plus what earlier groups' old nodes hold
    there, plus what this group's replaced nodes give back: where the AZ has one
    subnet, net of the least their pods can cost again (an empty new node plus
    the least addresses per pod), gross otherwise. ``None`` when not even one
    node can be replaced.
    """
    by_id = {s.id: s for s in subnets}
    credited = {s.id: s.free_ips for s in subnets}
    total = 0
    for g in groups:
        sizer = _Sizer(g)
        least_steady = sizer.new_node(0).steady_total
        slope = sizer.least_slope()
        worst = 0
        for node_subnets, pod_subnet, nodes in _group_layout(g, by_id).values():
            if not nodes:
                continue
            az_subnets = [*node_subnets, *([pod_subnet] if pod_subnet else [])]
            slack0 = sum(max(credited[s] - reserve, 0) for s in az_subnets)
            single = len(node_subnets) == 1 and pod_subnet is None
            back = sorted(
                (
                    max(
                        _held_in(n, az_subnets)
                        - ((least_steady + slope * n.pods) if single else 0),
                        Fraction(0),
                    )
                    for n in nodes
                ),
                reverse=True,
            )
            limit = _wave_limit(g, len(nodes))
            gains = [0]
            running = Fraction(0)
            for b in back:
                running += b
                gains.append(math.ceil(running))
            waves = _az_lower_bound(sizer, slack0, gains, sorted(n.pods for n in nodes), limit)
            if waves is None:
                return None
            worst = max(worst, waves)
        for n in g.nodes:  # later groups may use what this group's old nodes held
            for sid, ips in n.holdings():
                credited[sid] += ips
        total += worst
    return total


def _tightest(
    sizer: _Sizer,
    free: Mapping[str, int],
    node_subnets: Sequence[str],
    pod_subnet: str | None,
    displaced: int,
) -> tuple[str, int]:
    """The subnet and demand that block a wave of one node."""
    nn = sizer.new_node(min(displaced, sizer.pod_capacity))
    best = max(node_subnets, key=lambda s: (free[s], s))
    if nn.pod_ips and pod_subnet and free[best] >= nn.node_ips:
        return pod_subnet, nn.pod_ips
    return best, nn.node_ips + (0 if pod_subnet else nn.pod_ips)


def plan_roll(subnets: Sequence[Subnet], groups: Sequence[NodeGroupRoll], reserve: int) -> RollPlan:
    """Waves for rolling ``groups`` one after another, every AZ of a group in
    parallel, each wave the largest that keeps every subnet at or above
    ``reserve`` free addresses at its peak."""
    by_id = {s.id: s for s in subnets}
    free = {s.id: s.free_ips for s in subnets}
    waves: list[Wave] = []
    blockers: list[Blocker] = []
    for g in groups:
        sizer = _Sizer(g)
        remaining = {
            az: (ns, ps, list(nodes))
            for az, (ns, ps, nodes) in _group_layout(g, by_id).items()
            if nodes
        }
        while remaining:
            steps: list[AzStep] = []
            before = dict(free)
            peak: dict[str, int] = defaultdict(int)
            released: dict[str, int] = defaultdict(int)
            steady: dict[str, int] = defaultdict(int)
            for az in sorted(remaining):
                node_subnets, pod_subnet, nodes = remaining[az]
                limit = _wave_limit(g, len(nodes))
                prefix = _prefix_sums(n.pods for n in nodes[:limit])
                k, placement = _largest_wave(
                    sizer, before, node_subnets, pod_subnet, prefix, limit, reserve
                )
                if k == 0 or placement is None:
                    sid, demand = _tightest(sizer, before, node_subnets, pod_subnet, prefix[1])
                    blockers.append(
                        Blocker(
                            group=g.name,
                            az=az,
                            subnet_id=sid,
                            free_ips=before[sid],
                            demand=demand,
                            reserve=reserve,
                            nodes_left=len(nodes),
                        )
                    )
                    del remaining[az]
                    continue
                drained, remaining[az] = nodes[:k], (node_subnets, pod_subnet, nodes[k:])
                for s, d in placement.demand.items():
                    peak[s] += d
                    before[s] -= d
                for s, d in placement.steady.items():
                    steady[s] += d
                for n in drained:
                    for sid, ips in n.holdings():
                        released[sid] += ips
                steps.append(
                    AzStep(
                        az=az,
                        drained=tuple(n.name for n in drained),
                        new_nodes=tuple(sorted(placement.new_nodes.items())),
                        displaced_pods=prefix[k],
                        pods_per_new_node=placement.per_node_pods,
                        overflow_pods=placement.overflow,
                    )
                )
                if not remaining[az][2]:
                    del remaining[az]
            if not steps:
                break
            touched = sorted(set(peak) | set(released))
            budgets = []
            for s in touched:
                after = free[s] - steady[s] + released[s]
                budgets.append(
                    SubnetBudget(
                        subnet_id=s,
                        az=by_id[s].az,
                        free_before=free[s],
                        peak_demand=peak[s],
                        released=released[s],
                        free_after=after,
                        reserve=reserve,
                    )
                )
                free[s] = after
            waves.append(
                Wave(index=len(waves) + 1, group=g.name, steps=tuple(steps), budgets=tuple(budgets))
            )
    return RollPlan(
        waves=tuple(waves),
        blockers=tuple(blockers),
        free_after=dict(free),
        lower_bound_waves=lower_bound_waves(subnets, groups, reserve),
    )
