"""Wave-gap benchmark: how far is the wave planner from the exact fewest waves?

``upgrader.capacity.waves.plan_roll`` rolls a node group greedily: in every AZ, each
wave is the largest that keeps every subnet at or above the reserve at its peak, its
nodes taken in name order or, where that takes the group fewer waves, packed (as many
as the emptiest nodes allow, the fullest that still fit). ``lower_bound_waves`` is a
cheap bound on what any safe roll needs. Neither says how far off the other is. This
script measures it on small seeded random instances (one node group, 1-3 AZs, 2-12
nodes, one or two node subnets per AZ, with or without custom networking, instance types
and CNI settings drawn from the bundled catalog and ``CniSettings``, free addresses from
"barely one new node" to "everything fits", with or without ``max_surge``) by solving
each one exactly as a mixed-integer programme with HiGHS (``highspy``, in the ``dev``
extras).

The MIP (:func:`exact_waves`, :class:`_AzModel`) is the planner's own feasibility rules,
derived from the planner's own helpers so that it cannot drift from them: new nodes'
peak and steady addresses from ``_Sizer.new_node`` (``node_addresses`` with the peak,
custom-networking split and kubelet max pods the planner uses), the AZ layout from
``_group_layout``, old nodes' addresses from ``Node.holdings``, the surge cap from
``_wave_limit``. What the solver may choose freely is what a safe roll may choose: which
nodes go in which wave (any order), how many per wave, and on which node subnet each new
node lands. It must keep what every wave does: the ``k`` drained nodes' pods spread
evenly on ``k`` new nodes (``ceil(pods / k)`` each), every subnet a wave takes addresses
from left with at least the reserve at the peak, and the new nodes' steady addresses
kept and the old nodes' given back once the wave ends. Every instance is drawn so that
each old node's pods fit one new node (no wave overflows onto staying nodes): the MIP
does not model overflow and refuses an instance that could.

Checked both ways in every run: the MIP looks for rolls of at most as many waves as the
planner's plan, which is one of its solutions, so an instance where it finds none means
the models disagree and the script stops; and every exact optimum is replayed through
the planner's ``_place`` (on the MIP's node subnets, and on the planner's own choice).
Instances where the planner blocks are solved with up to one wave per node and reported
apart (a safe roll the planner missed, or none at all).

Printed, all measured in this one run: per size bucket the count, mean optimum and
planner waves, mean and worst gap (planner waves - optimum), instances at the optimum and
instances where ``lower_bound_waves`` equals it; overall mean and worst gap; whether the
target holds; whether the bound ever exceeds the optimum (then it is no bound); and the
instances where the solver hit its time limit (left out of the gap table).

Target: within +1 wave of the exact optimum on every small instance.

Out of reach: the capacity_waves.py 5,000-node instance (25 groups, 100 subnets) is far
beyond an exact MIP of this form (thousands of nodes times hundreds of waves of
binaries); this script does not try it, so planner-vs-optimum is known on small
instances only. About 30-60 s on the 2-core machine (under 3 minutes when loaded).

    python benchmarks/wave_gap.py [--instances 240] [--seed 15] [--time-limit 20]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import pairwise
from typing import Any

import highspy

from upgrader.capacity.node import node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.capacity.waves import (
    Node,
    NodeGroupRoll,
    RollPlan,
    Subnet,
    _group_layout,
    _NewNode,
    _place,
    _Placement,
    _Sizer,
    _wave_limit,
    plan_roll,
)
from upgrader.catalog import instances
from upgrader.catalog.instances import InstanceType
from upgrader.semver import Version

TARGET_GAP = 1  # planner waves - optimum, on every small instance
BUCKETS = ((2, 4), (5, 8), (9, 12))  # nodes per instance
VERSIONS = ("v1.3.2", "v1.5.5", "v1.10.1", "v1.19.0")


# --- instances ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instance:
    """One group to roll over its subnets, and how it was drawn."""

    subnets: tuple[Subnet, ...]
    group: NodeGroupRoll
    reserve: int
    label: str = ""

    @property
    def nodes(self) -> int:
        return len(self.group.nodes)


@cache
def _usable_types(cni: CniSettings) -> tuple[InstanceType, ...]:
    """Catalog types whose new nodes have a pod ENI and room for a few pods."""
    out = []
    for inst in instances.bundled().types.values():
        if inst.secondary_ips_per_eni < 1 or inst.max_enis < 1:
            continue
        if _Sizer(_probe_group(inst, cni)).pod_capacity >= 4:
            out.append(inst)
    return tuple(sorted(out, key=lambda t: t.name))


def _probe_group(inst: InstanceType, cni: CniSettings) -> NodeGroupRoll:
    return NodeGroupRoll(name="probe", instance_type=inst, cni=cni, subnet_ids=(), nodes=())


def random_cni(rng: random.Random) -> CniSettings:
    """aws-node settings in the variety the planner meets."""
    version = Version.parse(rng.choice(VERSIONS))
    pd = rng.random() < 0.2
    ip_mode = not pd and rng.random() < 0.3
    return CniSettings(
        version=version,
        warm_eni_target=rng.choice((None, 0, 1, 1, 2)),
        warm_ip_target=rng.choice((None, 1, 2, 5, 10)) if ip_mode else None,
        minimum_ip_target=rng.choice((None, 0, 5, 20)) if ip_mode else None,
        warm_prefix_target=rng.choice((None, 0, 1)) if pd else None,
        prefix_delegation=pd,
        custom_networking=rng.random() < 0.2,
    )


def random_instance(rng: random.Random, label: str = "") -> Instance:
    """A small random roll: 1 group, 1-3 AZs, 2-12 nodes, free addresses per subnet
    from barely one new node to everything at once."""
    cni = random_cni(rng)
    types = _usable_types(cni)
    inst = rng.choice(types)
    old_inst = inst if rng.random() < 0.5 else rng.choice(types)
    old_cni = cni if rng.random() < 0.5 else replace_version(cni, "v1.3.2")
    group_stub = _probe_group(inst, cni)
    capacity = _Sizer(group_stub).pod_capacity
    old_capacity = _Sizer(_probe_group(old_inst, old_cni)).pod_capacity
    max_node_pods = min(capacity, old_capacity, rng.choice((8, 20, 30, 60)))
    azs = [f"az{chr(ord('a') + i)}" for i in range(rng.randint(1, 3))]
    subnets: list[Subnet] = []
    node_subnets: dict[str, list[str]] = {}
    pod_subnets: dict[str, str] = {}
    for az in azs:
        node_subnets[az] = [f"s-{az}{k}" for k in range(rng.choice((1, 1, 2)))]
        if cni.custom_networking:
            pod_subnets[az] = f"p-{az}"
    n = rng.randint(2, 12)
    nodes = []
    for i in range(n):
        az = azs[i % len(azs)] if rng.random() < 0.7 else rng.choice(azs)
        sid = rng.choice(node_subnets[az])
        pods = rng.randint(0, max_node_pods)
        held = node_addresses(old_inst, old_cni, pods)
        pod_sid = pod_subnets.get(az)
        nodes.append(
            Node(
                name=f"ip-{i:02}",
                subnet_id=sid,
                pods=pods,
                subnet_ips=held.node_subnet_ips if pod_sid else held.subnet_ips,
                pod_subnet_id=pod_sid,
                pod_subnet_ips=held.pod_subnet_ips if pod_sid else 0,
            )
        )
    # Free addresses: a reserve plus room for between one new node (of the AZ's fullest
    # old node) and every new node of the AZ at once, squared towards the tight end.
    reserve = rng.choice((0, 4, 8, 16))
    sizer = _Sizer(group_stub)
    for az in azs:
        az_nodes = [nd for nd in nodes if nd.subnet_id in node_subnets[az]]
        top = sizer.new_node(max((nd.pods for nd in az_nodes), default=0))
        everything = [sizer.new_node(nd.pods) for nd in az_nodes]
        share = len(node_subnets[az])
        for sid in node_subnets[az]:
            lo = top.node_ips
            hi = max(lo, math.ceil(sum(e.node_ips for e in everything) / share))
            free = reserve + lo + round((hi - lo) * rng.random() ** 2)
            subnets.append(Subnet(id=sid, az=az, free_ips=free))
        if az in pod_subnets:
            lo = top.pod_ips
            hi = max(lo, sum(e.pod_ips for e in everything))
            free = reserve + lo + round((hi - lo) * rng.random() ** 2)
            subnets.append(Subnet(id=pod_subnets[az], az=az, free_ips=free))
    group = NodeGroupRoll(
        name="ng",
        instance_type=inst,
        cni=cni,
        subnet_ids=tuple(s for az in azs for s in node_subnets[az]),
        nodes=tuple(nodes),
        max_surge=rng.choice((None, None, None, 1, 2, 3)),
        pod_subnet_by_az=pod_subnets or None,
    )
    return Instance(subnets=tuple(subnets), group=group, reserve=reserve, label=label)


def replace_version(cni: CniSettings, version: str) -> CniSettings:
    return replace(cni, version=Version.parse(version))


# --- the exact model -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Level:
    """New nodes that hold the same addresses: every per-node pod count up to ``top``
    (and above the previous level's) gives ``new``."""

    top: int
    new: _NewNode


def levels(sizer: _Sizer, most_pods: int) -> list[Level]:
    """The distinct new-node address tuples for 0..most_pods pods per new node, each
    with the most pods it covers. ``node_addresses`` is non-decreasing in pods, so
    each tuple covers a contiguous range of pod counts."""
    out: list[Level] = []
    for pods in range(most_pods + 1):
        nn = sizer.new_node(pods)
        if out and out[-1].new == nn:
            out[-1] = Level(top=pods, new=nn)
        else:
            out.append(Level(top=pods, new=nn))
    return out


@dataclass(slots=True)
class Exact:
    """What the solver found: ``waves`` (None: no safe roll within ``max_waves``),
    whether it proved it, and its best bound when it ran out of time."""

    waves: int | None
    status: str
    proven: bool
    bound: int | None
    seconds: float
    assignment: dict[str, int] = field(default_factory=dict)  # node -> 0-based wave
    placement: dict[tuple[int, str], int] = field(default_factory=dict)  # new nodes


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner from C++ when the first solver is made."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def exact_waves(
    subnets: Sequence[Subnet],
    group: NodeGroupRoll,
    reserve: int,
    max_waves: int | Mapping[str, int],
    time_limit: float = 20.0,
    fixed: Mapping[str, int] | None = None,
) -> Exact:
    """The fewest waves any safe roll of ``group`` can take, at most ``max_waves``
    (one number, or one per AZ).

    Every subnet is in one AZ and every wave rolls all AZs of the group in parallel,
    so the AZs share nothing but the wave count: the group's fewest waves is the most
    of any AZ's, and each AZ is its own (much smaller) MIP. ``fixed`` (node name ->
    0-based wave) pins the assignment, so the model only checks that roll is safe.
    """
    by_id = {s.id: s for s in subnets}
    sizer = _Sizer(group)
    parts = []
    for az, (node_subnets, pod_subnet, nodes) in sorted(_group_layout(group, by_id).items()):
        if not nodes:
            continue
        cap = max_waves if isinstance(max_waves, int) else max_waves[az]
        model = _AzModel(by_id, sizer, group, az, (node_subnets, pod_subnet, nodes), reserve)
        parts.append(model.solve(cap, time_limit, fixed))
    seconds = sum(p.seconds for p in parts)
    if any(p.proven and p.waves is None for p in parts):
        return Exact(None, "infeasible", True, None, seconds)
    proven = all(p.proven for p in parts)
    found = [p.waves for p in parts]
    waves = None if None in found else max((w or 0 for w in found), default=0)
    bound = max((p.bound or 0 for p in parts), default=0)
    status = "optimal" if proven else next(p.status for p in parts if not p.proven)
    assignment = {n: w for p in parts for n, w in p.assignment.items()}
    placement = {key: c for p in parts for key, c in p.placement.items()}
    return Exact(waves, status, proven, bound, seconds, assignment, placement)


class _AzModel:
    """The MIP for one AZ of a group: the fewest waves that replace its old nodes.

    Variables, for waves w = 0..W-1 (W: at most as many as the planner takes):
      used[w]      binary   wave w drains at least one node of the AZ
      x[n, w]      binary   old node n is drained in wave w
      v[w, l]      binary   wave w's new nodes are all of level l (see :func:`levels`)
      y[s, w, l]   integer  new nodes of level l launched in node subnet s in wave w
      took[s, w]   binary   wave w takes addresses in s (only for a subnet that starts
                            below the reserve; see :meth:`_reserve`)
    Objective: minimise sum(used).
    """

    def __init__(
        self,
        by_id: Mapping[str, Subnet],
        sizer: _Sizer,
        group: NodeGroupRoll,
        az: str,
        layout: tuple[list[str], str | None, list[Node]],
        reserve: int,
    ) -> None:
        self.by_id, self.sizer, self.group, self.reserve = by_id, sizer, group, reserve
        self.node_subnets, self.pod_subnet, self.nodes = layout
        most = max(n.pods for n in self.nodes)
        if most > sizer.pod_capacity:
            raise ValueError(f"{az}: a node's {most} pods overflow a new node; not modelled")
        if group.cni.custom_networking and sizer.new_node(most).pod_ips and not self.pod_subnet:
            raise ValueError(f"{az}: custom networking without a pod subnet; not modelled")
        self.touched = {sid for n in self.nodes for sid, _ in n.holdings()}
        self.touched |= {*self.node_subnets, *([self.pod_subnet] if self.pod_subnet else [])}
        if any(by_id[sid].az != az for sid in self.touched):
            raise ValueError(f"{az}: a node holds addresses in another AZ; not modelled")
        # Pods per new node are ceil(drained pods / drained nodes): never below the
        # emptiest node's pods nor above the fullest's, so only those levels occur.
        least = min(n.pods for n in self.nodes)
        self.levels = [lev for lev in levels(sizer, most) if lev.top >= least]
        self.top = sizer.new_node(most)  # the most one new node can take

    def solve(self, max_waves: int, time_limit: float, fixed: Mapping[str, int] | None) -> Exact:
        with _quiet_stdout():
            h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.silent()
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        self.h, self.waves = h, range(max_waves)
        self.demand: dict[tuple[str, int], Any] = {}  # addresses a wave takes at its peak
        self.steady: dict[tuple[str, int], Any] = {}  # of which its new nodes keep
        self.released: dict[tuple[str, int], Any] = {}  # what its old nodes give back
        self.launched: dict[tuple[int, str], list[Any]] = {}  # y by level, for the answer
        self._assignment(fixed)
        for w in self.waves:
            self._wave(w)
        self._reserve()
        started = time.perf_counter()
        h.minimize(sum(self.used))
        return self._answer(time.perf_counter() - started)

    def _assignment(self, fixed: Mapping[str, int] | None) -> None:
        h, waves, nodes = self.h, self.waves, self.nodes
        # Waves are used front to back (an empty wave changes nothing, so any roll can
        # be compacted); every node is drained exactly once, in a used wave.
        self.used = [h.addBinary(name=f"used[{w}]") for w in waves]
        for w in waves[1:]:
            h.addConstr(self.used[w] <= self.used[w - 1])
        self.x = {(n.name, w): h.addBinary(name=f"x[{n.name},{w}]") for n in nodes for w in waves}
        for n in nodes:
            h.addConstr(sum(self.x[n.name, w] for w in waves) == 1)
            if fixed is not None:
                h.addConstr(self.x[n.name, fixed[n.name]] == 1)
            for w in waves:
                h.addConstr(self.x[n.name, w] <= self.used[w])
        # Two cuts that remove no roll, only help the solver: at most max_surge nodes
        # a wave; nodes alike in every figure are interchangeable, so keep them in
        # name order (not when the roll is pinned).
        h.addConstr(sum(self.used) >= math.ceil(len(nodes) / _wave_limit(self.group, len(nodes))))
        if fixed is not None:
            return
        alike = sorted(nodes, key=lambda n: (n.subnet_id, n.pods, n.holdings(), n.name))
        for a, b in pairwise(alike):
            if (a.subnet_id, a.pods, a.holdings()) == (b.subnet_id, b.pods, b.holdings()):
                wave_of_a = sum(w * self.x[a.name, w] for w in waves)
                h.addConstr(wave_of_a <= sum(w * self.x[b.name, w] for w in waves))

    def _add(self, table: dict[tuple[str, int], Any], key: tuple[str, int], term: Any) -> None:
        table[key] = table[key] + term if key in table else term

    def _wave(self, w: int) -> None:
        h, lv, nodes, x = self.h, self.levels, self.nodes, self.x
        drained = sum(x[n.name, w] for n in nodes)
        pods = sum(n.pods * x[n.name, w] for n in nodes)
        # One level for all the wave's new nodes: they all get ceil(pods / k) pods.
        v = [h.addBinary(name=f"v[{w},{i}]") for i in range(len(lv))]
        h.addConstr(sum(v) <= 1)
        # The solver places the new nodes on the node subnets (the planner puts each
        # on the subnet with the most slack).
        y = {
            (s, i): h.addIntegral(lb=0, ub=len(nodes), name=f"y[{s},{w},{i}]")
            for s in self.node_subnets
            for i in range(len(lv))
        }
        for s in self.node_subnets:
            self.launched[w, s] = [y[s, i] for i in range(len(lv))]
        count = [sum(y[s, i] for s in self.node_subnets) for i in range(len(lv))]
        for i in range(len(lv)):
            h.addConstr(count[i] <= len(nodes) * v[i])
        # one new node per drained node, at most max_surge of them a wave
        h.addConstr(sum(count) == drained)
        h.addConstr(drained <= _wave_limit(self.group, len(nodes)))
        # ceil(pods / k) <= top of the level  <=>  pods <= k * top. A higher level than
        # needed only takes more addresses (peak and steady), so "<=" is exact.
        h.addConstr(pods <= sum(lv[i].top * count[i] for i in range(len(lv))))
        # the new nodes' addresses, peak and steady, per node subnet ...
        for s in self.node_subnets:
            self._add(
                self.demand, (s, w), sum(lv[i].new.node_ips * y[s, i] for i in range(len(lv)))
            )
            self._add(
                self.steady,
                (s, w),
                sum(lv[i].new.steady_node_ips * y[s, i] for i in range(len(lv))),
            )
        # ... and on the AZ's pod subnet under custom networking
        if self.pod_subnet is not None:
            pod = (self.pod_subnet, w)
            self._add(self.demand, pod, sum(lv[i].new.pod_ips * count[i] for i in range(len(lv))))
            self._add(
                self.steady, pod, sum(lv[i].new.steady_pod_ips * count[i] for i in range(len(lv)))
            )
        # the drained nodes' addresses come back when the wave ends
        for n in nodes:
            for sid, ips in n.holdings():
                self._add(self.released, (sid, w), ips * x[n.name, w])

    def _reserve(self) -> None:
        """Per subnet and wave: free is what is free when the wave starts (free now,
        minus the steady addresses of earlier waves' new nodes, plus what their old
        nodes gave back). A wave that takes addresses in s must leave at least the
        reserve there at its peak: free - demand >= reserve. A subnet at or above the
        reserve stays there (a wave keeps at most its peak, old nodes only give back),
        so the constraint can stand for every wave; one below it needs took = 1 only
        where the wave takes addresses there (big-M)."""
        h, reserve = self.h, self.reserve
        big_demand = (self.top.node_ips + self.top.pod_ips) * len(self.nodes)
        for s in sorted(self.touched):
            free: Any = float(self.by_id[s].free_ips)
            below = self.by_id[s].free_ips < reserve
            for w in self.waves:
                if (s, w) in self.demand:
                    if below:
                        big = reserve - self.by_id[s].free_ips + big_demand
                        took = h.addBinary(name=f"took[{s},{w}]")
                        h.addConstr(self.demand[s, w] <= big_demand * took)
                        h.addConstr(free - self.demand[s, w] >= reserve - big * (1 - took))
                    else:
                        h.addConstr(free - self.demand[s, w] >= reserve)
                    free = free - self.steady[s, w]
                if (s, w) in self.released:
                    free = free + self.released[s, w]

    def _answer(self, seconds: float) -> Exact:
        h = self.h
        status = h.getModelStatus()
        info = h.getInfo()
        if status == highspy.HighsModelStatus.kOptimal:
            value = round(info.objective_function_value)
            assignment = {
                n.name: next(w for w in self.waves if h.val(self.x[n.name, w]) > 0.5)
                for n in self.nodes
            }
            placement = {
                key: count
                for key, ys in self.launched.items()
                if (count := round(sum(h.val(y) for y in ys)))
            }
            return Exact(value, "optimal", True, value, seconds, assignment, placement)
        if status == highspy.HighsModelStatus.kInfeasible:
            return Exact(None, "infeasible", True, None, seconds)
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        found = round(info.objective_function_value) if has_solution else None
        dual = info.mip_dual_bound
        bound = math.ceil(dual - 1e-6) if math.isfinite(dual) else 0
        return Exact(found, h.modelStatusToString(status), False, bound, seconds)


def planner_assignment(plan: RollPlan) -> dict[str, int]:
    """Node name -> 0-based wave of the planner's plan."""
    return {n: w.index - 1 for w in plan.waves for s in w.steps for n in s.drained}


def replay(
    inst: Instance,
    assignment: Mapping[str, int],
    placement: Mapping[tuple[int, str], int] | None = None,
) -> bool:
    """Whether a roll (node name -> 0-based wave) is safe by the planner's own
    arithmetic, free addresses carried from wave to wave as ``plan_roll`` does.

    New nodes go where ``placement`` ((wave, node subnet) -> new nodes) puts them,
    each subnet's share charged by the planner's ``_place``; without it, ``_place``
    places the whole AZ as the planner would (most slack first). The other way round
    from pinning the planner's plan in the MIP: is the exact optimum a roll the
    planner's arithmetic accepts?"""
    by_id = {s.id: s for s in inst.subnets}
    sizer = _Sizer(inst.group)
    free = {s.id: s.free_ips for s in inst.subnets}
    layout = _group_layout(inst.group, by_id)
    for w in range(max(assignment.values(), default=-1) + 1):
        demand: dict[str, int] = defaultdict(int)
        steady: dict[str, int] = defaultdict(int)
        released: dict[str, int] = defaultdict(int)
        for node_subnets, pod_subnet, nodes in layout.values():
            drained = [n for n in nodes if assignment[n.name] == w]
            parts = _replay_step(inst, sizer, free, w, node_subnets, pod_subnet, drained, placement)
            if parts is None:
                return False
            for part in parts:
                for sid, ips in part.demand.items():
                    demand[sid] += ips
                for sid, ips in part.steady.items():
                    steady[sid] += ips
            for n in drained:
                for sid, ips in n.holdings():
                    released[sid] += ips
        if any(free[sid] - d < inst.reserve for sid, d in demand.items() if d):
            return False
        for sid in set(steady) | set(released):
            free[sid] += released[sid] - steady[sid]
    return True


def _replay_step(
    inst: Instance,
    sizer: _Sizer,
    free: Mapping[str, int],
    w: int,
    node_subnets: Sequence[str],
    pod_subnet: str | None,
    drained: Sequence[Node],
    placement: Mapping[tuple[int, str], int] | None,
) -> list[_Placement] | None:
    """One AZ's part of a replayed wave, placed by ``_place``; None if unsafe."""
    k, pods = len(drained), sum(n.pods for n in drained)
    if not k:
        return []
    if inst.group.max_surge and k > inst.group.max_surge:
        return None
    if placement is None:
        parts = [_place(sizer, free, node_subnets, pod_subnet, k, pods, inst.reserve)]
    else:
        # each subnet's c new nodes carry ceil(pods / k) pods, as all k do
        per_node = -(-pods // k)
        counts = {s: placement.get((w, s), 0) for s in node_subnets}
        if sum(counts.values()) != k:
            return None
        parts = [
            _place(sizer, free, [s], pod_subnet, c, c * per_node, inst.reserve)
            for s, c in counts.items()
            if c
        ]
    return None if None in parts else [p for p in parts if p is not None]


# --- the run -------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    inst: Instance
    planner: int
    blocked: bool
    lower: int | None
    exact: Exact
    replayed: bool | None = None  # the exact roll, safe by the planner's arithmetic
    greedy: bool | None = None  # ... and with the planner's own placement

    @property
    def gap(self) -> int | None:
        if self.blocked or not self.exact.proven or self.exact.waves is None:
            return None
        return self.planner - self.exact.waves


def measure(inst: Instance, time_limit: float) -> Row:
    plan = plan_roll(inst.subnets, [inst.group], inst.reserve)
    by_id = {s.id: s for s in inst.subnets}
    blocked = {b.az for b in plan.blockers}
    steps: dict[str, int] = defaultdict(int)
    for wave in plan.waves:
        for step in wave.steps:
            steps[step.az] += 1
    # At most the planner's waves per AZ (its plan is one solution), or one per node
    # where it blocked.
    cap = {
        az: len(lay[2]) if az in blocked else steps[az]
        for az, lay in _group_layout(inst.group, by_id).items()
    }
    exact = exact_waves(inst.subnets, inst.group, inst.reserve, cap, time_limit)
    if not plan.blocked and exact.proven and exact.waves is None:
        raise SystemExit(f"{inst.label}: the planner's plan is not a solution of the MIP")
    replayed = greedy = None
    if exact.assignment:
        replayed = replay(inst, exact.assignment, exact.placement)
        greedy = replay(inst, exact.assignment)
    return Row(inst, len(plan.waves), plan.blocked, plan.lower_bound_waves, exact, replayed, greedy)


def bucket_of(nodes: int) -> str:
    for lo, hi in BUCKETS:
        if lo <= nodes <= hi:
            return f"{lo}-{hi} nodes"
    return f"{nodes} nodes"


def _line(name: str, rows: Sequence[Row]) -> str:
    gaps = [r.gap or 0 for r in rows]
    at_bound = sum(r.lower == r.exact.waves for r in rows)
    return (
        f"{name:<12} {len(rows):>5} {statistics.mean(r.exact.waves or 0 for r in rows):>8.2f}"
        f" {statistics.mean(r.planner for r in rows):>8.2f} {statistics.mean(gaps):>+9.2f}"
        f" {max(gaps):>+9} {sum(g == 0 for g in gaps):>9} {at_bound:>9}"
    )


def report(rows: Sequence[Row], seconds: float) -> bool:
    """Print the gap table and the checks; True if the target holds."""
    gaps = [r for r in rows if r.gap is not None]
    print(f"{len(rows)} instances, {len(gaps)} with a proven optimum and a planner roll")
    print(f"solver and planner time {seconds:.1f} s")
    print()
    print(
        f"{'bucket':<12} {'count':>5} {'optimum':>8} {'planner':>8} {'mean gap':>9}"
        f" {'worst gap':>9} {'gap = 0':>9} {'lb = opt':>9}"
    )
    by_bucket: dict[str, list[Row]] = defaultdict(list)
    for r in gaps:
        by_bucket[bucket_of(r.inst.nodes)].append(r)
    for lo, hi in BUCKETS:
        if by_bucket.get(f"{lo}-{hi} nodes"):
            print(_line(f"{lo}-{hi} nodes", by_bucket[f"{lo}-{hi} nodes"]))
    if gaps:
        print(_line("all", gaps))
    worst = max((r.gap or 0 for r in gaps), default=0)
    mean = statistics.mean(r.gap or 0 for r in gaps) if gaps else 0.0
    print()
    print(f"gap (planner waves - exact optimum): mean {mean:+.2f}, worst {worst:+d}")
    for r in gaps:
        if (r.gap or 0) > TARGET_GAP:
            print(f"  over target: {r.inst.label}: planner {r.planner}, optimum {r.exact.waves}")
    _checks(rows, gaps)
    held = worst <= TARGET_GAP
    print()
    print(
        f"target: within +{TARGET_GAP} wave of the exact optimum on every small instance: "
        f"{'met' if held else 'MISSED'}"
    )
    print("the 5,000-node capacity_waves.py instance is out of reach of the MIP: not attempted")
    return held


def _checks(rows: Sequence[Row], gaps: Sequence[Row]) -> None:
    """The lower bound against the optimum, blocked rolls, replays, time limits."""
    lower_eq = sum(r.lower == r.exact.waves for r in gaps)
    slack = statistics.mean((r.exact.waves or 0) - (r.lower or 0) for r in gaps) if gaps else 0
    over = [r for r in gaps if r.lower is not None and r.lower > (r.exact.waves or 0)]
    print(
        f"lower_bound_waves = optimum on {lower_eq}/{len(gaps)} instances "
        f"(mean optimum - bound {slack:+.2f}); above the optimum (no bound) on {len(over)}"
        + "".join(f"\n  {r.inst.label}: bound {r.lower} > optimum {r.exact.waves}" for r in over)
    )
    blocked = [r for r in rows if r.blocked]
    missed = [r.inst.label for r in blocked if r.exact.waves is not None]
    print(
        f"planner blocked on {len(blocked)} instances; a safe roll exists on {len(missed)}"
        + (f" ({', '.join(missed)})" if missed else "")
    )
    replays = [r for r in rows if r.replayed is not None]
    unsafe = [r.inst.label for r in replays if not r.replayed]
    elsewhere = [r.inst.label for r in replays if r.replayed and not r.greedy]
    print(
        f"exact rolls replayed through the planner's _place: "
        f"{len(replays) - len(unsafe)}/{len(replays)} safe"
        + (f" (NOT: {', '.join(unsafe)})" if unsafe else "")
        + f"; {len(elsewhere)} only on the MIP's node subnets, not the planner's"
        + (f" ({', '.join(elsewhere)})" if elsewhere else "")
    )
    limited = [r for r in rows if not r.exact.proven]
    print(
        f"solver hit its time limit on {len(limited)} instances"
        + "".join(
            f"\n  {r.inst.label} ({r.inst.nodes} nodes): planner {r.planner}, "
            f"best found {r.exact.waves}, bound {r.exact.bound}"
            for r in limited
        )
    )
    slowest = max(rows, key=lambda r: r.exact.seconds)
    print(
        f"slowest solve {slowest.exact.seconds:.2f} s ({slowest.inst.label}, "
        f"{slowest.inst.nodes} nodes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=240)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per MIP")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    for i in range(args.instances):
        inst = random_instance(random.Random(f"{args.seed}-{i}"), label=f"#{i}")
        rows.append(measure(inst, args.time_limit))
    report(rows, time.perf_counter() - started)


if __name__ == "__main__":
    main()
