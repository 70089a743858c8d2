"""The twin's ipamd sizing warm pools on the EC2 twin, release by release
(research/vpc-cni.md §2-3; r5.xlarge: 4 ENIs x 15 IPv4, 14 pod IPs per ENI)."""

from __future__ import annotations

from tests.twin.unit.ipamd_support import Ec2World, Node, world

__all__ = ["world"]

R5 = "r5.xlarge"


def test_warm_eni_target_fills_the_primary_eni_then_adds_a_whole_eni_per_14_pods(
    world: Ec2World,
) -> None:
    subnet = world.subnet()
    node = Node(world, R5, subnet).start("v1.5.5", WARM_ENI_TARGET="1")
    assert node.shape() == [0]  # v1.5: the first 5 s pass fills it, not nodeInit
    node.passes()
    assert node.shape() == [14]
    assert world.free(subnet) == 251 - 15  # node IP + 14: the full primary ENI is the warm one
    node.pods(10)
    assert node.shape() == [14, 14]  # the first pod left 13 < 14 available: a second ENI
    node.pods(20)
    assert node.shape() == [14, 14, 14, 14]  # min(E, ceil(30/14) + 1)
    assert world.free(subnet) == 251 - 60


def test_v1_6_fills_the_pool_during_node_init(world: Ec2World) -> None:
    node = Node(world, R5, world.subnet()).start("v1.6.4")
    assert node.shape() == [14]  # #648: no first-pass wait


def test_v1_3_grows_the_same_under_warm_eni_target(world: Ec2World) -> None:
    node = Node(world, R5, world.subnet()).start("v1.3.2", WARM_ENI_TARGET="1")
    node.passes()
    assert node.shape() == [14]
    node.pods(30)
    assert node.shape() == [14, 14, 14, 14]


def test_warm_eni_target_zero_starves_before_v1_6_and_grows_from_it(world: Ec2World) -> None:
    old = Node(world, R5, world.subnet()).start("v1.5.5", WARM_ENI_TARGET="0")
    old.passes(3)
    assert old.shape() == [0]
    assert old.pods(1) == [None]  # available 0 < 14 x 0 is never "too low"
    new = Node(world, R5, world.subnet()).start("v1.6.4", WARM_ENI_TARGET="0")
    assert new.shape() == [14]  # #587: an empty pool is too low
    assert all(new.pods(15))
    assert new.shape() == [14, 14]
    v13 = Node(world, R5, world.subnet()).start("v1.3.2", WARM_ENI_TARGET="0")
    got = v13.pods(15)  # retryAllocENIIP fills the primary ENI; nothing ever adds another
    assert v13.shape() == [14]
    assert got.count(None) == 1


def test_warm_ip_and_minimum_ip_targets_on_v1_9(world: Ec2World) -> None:
    subnet = world.subnet()
    node = Node(world, R5, subnet).start("v1.9.3", WARM_IP_TARGET="5", MINIMUM_IP_TARGET="10")
    assert node.shape() == [10]  # max(P + 5, 10) at 0 pods
    pods = node.pods(10)
    assert all(pods)
    assert node.shape() == [14, 1]  # 15 = 10 + 5 on two ENIs (research §3)
    assert world.free(subnet) == 251 - 17
    node.delete(*[f"{node.name}-pod-{i}" for i in range(1, 11)])
    node.passes(30)  # cooldown, 30 s between decreases, a minute before an ENI goes
    assert node.shape() == [10]


def test_v1_5_fills_a_whole_eni_under_warm_ip_target_then_trims_and_ignores_minimum(
    world: Ec2World,
) -> None:
    node = Node(world, R5, world.subnet()).start(
        "v1.5.5", WARM_IP_TARGET="5", MINIMUM_IP_TARGET="10"
    )
    node.passes()
    assert node.shape() == [14]  # the boot peak of #730
    node.passes()
    assert node.shape() == [5]  # trimmed to WARM_IP_TARGET; MINIMUM_IP_TARGET unread


def test_v1_3_keeps_its_high_water_mark_under_warm_ip_target(world: Ec2World) -> None:
    node = Node(world, R5, world.subnet()).start("v1.3.2", WARM_IP_TARGET="5")
    node.passes()
    assert node.shape() == [5]
    node.pods(10)
    assert node.shape() == [14, 1]
    node.delete(*[f"{node.name}-pod-{i}" for i in range(1, 11)])
    node.passes(40)
    assert node.shape() == [14, 1]  # no single IP is ever returned before v1.5


def test_minimum_ip_target_without_warm_ip_target_never_grows(world: Ec2World) -> None:
    node = Node(world, R5, world.subnet()).start("v1.9.3", MINIMUM_IP_TARGET="5")
    got = node.pods(6)
    assert got[:5] == [ip for ip in got[:5] if ip]
    assert got[5] is None
    node.passes(10)
    assert node.shape() == [5]


def test_a_deleted_pods_address_cools_down_for_30_virtual_seconds(world: Ec2World) -> None:
    node = Node(world, R5, world.subnet()).start("v1.9.3", MINIMUM_IP_TARGET="1")
    (first,) = node.pods(1)
    assert first is not None
    node.delete(f"{node.name}-pod-1")
    assert world.ipamd.assign(node.name, "late") is None  # only the cooling address is left
    world.clock.advance(29)
    assert world.ipamd.assign(node.name, "late") is None
    world.clock.advance(1)
    assert world.ipamd.assign(node.name, "late") == first


def test_ip_cooldown_period_is_read_from_v1_15(world: Ec2World) -> None:
    for version, wait in (("v1.15.0", 5), ("v1.14.1", 30)):
        node = Node(world, R5, world.subnet()).start(
            version, MINIMUM_IP_TARGET="1", IP_COOLDOWN_PERIOD="5"
        )
        node.pods(1)
        node.delete(f"{node.name}-pod-1")
        world.clock.advance(wait - 1)
        assert world.ipamd.assign(node.name, "late") is None, version
        world.clock.advance(1)
        assert world.ipamd.assign(node.name, "late") is not None, version


def test_a_short_subnet_refuses_the_lot_and_v1_5_takes_one_address_at_a_time(
    world: Ec2World,
) -> None:
    subnet = world.subnet(prefix=27)  # 27 usable; the node takes 1, its primary ENI 14
    node = Node(world, R5, subnet).start("v1.5.5")
    node.passes()
    assert world.free(subnet) == 12
    node.pods(1)  # a second ENI: created bare, AssignPrivateIpAddresses(14) refused
    assert node.shape() == [14, 0]
    assert "InsufficientFreeAddressesInSubnet" in node.log()
    node.passes(20)
    assert node.shape() == [14, 1]  # then a single address (available is back to 14)
    node.pods(10)
    assert node.shape() == [14, 11]  # one address per pass while the subnet lasts
    assert world.free(subnet) == 0


def test_from_v1_16_a_short_subnet_creates_no_eni_and_backs_off(world: Ec2World) -> None:
    subnet = world.subnet(prefix=27)
    node = Node(world, R5, subnet).start("v1.19.2")
    assert node.shape() == [14]
    node.pods(1)
    node.passes(10)
    assert node.shape() == [14]  # CreateNetworkInterface(14 IPs) refused as a whole
    assert world.free(subnet) == 12
    assert node.log().count("InsufficientFreeAddressesInSubnet") == 1  # 120 s back-off


def test_max_eni_caps_the_pool_from_v1_4(world: Ec2World) -> None:
    capped = Node(world, R5, world.subnet()).start("v1.5.5", MAX_ENI="2")
    got = capped.pods(30)
    assert capped.shape() == [14, 14]
    assert got.count(None) == 2
    ignored = Node(world, R5, world.subnet()).start("v1.3.2", MAX_ENI="2")
    ignored.pods(30)
    assert ignored.shape() == [14, 14, 14, 14]


def test_the_pool_stops_at_the_nodes_max_pods_from_v1_17_1(world: Ec2World) -> None:
    capped = Node(world, R5, world.subnet(), max_pods=20).start("v1.19.2", WARM_IP_TARGET="50")
    capped.passes(10)
    assert capped.shape() == [14, 14]  # stops once 28 >= 20 (#2745)
    before = Node(world, R5, world.subnet(), max_pods=20).start("v1.16.4", WARM_IP_TARGET="50")
    before.passes(10)
    assert before.shape() == [14, 14, 14, 8]  # 50 warm IPs


def test_idle_enis_go_a_minute_after_their_last_pod_under_warm_eni_target(world: Ec2World) -> None:
    subnet = world.subnet()
    node = Node(world, R5, subnet).start("v1.6.4")
    node.pods(16)
    assert node.shape() == [14, 14, 14]
    node.delete(*[f"{node.name}-pod-{i}" for i in range(1, 17)])
    node.passes(30)  # each ENI is a minute old and a minute past its last pod, one per pass
    assert node.shape() == [14]  # 0 pods: the primary ENI is the warm one again
    assert node.log().count("Start freeing ENI") == 2
    assert world.free(subnet) == 251 - 15
