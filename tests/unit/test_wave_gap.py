"""The exact wave model of benchmarks/wave_gap.py: rolls whose fewest waves is obvious, and
the planner against it both ways."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from upgrader.capacity.node import node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.capacity.waves import Node, NodeGroupRoll, Subnet, lower_bound_waves, plan_roll
from upgrader.catalog import instances
from upgrader.semver import Version

pytest.importorskip("highspy")

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "wave_gap.py"
R5 = instances.bundled().get("r5.xlarge")
NEW = CniSettings(version=Version.parse("v1.5.5"), warm_eni_target=1)
HELD = node_addresses(R5, NEW, 10).subnet_ips  # 30: 2 ENIs x 15


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wave_gap", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


wg = _load()


def group(nodes: tuple[Node, ...], subnet_ids: tuple[str, ...], **kw: object) -> NodeGroupRoll:
    return NodeGroupRoll(
        name="g",
        instance_type=R5,
        cni=kw.pop("cni", NEW),  # type: ignore[arg-type]
        subnet_ids=subnet_ids,
        nodes=nodes,
        **kw,  # type: ignore[arg-type]
    )


def like_for_like(count: int, subnet: str = "s1", prefix: str = "n") -> tuple[Node, ...]:
    """Old nodes with 10 pods each, holding what their new nodes will (30)."""
    return tuple(
        Node(name=f"{prefix}{i:02}", subnet_id=subnet, pods=10, subnet_ips=HELD)
        for i in range(count)
    )


def optimum(subnets: list[Subnet], g: NodeGroupRoll, reserve: int, cap: int = 12) -> int | None:
    result = wg.exact_waves(subnets, g, reserve, cap, time_limit=30)
    assert result.proven, result
    return result.waves  # type: ignore[no-any-return]


def test_everything_fits_in_one_wave() -> None:
    g = group(like_for_like(5), ("s1",))
    assert optimum([Subnet(id="s1", az="a", free_ips=1000)], g, 8) == 1


def test_room_for_three_at_a_time() -> None:
    # 100 free - 10 reserve = 90 = three new nodes; free stays 100 after each wave
    g = group(like_for_like(10), ("s1",))
    assert optimum([Subnet(id="s1", az="a", free_ips=100)], g, 10) == 4
    assert optimum([Subnet(id="s1", az="a", free_ips=100)], g, 10, cap=3) is None


def test_max_surge_caps_the_wave() -> None:
    g = group(like_for_like(6), ("s1",), max_surge=2)
    assert optimum([Subnet(id="s1", az="a", free_ips=1000)], g, 8) == 3


def test_two_subnets_one_node_each() -> None:
    # each subnet has room for exactly one new node: two a wave, wherever the old ones sit
    nodes = like_for_like(2, "s1", "a") + like_for_like(2, "s2", "b")
    g = group(nodes, ("s1", "s2"))
    subnets = [Subnet(id="s1", az="a", free_ips=38), Subnet(id="s2", az="a", free_ips=40)]
    assert optimum(subnets, g, 8) == 2


def test_azs_roll_in_parallel() -> None:
    # AZ a: room for 1 (3 nodes -> 3 waves); AZ b: room for everything (1 wave)
    nodes = like_for_like(3, "sa", "a") + like_for_like(4, "sb", "b")
    g = group(nodes, ("sa", "sb"))
    subnets = [Subnet(id="sa", az="a", free_ips=38), Subnet(id="sb", az="b", free_ips=500)]
    assert optimum(subnets, g, 8) == 3


def test_draining_a_big_holder_first_frees_room_for_the_rest() -> None:
    # room for one new node (30); node z holds 200 addresses (an old, larger type):
    # z first, then the four others together
    nodes = (
        *like_for_like(4),
        Node(name="z", subnet_id="s1", pods=10, subnet_ips=200),
    )
    g = group(nodes, ("s1",))
    subnets = [Subnet(id="s1", az="a", free_ips=40)]
    assert optimum(subnets, g, 10) == 2
    assert lower_bound_waves(subnets, [g], 10) == 2


def test_no_room_for_one_node_is_infeasible() -> None:
    g = group(like_for_like(2), ("s1",))
    assert optimum([Subnet(id="s1", az="a", free_ips=30)], g, 8) is None


def test_custom_networking_pod_subnet_binds() -> None:
    cn = CniSettings(version=Version.parse("v1.10.1"), custom_networking=True)
    held = node_addresses(R5, cn, 10)
    nodes = tuple(
        Node(
            name=f"n{i}",
            subnet_id="node-a",
            pods=10,
            subnet_ips=held.node_subnet_ips,
            pod_subnet_id="pod-a",
            pod_subnet_ips=held.pod_subnet_ips,
        )
        for i in range(4)
    )
    g = group(nodes, ("node-a",), cni=cn, pod_subnet_by_az={"a": "pod-a"})
    peak = wg._Sizer(g).new_node(10).pod_ips
    subnets = [
        Subnet(id="node-a", az="a", free_ips=500),
        Subnet(id="pod-a", az="a", free_ips=5 + 2 * peak),  # room for two new nodes' pods
    ]
    assert optimum(subnets, g, 5) == 2


def test_pods_spread_evenly_on_the_new_nodes() -> None:
    # 0 and 28 pods on two new nodes: 14 each, 2 ENIs (30) each = 60; alone, 28 pods
    # take 3 ENIs (45). 60 - 8 reserve = 52 < 60: the two cannot share a wave.
    nodes = (
        Node(name="a", subnet_id="s1", pods=0, subnet_ips=15),
        Node(name="b", subnet_id="s1", pods=28, subnet_ips=45),
    )
    g = group(nodes, ("s1",))
    assert optimum([Subnet(id="s1", az="a", free_ips=60)], g, 8) == 2
    assert optimum([Subnet(id="s1", az="a", free_ips=68)], g, 8) == 1


def test_the_planners_plan_is_a_solution_and_the_optimum_replays() -> None:
    """Against drift both ways, on small random rolls: the planner's plan, pinned,
    is feasible in the MIP; the MIP's optimum is safe by the planner's own placement
    arithmetic; and lower bound <= optimum <= planner."""
    checked = 0
    for i in range(40):
        inst = wg.random_instance(random.Random(f"unit-{i}"), label=str(i))
        plan = plan_roll(inst.subnets, [inst.group], inst.reserve)
        if plan.blocked or inst.nodes > 8:  # the benchmark solves the larger ones
            continue
        waves = len(plan.waves)
        pinned = wg.exact_waves(
            inst.subnets,
            inst.group,
            inst.reserve,
            waves,
            time_limit=30,
            fixed=wg.planner_assignment(plan),
        )
        assert pinned.proven and pinned.waves == waves, (i, pinned)
        best = wg.exact_waves(inst.subnets, inst.group, inst.reserve, waves, time_limit=30)
        assert best.proven and best.waves is not None, (i, best)
        assert wg.replay(inst, best.assignment), i
        assert plan.lower_bound_waves is not None
        assert plan.lower_bound_waves <= best.waves <= waves
        checked += 1
    assert checked >= 15


def test_planner_pairs_the_small_nodes_as_the_optimum_does() -> None:
    # slack 60: two new nodes of up to 14 pods (30 each), or one of up to 42 (60).
    # In name order no two neighbours pair (5 waves); the optimum pairs a and c.
    pods = {"a": 10, "b": 40, "c": 12, "d": 31, "e": 9}
    nodes = tuple(
        Node(name=n, subnet_id="s1", pods=p, subnet_ips=node_addresses(R5, NEW, p).subnet_ips)
        for n, p in pods.items()
    )
    g = group(nodes, ("s1",))
    subnets = [Subnet(id="s1", az="a", free_ips=68)]
    plan = plan_roll(subnets, [g], 8)
    assert optimum(subnets, g, 8) == len(plan.waves) == 4
    assert plan.waves[0].steps[0].drained == ("a", "c")
