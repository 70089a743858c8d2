"""Prefix delegation, custom networking, instance types a release does not know, restarts
(#59) and aws-node's env, as the twin's ipamd handles them on the EC2 twin."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from importlib import resources

import pytest

from ekstwin.aws import prefixes
from ekstwin.controllers.ipamd import IpamdConfig
from ekstwin.controllers.ipamd.limits import compiled, table_for, tags
from ekstwin.controllers.maxpods import eni_max_pods, kubelet_max_pods
from tests.twin.unit.ipamd_support import Ec2World, Node, world
from upgrader.catalog.instances import bundled
from upgrader.semver import Version

__all__ = ["world"]

R5, M4, M6I = "r5.xlarge", "m4.large", "m6i.large"
UNKNOWN = "vpc ip resource(eni ip limit): unknown instance type"


def _prefixes(node: Node) -> list[list[str]]:
    return [list(prefixes.prefixes_of(node.world.twin, e.eni_id)) for e in node.enis()]


# prefix delegation (v1.9+, Nitro)


def test_prefix_delegation_assigns_aligned_28s_per_warm_prefix_target(world: Ec2World) -> None:
    subnet = world.subnet()
    node = Node(world, R5, subnet).start(
        "v1.19.2", ENABLE_PREFIX_DELEGATION="true", WARM_PREFIX_TARGET="1"
    )
    assert [len(p) for p in _prefixes(node)] == [1]
    assert node.shape() == [0]
    assert world.free(subnet) == 251 - 1 - 16  # research §3: 17 at 0 pods
    ips = node.pods(10)
    assert [len(p) for p in _prefixes(node)] == [2]  # 33 at 10 pods
    assert world.free(subnet) == 251 - 33
    blocks = [ipaddress.ip_network(p) for p in _prefixes(node)[0]]
    assert all(b.prefixlen == 28 for b in blocks)
    assert all(ip is not None and ipaddress.ip_address(ip) in blocks[0] for ip in ips)


def test_prefix_delegation_is_ignored_before_v1_9_and_off_nitro(world: Ec2World) -> None:
    old = Node(world, R5, world.subnet()).start("v1.8.0", ENABLE_PREFIX_DELEGATION="true")
    assert old.shape() == [14]
    assert _prefixes(old) == [[]]
    xen = Node(world, M4, world.subnet()).start("v1.19.2", ENABLE_PREFIX_DELEGATION="true")
    assert xen.shape() == [9]
    assert "Prefix delegation is not supported on non-nitro instance m4.large" in xen.log()


def test_a_fragmented_subnet_refuses_prefixes_with_addresses_to_spare(world: Ec2World) -> None:
    subnet = world.subnet(prefix=26)  # four /28s: the first and last hold reserved addresses
    node = Node(world, R5, subnet).start(
        "v1.19.2", ENABLE_PREFIX_DELEGATION="true", WARM_PREFIX_TARGET="3"
    )
    assert [len(p) for p in _prefixes(node)] == [1]  # asked 3: refused, then 1 (tryAssign)
    node.passes(30)
    assert [len(p) for p in _prefixes(node)] == [2]  # the last aligned /28
    assert world.free(subnet) == 59 - 1 - 32  # 26 addresses free, no aligned /28 among them
    assert "InsufficientCidrBlocks" in node.log()


# custom networking


def test_custom_networking_puts_pod_enis_in_the_eniconfig_subnet(world: Ec2World) -> None:
    node_subnet, pod_subnet = world.subnets(2)
    node = Node(world, R5, node_subnet)
    node.pool.eniconfig_subnet = pod_subnet
    node.start("v1.5.5", AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG="true")
    node.passes()
    assert node.shape() == [0, 14]  # the primary ENI never carries pods
    assert [e.subnet_id for e in node.enis()] == [node_subnet, pod_subnet]
    got = node.pods(45)
    assert node.shape() == [0, 14, 14, 14]  # E - 1 pod ENIs
    assert got.count(None) == 3  # 42 pod addresses; kubelet's 58 max pods is #331
    assert world.free(node_subnet) == 251 - 1
    assert world.free(pod_subnet) == 251 - 45


def test_custom_networking_without_an_eniconfig_gives_no_pod_addresses(world: Ec2World) -> None:
    node = Node(world, R5, world.subnet()).start(
        "v1.19.2", AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG="true"
    )
    node.passes(2)
    assert node.shape() == [0]
    assert node.pods(1) == [None]
    assert "Failed to get pod ENI config 'default'" in node.log()


# instance types missing from a release's compiled table


def test_v1_3_with_an_unknown_type_attaches_empty_enis_up_to_the_limit(world: Ec2World) -> None:
    subnet = world.subnet()
    node = Node(world, M6I, subnet).start("v1.3.2")
    node.passes(30)
    assert node.shape() == [0, 0, 0]  # m6i.large: 3 ENIs, not one secondary address
    assert node.pods(1) == [None]
    assert world.free(subnet) == 251 - 3
    assert f"Failed to retrieve ENI IP limit: {UNKNOWN}" in node.log()
    assert "AttachmentLimitExceeded" in node.log()
    assert node.pool.cni_ready  # v1.3 copied its CNI config before ipamd ran
    assert ("UnknownInstanceType", f"Failed to retrieve ENI IP limit: {UNKNOWN}") in [
        *node.pool.events
    ]


def test_v1_5_with_an_unknown_type_fails_node_init(world: Ec2World) -> None:
    node = Node(world, M6I, world.subnet()).start("v1.5.5")
    node.passes(5)
    assert node.shape() == [0]
    assert node.pods(1) == [None]
    assert node.pool.init_error == f"Initialization failure: {UNKNOWN}: m6i.large"
    assert not node.pool.cni_ready  # v1.5.3+ writes the CNI config after nodeInit (#576)
    early = Node(world, M6I, world.subnet()).start("v1.5.2")
    assert early.pool.init_error is not None
    assert early.pool.cni_ready


def test_v1_6_looks_unknown_types_up_in_ec2(world: Ec2World) -> None:
    node = Node(world, M6I, world.subnet()).start("v1.6.0")
    assert node.shape() == [9]
    assert node.pool.limits is not None and node.pool.limits.source == "DescribeInstanceTypes"


def test_compiled_tables_by_release() -> None:
    assert table_for(Version.parse("v1.3.2")) == "v1.3.2"
    assert table_for(Version.parse("v1.5.6")) == "v1.5.5"  # no v1.5.6 tag
    assert table_for(Version.parse("v1.6.4")) == "v1.6.4"
    assert table_for(Version.parse("v1.7.10")) == "master"
    assert compiled(Version.parse("v1.3.2"), "c5n.large") is None
    found = compiled(Version.parse("v1.5.5"), "c5n.large")
    assert found is not None and (found.enis, found.ipv4_per_eni) == (3, 10)
    assert Version.parse("v1.0.0") in tags() and len(tags()) == 23
    assert compiled(Version.parse("v1.4.1"), "r5ad.large") is None  # ENIs listed, IPs not
    assert compiled(Version.parse("v1.5.0"), "r5ad.large") is not None


def test_packaged_tables_match_their_provenance() -> None:
    folder = resources.files("ekstwin").joinpath("data/vpc_cni_limits")
    sources = folder.joinpath("SOURCES.md").read_text()
    listed = {
        name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.tsv)$", sources, re.M)
    }
    shipped = {p.name for p in folder.iterdir() if p.name.endswith(".tsv")}
    assert set(listed) == shipped
    for name in shipped:
        data = folder.joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == listed[name], name


# aws-node restarts and #59


def test_a_restart_keeps_pod_addresses_and_59_sticks_until_the_next_one(world: Ec2World) -> None:
    node = Node(world, R5, world.subnet())
    node.pool.stuck_on_restart = True
    node.start("v1.3.2")
    (kept,) = node.pods(1)
    node.start("v1.5.5")  # the CNI upgrade restarts aws-node
    node.passes(2)
    assert world.ipamd.assign(node.name, f"{node.name}-pod-1") == kept
    assert node.pods(1) == [None]  # free addresses, yet none handed out (#59)
    node.start("v1.5.5")  # deleting the aws-node pod heals it
    assert node.pods(1)[0] is not None


# aws-node's env, read the way each release reads it


@pytest.mark.parametrize(
    ("version", "env", "expected"),
    [
        ("v1.5.5", {"WARM_ENI_TARGET": "x"}, {"warm_eni_target": 1}),
        ("v1.5.5", {"WARM_ENI_TARGET": "-1"}, {"warm_eni_target": 1}),
        ("v1.5.5", {"MINIMUM_IP_TARGET": "10"}, {"minimum_ip_target": 0}),
        ("v1.6.0", {"MINIMUM_IP_TARGET": "10"}, {"minimum_ip_target": 10}),
        ("v1.3.4", {"MAX_ENI": "2"}, {"max_eni": 0}),
        ("v1.4.0", {"MAX_ENI": "2"}, {"max_eni": 2}),
        ("v1.8.0", {"ENABLE_PREFIX_DELEGATION": "true"}, {"prefix_delegation": False}),
        ("v1.9.0", {"ENABLE_PREFIX_DELEGATION": "True"}, {"prefix_delegation": True}),
        ("v1.1.0", {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}, {"custom_networking": False}),
        ("v1.2.0", {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "1"}, {"custom_networking": True}),
        (
            "v1.3.2",
            {"ENI_CONFIG_LABEL_DEF": "zone"},
            {"eniconfig_label": "k8s.amazonaws.com/eniConfig"},
        ),
        ("v1.4.0", {"ENI_CONFIG_LABEL_DEF": "zone"}, {"eniconfig_label": "zone"}),
    ],
)
def test_env_as_each_release_reads_it(
    version: str, env: dict[str, str], expected: dict[str, object]
) -> None:
    config = IpamdConfig.from_env(Version.parse(version), env)
    assert {k: getattr(config, k) for k in expected} == expected


# what the kubelet is told


def test_kubelet_max_pods_is_the_eni_max_pods_formula() -> None:
    catalog = bundled()
    got = {
        t: kubelet_max_pods(catalog.get(t)) for t in (R5, "m5.large", "t3.medium", "c5.18xlarge")
    }
    assert got == {R5: 58, "m5.large": 29, "t3.medium": 17, "c5.18xlarge": 737}
    assert eni_max_pods(4, 15) == 58
