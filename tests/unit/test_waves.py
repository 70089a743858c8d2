"""Subnet budgets and roll waves."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from upgrader.capacity.node import node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.capacity.waves import (
    Node,
    NodeGroupRoll,
    Subnet,
    largest_safe_wave,
    lower_bound_waves,
    plan_roll,
)
from upgrader.catalog import instances
from upgrader.semver import Version

R5 = instances.bundled().get("r5.xlarge")
OLD = CniSettings(version=Version.parse("v1.3.2"), warm_eni_target=1)
NEW = CniSettings(version=Version.parse("v1.5.5"), warm_eni_target=1)


def staging(
    free_a: int = 191, free_c: int = 191, reserve: int = 8
) -> tuple[list[Subnet], NodeGroupRoll, int]:
    """The seed's Staging: 2 x r5.xlarge, 28 pods per AZ, 2 AZs."""
    held = node_addresses(R5, OLD, 28).subnet_ips
    subnets = [
        Subnet(id="subnet-a", az="ap-northeast-1a", free_ips=free_a, name="private-a"),
        Subnet(id="subnet-c", az="ap-northeast-1c", free_ips=free_c, name="private-c"),
    ]
    nodes = (
        Node(name="ip-10-0-0-10", subnet_id="subnet-a", pods=28, subnet_ips=held),
        Node(name="ip-10-0-1-10", subnet_id="subnet-c", pods=28, subnet_ips=held),
    )
    group = NodeGroupRoll(
        name="workers", instance_type=R5, cni=NEW, subnet_ids=("subnet-a", "subnet-c"), nodes=nodes
    )
    return subnets, group, reserve


def test_staging_rolls_in_one_wave_with_both_azs() -> None:
    subnets, group, reserve = staging()
    plan = plan_roll(subnets, [group], reserve)
    assert not plan.blocked
    assert len(plan.waves) == 1 == plan.lower_bound_waves
    wave = plan.waves[0]
    assert [s.az for s in wave.steps] == ["ap-northeast-1a", "ap-northeast-1c"]
    # 28 pods on a new r5.xlarge under WARM_ENI_TARGET=1: 3 ENIs x 15
    assert {
        b.subnet_id: (b.free_before, b.peak_demand, b.released, b.free_after) for b in wave.budgets
    } == {"subnet-a": (191, 45, 45, 191), "subnet-c": (191, 45, 45, 191)}


def test_tight_subnet_blocks_with_the_numbers() -> None:
    subnets, group, reserve = staging(free_a=40)
    plan = plan_roll(subnets, [group], reserve)
    assert plan.blocked
    (b,) = plan.blockers
    assert (b.subnet_id, b.free_ips, b.demand, b.reserve) == ("subnet-a", 40, 45, 8)
    assert [s.az for w in plan.waves for s in w.steps] == ["ap-northeast-1c"]


def test_headroom_sets_the_wave_size() -> None:
    held = node_addresses(R5, OLD, 10).subnet_ips  # 30
    nodes = tuple(
        Node(name=f"n{i:02}", subnet_id="s1", pods=10, subnet_ips=held) for i in range(10)
    )
    group = NodeGroupRoll(name="g", instance_type=R5, cni=NEW, subnet_ids=("s1",), nodes=nodes)
    # each new node with 10 pods holds 30; 100 free - 10 reserve = room for 3
    plan = plan_roll([Subnet(id="s1", az="a", free_ips=100)], [group], 10)
    assert [w.size for w in plan.waves] == [3, 3, 3, 1]
    assert plan.lower_bound_waves is not None and plan.lower_bound_waves <= len(plan.waves)
    assert plan.free_after == {"s1": 100}


def test_largest_safe_wave_per_az_and_az_budgets() -> None:
    subnets, group, reserve = staging(free_a=40)
    assert largest_safe_wave(subnets, group, reserve) == {
        "ap-northeast-1a": 0,
        "ap-northeast-1c": 1,
    }
    subnets, group, reserve = staging()
    (wave,) = plan_roll(subnets, [group], reserve).waves
    a, c = wave.az_budgets()
    assert (a.az, a.free_before, a.peak_demand, a.tightest_subnet) == (
        "ap-northeast-1a",
        191,
        45,
        "subnet-a",
    )
    assert c.tightest_free_at_peak == 191 - 45


def test_lower_bound_is_tight_for_like_for_like_single_subnet() -> None:
    held = node_addresses(R5, NEW, 10).subnet_ips
    nodes = tuple(
        Node(name=f"n{i:02}", subnet_id="s1", pods=10, subnet_ips=held) for i in range(12)
    )
    group = NodeGroupRoll(name="g", instance_type=R5, cni=NEW, subnet_ids=("s1",), nodes=nodes)
    subnets = [Subnet(id="s1", az="a", free_ips=70)]
    plan = plan_roll(subnets, [group], 10)
    assert [w.size for w in plan.waves] == [2] * 6
    assert plan.lower_bound_waves is not None
    assert plan.lower_bound_waves == 5  # ENI granularity: one wave short of the 6 needed


def test_max_surge_caps_the_wave() -> None:
    subnets, group, reserve = staging(free_a=251, free_c=251)
    nodes = tuple(Node(name=f"n{i}", subnet_id="subnet-a", pods=5, subnet_ips=30) for i in range(6))
    group = NodeGroupRoll(
        name="g", instance_type=R5, cni=NEW, subnet_ids=("subnet-a",), nodes=nodes, max_surge=2
    )
    plan = plan_roll(subnets, [group], reserve)
    assert [w.size for w in plan.waves] == [2, 2, 2]
    assert lower_bound_waves(subnets, [group], reserve) == 3


def test_custom_networking_charges_the_pod_subnet() -> None:
    cn = CniSettings(version=Version.parse("v1.10.1"), custom_networking=True)
    subnets = [Subnet(id="node-a", az="a", free_ips=20), Subnet(id="pod-a", az="a", free_ips=200)]
    nodes = (
        Node(
            name="n1",
            subnet_id="node-a",
            pods=10,
            subnet_ips=1,
            pod_subnet_id="pod-a",
            pod_subnet_ips=30,
        ),
    )
    group = NodeGroupRoll(
        name="g",
        instance_type=R5,
        cni=cn,
        subnet_ids=("node-a",),
        nodes=nodes,
        pod_subnet_by_az={"a": "pod-a"},
    )
    plan = plan_roll(subnets, [group], 5)
    peaks = {b.subnet_id: b.peak_demand for b in plan.waves[0].budgets}
    assert peaks == {"node-a": 1, "pod-a": 30}


# --- invariants -------------------------------------------------------------


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[Subnet], list[NodeGroupRoll], int]:
    azs = draw(st.integers(1, 3))
    subnets = []
    for az in range(azs):
        for k in range(draw(st.integers(1, 2))):
            subnets.append(Subnet(id=f"s{az}{k}", az=f"az{az}", free_ips=draw(st.integers(0, 400))))
    names = sorted(instances.bundled().types)
    groups = []
    for g in range(draw(st.integers(1, 3))):
        inst = instances.bundled().get(draw(st.sampled_from([*names[:200], "r5.xlarge"])))
        cni = CniSettings(
            version=Version.parse(
                draw(st.sampled_from(["v1.3.2", "v1.5.5", "v1.10.1", "v1.19.0"]))
            ),
            warm_eni_target=draw(st.none() | st.integers(0, 2)),
            warm_ip_target=draw(st.none() | st.integers(0, 10)),
            minimum_ip_target=draw(st.none() | st.integers(0, 20)),
        )
        own = draw(
            st.lists(
                st.sampled_from(subnets),
                min_size=1,
                max_size=len(subnets),
                unique_by=lambda s: s.id,
            )
        )
        nodes = tuple(
            Node(
                name=f"g{g}-n{i}",
                subnet_id=draw(st.sampled_from(own)).id,
                pods=draw(st.integers(0, 60)),
                subnet_ips=draw(st.integers(1, 60)),
            )
            for i in range(draw(st.integers(0, 12)))
        )
        groups.append(
            NodeGroupRoll(
                name=f"g{g}",
                instance_type=inst,
                cni=cni,
                subnet_ids=tuple(s.id for s in own),
                nodes=nodes,
                max_surge=draw(st.none() | st.integers(1, 4)),
            )
        )
    return subnets, groups, draw(st.integers(0, 20))


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_safe_waves_never_cross_the_reserve(
    case: tuple[list[Subnet], list[NodeGroupRoll], int],
) -> None:
    subnets, groups, reserve = case
    plan = plan_roll(subnets, groups, reserve)
    free = {s.id: s.free_ips for s in subnets}
    for wave in plan.waves:
        for b in wave.budgets:
            assert b.free_before == free[b.subnet_id]
            assert b.peak_demand == 0 or b.free_at_peak >= reserve, b
            assert b.safe
            free[b.subnet_id] = b.free_after
    assert free == dict(plan.free_after)
    drained = [n for w in plan.waves for s in w.steps for n in s.drained]
    assert len(drained) == len(set(drained))
    if not plan.blocked:
        assert sorted(drained) == sorted(n.name for g in groups for n in g.nodes)
        if plan.lower_bound_waves is not None:
            assert plan.lower_bound_waves <= len(plan.waves)
    for g in groups:
        for wave in plan.waves:
            if wave.group == g.name and g.max_surge:
                assert all(len(s.drained) <= g.max_surge for s in wave.steps)
