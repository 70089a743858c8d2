"""Max pods and per-node addresses: research/vpc-cni.md §1.4 and §3 as tables, plus invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from upgrader.capacity.node import PoolMode, max_pods, node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog import instances
from upgrader.errors import BadInputError
from upgrader.semver import Version

CAT = instances.bundled()
V110 = Version.parse("v1.10.1")


def cni(version: str = "v1.10.1", **kw: object) -> CniSettings:
    return CniSettings(version=Version.parse(version), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "std", "capacity", "custom", "pd_raw", "pd_capped"),
    [
        ("r5.xlarge", 58, 56, 44, 898, 110),
        ("m5.large", 29, 27, 20, 434, 110),
        ("t3.medium", 17, 15, 12, 242, 110),
        ("c5.18xlarge", 737, 735, 688, 11762, 250),
    ],
)
def test_max_pods_table(
    name: str, std: int, capacity: int, custom: int, pd_raw: int, pd_capped: int
) -> None:
    t = CAT.get(name)
    assert max_pods(t, cni()).value == std
    assert max_pods(t, cni()).pod_ip_capacity == capacity
    assert max_pods(t, cni(custom_networking=True)).value == custom
    assert max_pods(t, cni(prefix_delegation=True)).value == pd_raw
    assert max_pods(t, cni(prefix_delegation=True), calculator_cap=True).value == pd_capped


def test_max_eni_and_version_gates() -> None:
    t = CAT.get("r5.xlarge")
    assert max_pods(t, cni(max_eni=2)).value == 2 * 14 + 2
    assert max_pods(t, cni(max_eni=2, custom_networking=True)).value == 1 * 14 + 2
    assert max_pods(t, cni("v1.3.2", max_eni=2)).value == 58  # MAX_ENI arrived in v1.4.0
    assert max_pods(t, cni("v1.8.0", prefix_delegation=True)).value == 58  # PD from v1.9.0
    assert max_pods(CAT.get("m4.large"), cni(prefix_delegation=True)).value == 2 * 9 + 2  # Xen


# research §3, WARM_ENI_TARGET=1: addresses at 0 / 10 / 30 pods
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("r5.xlarge", (15, 30, 60)),
        ("m5.large", (10, 30, 30)),
        ("t3.medium", (6, 18, 18)),
        ("c5.18xlarge", (50, 100, 100)),
    ],
)
def test_warm_eni_examples(name: str, expected: tuple[int, int, int]) -> None:
    s = cni(warm_eni_target=1)
    got = tuple(node_addresses(CAT.get(name), s, p).subnet_ips for p in (0, 10, 30))
    assert got == expected


# research §3, WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10 on v1.9+
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("r5.xlarge", (11, 17, 38)),
        ("m5.large", (12, 17, 30)),
        ("t3.medium", (12, 18, 18)),
        ("c5.18xlarge", (11, 16, 36)),
    ],
)
def test_warm_ip_examples(name: str, expected: tuple[int, int, int]) -> None:
    s = cni(warm_ip_target=5, minimum_ip_target=10)
    got = tuple(node_addresses(CAT.get(name), s, p).subnet_ips for p in (0, 10, 30))
    assert got == expected


def test_infeasible_pods_are_reported() -> None:
    a = node_addresses(CAT.get("m5.large"), cni(), 30)
    assert (a.pods_with_ip, a.pods_without_ip, a.subnet_ips) == (27, 3, 30)


@pytest.mark.parametrize("version", ["v1.3.2", "v1.5.5"])
def test_old_cni_ignores_minimum_ip_target(version: str) -> None:
    s = cni(version, warm_ip_target=5, minimum_ip_target=10)
    got = [
        node_addresses(CAT.get(n), s, 0).subnet_ips
        for n in ("r5.xlarge", "m5.large", "t3.medium", "c5.18xlarge")
    ]
    assert got == [6, 6, 6, 6]
    got10 = [
        node_addresses(CAT.get(n), s, 10).subnet_ips
        for n in ("r5.xlarge", "m5.large", "t3.medium", "c5.18xlarge")
    ]
    assert got10 == [17, 17, 18, 16]
    assert any("MINIMUM_IP_TARGET is ignored" in n for n in s.notes())


def test_boot_peak_fills_the_primary_eni_on_v15_to_v18_only() -> None:
    r5 = CAT.get("r5.xlarge")
    for version, peak in (("v1.3.2", 6), ("v1.5.5", 15), ("v1.8.0", 15), ("v1.9.0", 6)):
        a = node_addresses(r5, cni(version, warm_ip_target=5), 0)
        assert (a.subnet_ips, a.peak_ips) == (6, peak), version


def test_custom_networking_example() -> None:
    s = cni(warm_eni_target=1, custom_networking=True)
    got = [node_addresses(CAT.get("r5.xlarge"), s, p) for p in (0, 10, 30)]
    assert [a.node_subnet_ips for a in got] == [1, 1, 1]
    assert [a.pod_subnet_ips for a in got] == [15, 30, 45]
    assert got[2].pods_with_ip == 30
    assert max_pods(CAT.get("r5.xlarge"), s).pod_ip_capacity == 42


@pytest.mark.parametrize("name", ["r5.xlarge", "c5.18xlarge"])
def test_prefix_delegation_example(name: str) -> None:
    s = cni(prefix_delegation=True, warm_prefix_target=1)
    got = [node_addresses(CAT.get(name), s, p) for p in (0, 10, 30)]
    assert [a.subnet_ips for a in got] == [17, 33, 49]
    assert {a.enis_attached for a in got} == {1}
    assert {a.mode for a in got} == {PoolMode.PREFIX}


def test_prefix_table_with_ip_targets() -> None:
    # docs/prefix-and-ip-target.md: p3dn, WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10
    t = instances.InstanceType(
        name="p3dn.24xlarge",
        max_enis=15,
        ipv4_per_eni=50,
        vcpus=96,
        memory_mib=786432,
        hypervisor="nitro",
        bare_metal=False,
    )
    s = cni(prefix_delegation=True, warm_ip_target=5, minimum_ip_target=10)
    assert [node_addresses(t, s, p).prefixes for p in (0, 7, 15, 45)] == [1, 1, 2, 4]


def test_warm_eni_zero_and_two() -> None:
    r5 = CAT.get("r5.xlarge")
    assert node_addresses(r5, cni(warm_eni_target=0), 0).enis_attached == 1
    assert node_addresses(r5, cni(warm_eni_target=0), 14).enis_attached == 2
    assert node_addresses(r5, cni(warm_eni_target=2), 0).subnet_ips == 30


def test_minimum_without_warm_ip_never_grows() -> None:
    a = node_addresses(CAT.get("r5.xlarge"), cni(minimum_ip_target=10), 20)
    assert (a.pool_ips, a.pods_without_ip) == (10, 10)


def test_max_pods_cap_limits_the_pool_from_v1_17_1() -> None:
    c5 = CAT.get("c5.18xlarge")
    for version, enis in (("v1.17.0", 15), ("v1.17.1", 3)):
        a = node_addresses(c5, cni(version, warm_eni_target=15), 0, kubelet_max_pods=110)
        assert a.enis_attached == enis, version


def test_env_parsing() -> None:
    s = CniSettings.from_env(
        V110,
        {
            "WARM_ENI_TARGET": "2",
            "ENABLE_PREFIX_DELEGATION": "true",
            "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false",
        },
    )
    assert (s.warm_eni_target, s.prefix_delegation, s.custom_networking) == (2, True, False)
    with pytest.raises(BadInputError, match="WARM_IP_TARGET"):
        CniSettings.from_env(V110, {"WARM_IP_TARGET": "five"})
    with pytest.raises(BadInputError):
        CniSettings(version=V110, warm_eni_target=-1)


# --- invariants -------------------------------------------------------------

TYPES = st.sampled_from(sorted(CAT.types))
VERSIONS = st.sampled_from(
    ["v1.3.2", "v1.5.5", "v1.6.3", "v1.9.0", "v1.12.6", "v1.17.1", "v1.20.1"]
)
TARGET = st.none() | st.integers(min_value=0, max_value=40)


@st.composite
def settings_strategy(draw: st.DrawFn) -> CniSettings:
    return CniSettings(
        version=Version.parse(draw(VERSIONS)),
        warm_eni_target=draw(st.none() | st.integers(0, 4)),
        warm_ip_target=draw(TARGET),
        minimum_ip_target=draw(TARGET),
        warm_prefix_target=draw(st.none() | st.integers(0, 4)),
        max_eni=draw(st.none() | st.integers(1, 16)),
        prefix_delegation=draw(st.booleans()),
        custom_networking=draw(st.booleans()),
    )


@settings(max_examples=400, deadline=None)
@given(TYPES, settings_strategy(), st.integers(0, 800), st.integers(0, 50), st.booleans())
def test_more_pods_never_fewer_addresses(
    name: str, s: CniSettings, pods: int, more: int, cap: bool
) -> None:
    t = CAT.get(name)
    mp = max_pods(t, s, calculator_cap=cap).value
    a = node_addresses(t, s, pods, kubelet_max_pods=mp)
    b = node_addresses(t, s, pods + more, kubelet_max_pods=mp)
    assert b.subnet_ips >= a.subnet_ips
    assert b.peak_ips >= a.peak_ips
    assert a.peak_ips >= a.subnet_ips


@settings(max_examples=400, deadline=None)
@given(TYPES, settings_strategy(), st.booleans(), st.integers(0, 800))
def test_max_pods_at_least_two_and_addresses_bounded(
    name: str, s: CniSettings, cap: bool, pods: int
) -> None:
    t = CAT.get(name)
    mp = max_pods(t, s, calculator_cap=cap)
    assert mp.value >= 2
    assert mp.value <= mp.uncapped
    a = node_addresses(t, s, pods, kubelet_max_pods=mp.value)
    assert a.enis_attached <= t.max_enis
    assert a.pods_with_ip <= mp.pod_ip_capacity
    # never more addresses than the instance can carry
    assert a.subnet_ips <= t.max_enis * t.ipv4_per_eni * (16 if a.prefixes else 1)
