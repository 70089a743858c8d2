"""Subnet budgets and capacity-aware waves for rolling node groups.

A wave replaces, in each AZ of a node group, ``k`` old nodes: launch ``k`` new
nodes (they take their peak addresses), drain the ``k`` old ones (their pods
move to the new nodes), terminate them (their addresses come back). The peak
of a wave is checked per subnet, never summed across subnets or AZs.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import accumulate
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
        if self.pod_subnet_id:
            return (self.subnet_id, self.subnet_ips), (self.pod_subnet_id, self.pod_subnet_ips)
        return ((self.subnet_id, self.subnet_ips),)


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
            start = self.new_node(0).steady_total
            num, den = 1, 1  # overflow pods cost at least one address each
            for pods in range(1, self.pod_capacity + 1):
                grown = self.new_node(pods).steady_total - start
                if grown * den < num * pods:
                    num, den = grown, pods
            self._slope = Fraction(num, den)
        return self._slope

    def overflow_ips(self, overflow: int) -> int:
        """Addresses that pods with no room on the new nodes add on the staying nodes."""
        if overflow <= 0:
            return 0
        g = self.group
        grown = node_addresses(g.instance_type, g.cni, overflow).subnet_ips
        return max(grown - node_addresses(g.instance_type, g.cni, 0).subnet_ips, overflow)


@lru_cache(maxsize=256)
def _shared_sizer(inst: InstanceType, cni: CniSettings, kubelet_max_pods: int | None) -> _Sizer:
    stub = NodeGroupRoll(
        name="",
        instance_type=inst,
        cni=cni,
        subnet_ids=(),
        nodes=(),
        kubelet_max_pods=kubelet_max_pods,
    )
    return _Sizer(stub)


def _sizer(group: NodeGroupRoll) -> _Sizer:
    """The sizer for ``group``'s new nodes, shared by groups with the same ones."""
    return _shared_sizer(group.instance_type, group.cni, group.kubelet_max_pods)


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
    if len(node_subnets) == 1 and k:  # one subnet: all k there, if its slack allows
        (target,) = node_subnets
        if free[target] - reserve < k * nn.node_ips:
            return None
        demand = {target: k * nn.node_ips}
        steady = {target: k * nn.steady_node_ips}
        counts = {target: k}
    else:
        demand, steady, counts = {}, {}, {}
        heap = [(-(free[s] - reserve), s) for s in node_subnets]
        heapq.heapify(heap)
        for _ in range(k):
            neg_slack, s = heap[0]
            if -neg_slack < nn.node_ips:
                return None
            heapq.heapreplace(heap, (neg_slack + nn.node_ips, s))
            demand[s] = demand.get(s, 0) + nn.node_ips
            steady[s] = steady.get(s, 0) + nn.steady_node_ips
            counts[s] = counts.get(s, 0) + 1
        target = heap[0][1]
    target = pod_subnet or target
    if nn.pod_ips:
        demand[target] = demand.get(target, 0) + k * nn.pod_ips
        steady[target] = steady.get(target, 0) + k * nn.steady_pod_ips
    extra = sizer.overflow_ips(overflow)
    if extra:
        demand[target] = demand.get(target, 0) + extra
        steady[target] = steady.get(target, 0) + extra
    for s, d in demand.items():
        if free[s] - d < reserve:
            return None
    return _Placement(counts, demand, steady, overflow, per_node)


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


def _largest_from(
    hint: int, limit: int, attempt: Callable[[int], T | None]
) -> tuple[int, T | None]:
    """Like :func:`_largest` for an ``attempt`` that succeeds for every ``k`` up to
    some point and fails above it, starting at ``hint`` (the last wave's size):
    two attempts when the size is unchanged."""
    k = min(max(hint, 1), limit)
    found = attempt(k)
    if found is None:
        return _largest(k - 1, attempt)
    best, step = k, 1
    while best < limit:
        probe = min(best + step, limit)
        result = attempt(probe)
        if result is None:
            lo, hi = best + 1, probe - 1
            while lo <= hi:
                mid = (lo + hi) // 2
                result = attempt(mid)
                if result is not None:
                    best, found, lo = mid, result, mid + 1
                else:
                    hi = mid - 1
            break
        best, found, step = probe, result, step * 2
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
    sizer = _sizer(group)
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
    return list(accumulate(values, initial=0))


_Layout = Mapping[str, tuple[list[str], str | None, list[Node]]]


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


def _held_in(node: Node, subnet_ids: Container[str]) -> int:
    """Addresses ``node`` holds in the given subnets."""
    return sum(ips for sid, ips in node.holdings() if sid in subnet_ids)


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
    bounds = _group_lower_bounds(subnets, groups, reserve)
    return None if None in bounds else sum(b or 0 for b in bounds)


def _group_lower_bounds(
    subnets: Sequence[Subnet],
    groups: Sequence[NodeGroupRoll],
    reserve: int,
    layouts: Sequence[_Layout] | None = None,
) -> list[int | None]:
    """:func:`lower_bound_waves` group by group (None: that group cannot start);
    ``layouts`` are the groups' :func:`_group_layout`, if already made."""
    by_id = {s.id: s for s in subnets}
    credited = {s.id: s.free_ips for s in subnets}
    out: list[int | None] = []
    for i, g in enumerate(groups):
        layout = _group_layout(g, by_id) if layouts is None else layouts[i]
        out.append(_group_lower_bound(_sizer(g), g, layout, credited, reserve))
        for n in g.nodes:  # later groups may use what this group's old nodes held
            for sid, ips in n.holdings():
                credited[sid] += ips
    return out


def _group_lower_bound(
    sizer: _Sizer,
    g: NodeGroupRoll,
    layout: _Layout,
    credited: Mapping[str, int],
    reserve: int,
) -> int | None:
    """Fewest waves for one group, its AZs in parallel, from ``credited`` free
    addresses; None if some AZ cannot replace even one node."""
    least_steady = sizer.new_node(0).steady_total
    slope = sizer.least_slope()
    num, den = slope.numerator, slope.denominator  # back[n] below is scaled by den
    worst = 0
    for node_subnets, pod_subnet, nodes in layout.values():
        if not nodes:
            continue
        az_subnets = [*node_subnets, *([pod_subnet] if pod_subnet else [])]
        slack0 = sum(max(credited[s] - reserve, 0) for s in az_subnets)
        single = len(node_subnets) == 1 and pod_subnet is None
        in_az = set(az_subnets)
        back = sorted(
            (
                max(
                    _held_in(n, in_az) * den
                    - ((least_steady * den + num * n.pods) if single else 0),
                    0,
                )
                for n in nodes
            ),
            reverse=True,
        )
        limit = _wave_limit(g, len(nodes))
        gains = [0]
        running = 0
        for b in back:
            running += b
            gains.append(ceil_div(running, den))
        waves = _az_lower_bound(sizer, slack0, gains, sorted(n.pods for n in nodes), limit)
        if waves is None:
            return None
        worst = max(worst, waves)
    return worst


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


@dataclass(slots=True)
class _Choice:
    """What one AZ drains in one wave, and where the new nodes go."""

    drained: list[Node]
    placement: _Placement
    displaced: int
    rest: list[Node]  # the AZ's nodes still to drain, in the same order


def _name_order_wave(
    sizer: _Sizer,
    free: Mapping[str, int],
    node_subnets: Sequence[str],
    pod_subnet: str | None,
    nodes: Sequence[Node],
    limit: int,
    reserve: int,
) -> _Choice | None:
    """The longest safe run of ``nodes`` in name order."""
    prefix = _prefix_sums(n.pods for n in nodes[:limit])
    k, placement = _largest_wave(sizer, free, node_subnets, pod_subnet, prefix, limit, reserve)
    if k == 0 or placement is None:
        return None
    return _Choice(list(nodes[:k]), placement, prefix[k], list(nodes[k:]))


def _packed_wave(
    sizer: _Sizer,
    free: Mapping[str, int],
    node_subnets: Sequence[str],
    pod_subnet: str | None,
    asc: Sequence[Node],
    limit: int,
    reserve: int,
    hint: int,
    big_first: bool = False,
) -> _Choice | None:
    """As many nodes as the emptiest allow; of the sets that large, the fullest
    that still fits, taken fullest first. Full nodes go while the wave has room
    for their pods; the emptier ones left pack more to a wave later. With
    ``big_first``, as many as fit with the fullest node, while it fits at all
    (for when waves leave fewer addresses free than they find).

    ``asc`` is ordered by pods, then name; ``hint`` is the last wave's size."""
    prefix = _prefix_sums(n.pods for n in asc[:limit])

    def attempt(k: int) -> _Placement | None:
        return _place(sizer, free, node_subnets, pod_subnet, k, prefix[k], reserve)

    # The emptiest k nodes' pods per new node grow with k, so their demand does too.
    k, placement = _largest_from(hint, limit, attempt)
    if k == 0 or placement is None:
        return None
    seed, seed_pods = list(asc[:k]), prefix[k]  # k nodes that fit
    if big_first and len(asc) > 1:
        big = [asc[-1], *asc[: min(limit, len(asc)) - 1]]
        with_big = _prefix_sums(n.pods for n in big)
        for j in range(len(big), 0, -1):  # not monotone in j: small nodes lower the mean
            found = _place(sizer, free, node_subnets, pod_subnet, j, with_big[j], reserve)
            if found is not None:
                k, placement, seed, seed_pods = j, found, big[:j], with_big[j]
                break

    def fits(pods: int) -> _Placement | None:
        return _place(sizer, free, node_subnets, pod_subnet, k, pods, reserve)

    most = sum(n.pods for n in asc[len(asc) - k :])
    budget = _most_pods(fits, k, seed_pods, most, sizer.pod_capacity)
    # Fullest first; a node is taken if the emptiest of those not yet considered
    # can still complete the set within the budget (the emptiest k always can).
    chosen: list[Node] = []
    total = 0
    for i in range(len(asc) - 1, -1, -1):
        need = k - len(chosen) - 1
        if need < 0:
            break
        if total + asc[i].pods + prefix[need] <= budget:
            chosen.append(asc[i])
            total += asc[i].pods
    packed = fits(total) if total != seed_pods else placement
    if packed is None:  # demand did not grow with pods after all: keep the seed
        chosen, total, packed = seed, seed_pods, placement
    gone = {n.name for n in chosen}
    rest = [n for n in asc if n.name not in gone]
    return _Choice(sorted(chosen, key=lambda n: n.name), packed, total, rest)


def _most_pods(
    fits: Callable[[int], _Placement | None], k: int, known: int, most: int, capacity: int
) -> int:
    """The most pods (up to ``most``) ``k`` new nodes can take, ``known`` pods being
    known to fit. Demand grows with the pods per new node, ceil(pods / k), so search
    those: ``k * p`` pods for ``p`` per node."""
    if most <= known:
        return known
    if fits(most) is not None:
        return most
    lo, hi = ceil_div(known, k), ceil_div(most, k) - 1
    if lo > capacity:  # overflow: keep what is known
        return known
    while lo < hi:  # k * lo pods fit: as many per node as the known pods need
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(k * mid) is not None else (lo, mid - 1)
    return max(known, min(k * lo, most))


@dataclass(slots=True)
class _GroupRoll:
    """One group's waves, blockers and the free addresses it leaves."""

    waves: list[Wave]
    blockers: list[Blocker]
    free: dict[str, int]
    steps: dict[str, int]  # waves each AZ takes part in
    left: dict[str, int]  # nodes each blocked AZ leaves at the old version
    packed: frozenset[str]  # the AZs not rolled in name order

    def key(self) -> tuple[int, int]:
        """Fewer nodes left behind first, then fewer waves."""
        return sum(self.left.values()), len(self.waves)

    def az_key(self, az: str) -> tuple[int, int]:
        return self.left.get(az, 0), self.steps.get(az, 0)


def _roll_group(
    g: NodeGroupRoll,
    sizer: _Sizer,
    layout: _Layout,
    by_id: Mapping[str, Subnet],
    start: Mapping[str, int],
    reserve: int,
    first: int,
    packed: frozenset[str],
    big_first: bool = False,
) -> _GroupRoll:
    """Roll ``g`` from the free addresses ``start``, every AZ in parallel, each wave
    the largest that keeps every subnet at or above ``reserve`` at its peak: in name
    order, or packed (:func:`_packed_wave`, ``big_first`` or not) in the AZs named
    in ``packed``."""
    free = dict(start)
    remaining = {
        az: (ns, ps, sorted(nodes, key=lambda n: (n.pods, n.name)) if az in packed else nodes)
        for az, (ns, ps, nodes) in layout.items()
        if nodes
    }
    waves: list[Wave] = []
    blockers: list[Blocker] = []
    steps_per_az: dict[str, int] = defaultdict(int)
    last: dict[str, int] = {}
    left: dict[str, int] = {}
    while remaining:
        steps: list[AzStep] = []
        peak: dict[str, int] = defaultdict(int)
        released: dict[str, int] = defaultdict(int)
        steady: dict[str, int] = defaultdict(int)
        for az in sorted(remaining):
            node_subnets, pod_subnet, nodes = remaining[az]
            own = [*node_subnets, pod_subnet] if pod_subnet else node_subnets
            before = {s: free[s] - peak.get(s, 0) for s in own}  # what earlier AZs left
            limit = _wave_limit(g, len(nodes))
            if az in packed:
                hint = last.get(az, 1)
                choice = _packed_wave(
                    sizer, before, node_subnets, pod_subnet, nodes, limit, reserve, hint, big_first
                )
            else:
                choice = _name_order_wave(
                    sizer, before, node_subnets, pod_subnet, nodes, limit, reserve
                )
            if choice is None:
                # the first node the AZ would drain: the emptiest when packed
                sid, demand = _tightest(sizer, before, node_subnets, pod_subnet, nodes[0].pods)
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
                left[az] = len(nodes)
                del remaining[az]
                continue
            drained, placement, rest = choice.drained, choice.placement, choice.rest
            remaining[az] = (node_subnets, pod_subnet, rest)
            last[az] = len(drained)
            for s, d in placement.demand.items():
                peak[s] += d
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
                    displaced_pods=choice.displaced,
                    pods_per_new_node=placement.per_node_pods,
                    overflow_pods=placement.overflow,
                )
            )
            steps_per_az[az] += 1
            if not rest:
                del remaining[az]
        if not steps:
            break
        budgets = _settle(free, by_id, peak, steady, released, reserve)
        waves.append(
            Wave(index=first + len(waves), group=g.name, steps=tuple(steps), budgets=budgets)
        )
    return _GroupRoll(waves, blockers, free, dict(steps_per_az), left, packed)


def _settle(
    free: dict[str, int],
    by_id: Mapping[str, Subnet],
    peak: Mapping[str, int],
    steady: Mapping[str, int],
    released: Mapping[str, int],
    reserve: int,
) -> tuple[SubnetBudget, ...]:
    """End a wave: the budget of every subnet it touched; ``free`` moves on."""
    budgets = []
    for s in sorted(set(peak) | set(released)):
        after = free[s] - steady.get(s, 0) + released.get(s, 0)
        budgets.append(
            SubnetBudget(
                subnet_id=s,
                az=by_id[s].az,
                free_before=free[s],
                peak_demand=peak.get(s, 0),
                released=released.get(s, 0),
                free_after=after,
                reserve=reserve,
            )
        )
        free[s] = after
    return tuple(budgets)


def _best_roll(
    g: NodeGroupRoll,
    layout: _Layout,
    by_id: Mapping[str, Subnet],
    free: Mapping[str, int],
    reserve: int,
    first: int,
    bound: int | None,
) -> _GroupRoll:
    """The name-order roll, unless packing leaves fewer nodes behind or takes fewer
    waves; then every AZ is packed, or, where packing does worse in some AZ, only
    the AZs that gain."""
    sizer = _sizer(g)

    def roll(packed: frozenset[str], big_first: bool = False) -> _GroupRoll:
        return _roll_group(g, sizer, layout, by_id, free, reserve, first, packed, big_first)

    by_name = roll(frozenset())
    if not by_name.left and len(by_name.waves) <= max(bound or 0, 1):
        return by_name  # already the fewest waves there can be
    azs = frozenset(az for az, lay in layout.items() if lay[2])
    packed, big_first = roll(azs), False
    if packed.left:  # the fullest nodes, left for last, may no longer fit: try them first
        big = roll(azs, big_first=True)
        if big.key() < packed.key():
            packed, big_first = big, True
    if packed.key() >= by_name.key():
        return by_name
    if all(packed.az_key(az) <= by_name.az_key(az) for az in azs):
        return packed
    gain = frozenset(az for az in azs if packed.az_key(az) < by_name.az_key(az))
    mixed = roll(gain, big_first)
    return mixed if mixed.key() <= packed.key() else packed


def plan_roll(subnets: Sequence[Subnet], groups: Sequence[NodeGroupRoll], reserve: int) -> RollPlan:
    """Waves for rolling ``groups`` one after another, every AZ of a group in
    parallel, each wave the largest that keeps every subnet at or above
    ``reserve`` free addresses at its peak.

    An AZ drains its nodes in name order, unless packing its waves
    (:func:`_packed_wave`) takes the group fewer waves or leaves fewer nodes
    blocked; a name-order roll already at the group's lower bound stands. Where
    a packed group shares subnets with a later group, the whole plan must also
    beat the all-name-order plan, or that plan stands."""
    by_id = {s.id: s for s in subnets}
    layouts = [_group_layout(g, by_id) for g in groups]
    bounds = _group_lower_bounds(subnets, groups, reserve, layouts)
    start = {s.id: s.free_ips for s in subnets}
    rolls = _roll_groups(groups, layouts, by_id, start, reserve, bounds, [])
    packed = [i for i, r in enumerate(rolls) if r.packed]
    if packed:
        touched = [_touched(g, layout) for g, layout in zip(groups, layouts, strict=True)]
        first = packed[0]
        if any(touched[i] & touched[j] for i in packed for j in range(i + 1, len(groups))):
            plain = _roll_groups(
                groups,
                layouts,
                by_id,
                rolls[first - 1].free if first else start,
                reserve,
                None,
                rolls[:first],
            )
            if _plan_key(rolls) >= _plan_key(plain):
                rolls = plain
    return RollPlan(
        waves=tuple(w for r in rolls for w in r.waves),
        blockers=tuple(b for r in rolls for b in r.blockers),
        free_after=dict(rolls[-1].free if rolls else start),
        lower_bound_waves=None if None in bounds else sum(b or 0 for b in bounds),
    )


def _roll_groups(
    groups: Sequence[NodeGroupRoll],
    layouts: Sequence[_Layout],
    by_id: Mapping[str, Subnet],
    free: Mapping[str, int],
    reserve: int,
    bounds: Sequence[int | None] | None,
    done: list[_GroupRoll],
) -> list[_GroupRoll]:
    """Roll the groups after ``done`` one after another from ``free``: each its
    :func:`_best_roll` given its lower bound in ``bounds``, or in name order
    without ``bounds``."""
    rolls = list(done)
    for i in range(len(done), len(groups)):
        g, layout = groups[i], layouts[i]
        first = sum(len(r.waves) for r in rolls) + 1
        if bounds is None:
            sizer = _sizer(g)
            roll = _roll_group(g, sizer, layout, by_id, free, reserve, first, frozenset())
        else:
            roll = _best_roll(g, layout, by_id, free, reserve, first, bounds[i])
        rolls.append(roll)
        free = roll.free
    return rolls


def _touched(g: NodeGroupRoll, layout: _Layout) -> set[str]:
    """Every subnet a group's roll reads or changes."""
    out = {sid for n in g.nodes for sid, _ in n.holdings()}
    for node_subnets, pod_subnet, _ in layout.values():
        out.update(node_subnets)
        if pod_subnet:
            out.add(pod_subnet)
    return out


def _plan_key(rolls: Sequence[_GroupRoll]) -> tuple[int, int]:
    """Fewer nodes left behind first, then fewer waves."""
    return sum(sum(r.left.values()) for r in rolls), sum(len(r.waves) for r in rolls)
