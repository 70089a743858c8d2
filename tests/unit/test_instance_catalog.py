"""The bundled instance catalog against AWS's own eni-max-pods.txt (every type listed
there is in the catalog: the EC2 dump plus the types only the VPC CNI's tables know)."""

from __future__ import annotations

from pathlib import Path

import pytest

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.catalog import instances
from upgrader.errors import ExitCode, UnknownInstanceTypeError
from upgrader.semver import Version

STD = CniSettings(version=Version.parse("v1.19.0"))

# Two-card types where the upstream file counts the ENIs of both cards
# (15 = 8 + 7, 24 = 12 + 12) while ipamd attaches pod ENIs on the default card
# only; the catalog keeps the default card's count and records the total.
MULTI_CARD_DIFFERENCES = {"i7ie.48xlarge", "i7ie.metal-48xl", "i8ge.48xlarge", "i8ge.metal-48xl"}
# The hand-maintained 2019 AMI list had 452 for these; EC2 and every later
# generated list give 394 / 737 / 737 (the test on the newer files pins those). The
# same for f1.16xlarge and g3.16xlarge (242 and 452 there): ipamd's own table moved them
# from 31 to 50 addresses per ENI by v1.5.x, and master lists f1.16xlarge at 394.
ERRATA_2019 = {
    "h1.16xlarge": 452,
    "i3.16xlarge": 452,
    "r4.16xlarge": 452,
    "f1.16xlarge": 242,
    "g3.16xlarge": 452,
}


def read_eni_max_pods(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.split()
        out[name] = int(value)
    return out


@pytest.mark.parametrize(
    "relpath",
    [
        "amazon-vpc-cni-k8s/misc/eni-max-pods.txt",
        "amazon-eks-ami/files/eni-max-pods.txt",
        "amazon-eks-ami/templates/shared/runtime/eni-max-pods.txt",
    ],
)
def test_max_pods_equals_upstream_file(upstream: Path, relpath: str) -> None:
    expected = read_eni_max_pods(upstream / relpath)
    catalog = instances.bundled()
    compared, wrong = 0, {}
    for name, value in expected.items():
        if name not in catalog or name in MULTI_CARD_DIFFERENCES:
            continue
        if relpath.endswith("files/eni-max-pods.txt") and ERRATA_2019.get(name) == value:
            continue
        compared += 1
        got = max_pods(catalog.get(name), STD).value
        if got != value:
            wrong[name] = (got, value)
    missing = sorted(set(expected) - set(catalog.types))
    print(f"{relpath}: compared {compared} of {len(expected)} types")
    assert not wrong, f"max_pods differs from {relpath}: {wrong}"
    assert not missing, f"catalog lacks types: {missing}"
    assert compared == len(expected) - len(set(expected) & MULTI_CARD_DIFFERENCES) - sum(
        relpath.endswith("files/eni-max-pods.txt") and ERRATA_2019.get(n) == v
        for n, v in expected.items()
    )


def test_multi_card_differences_are_the_other_cards(upstream: Path) -> None:
    expected = read_eni_max_pods(upstream / "amazon-vpc-cni-k8s/misc/eni-max-pods.txt")
    for name in MULTI_CARD_DIFFERENCES:
        t = instances.bundled().get(name)
        assert t.network_cards == 2
        assert t.max_enis_all_cards * (t.ipv4_per_eni - 1) + 2 == expected[name]


def test_the_four_research_types() -> None:
    cat = instances.bundled()
    got = {
        n: (cat.get(n).max_enis, cat.get(n).ipv4_per_eni, cat.get(n).vcpus)
        for n in ("r5.xlarge", "m5.large", "t3.medium", "c5.18xlarge")
    }
    assert got == {
        "r5.xlarge": (4, 15, 4),
        "m5.large": (3, 10, 2),
        "t3.medium": (3, 6, 2),
        "c5.18xlarge": (15, 50, 72),
    }
    assert cat.get("r5.xlarge").memory_mib == 32768
    assert cat.get("r5.xlarge").nitro
    assert not cat.get("m4.large").nitro


def test_unknown_type_is_a_clear_bad_input_error() -> None:
    with pytest.raises(UnknownInstanceTypeError) as info:
        instances.bundled().get("r5.huge")
    err = info.value
    assert err.exit_code == ExitCode.BAD_INPUT
    assert "r5.huge" in err.subject
    assert "r5.xlarge" in err.message
    assert "catalog refresh" in err.hint


def test_unknown_figures_round_trip_and_show_as_a_dash() -> None:
    p3 = instances.bundled().get("p3.2xlarge")
    assert (p3.max_enis, p3.ipv4_per_eni, p3.vcpus, p3.memory_mib) == (4, 15, None, None)
    assert instances.from_csv(instances.to_csv([p3])) == {"p3.2xlarge": p3}
    assert (instances.shown(p3.vcpus), instances.memory_shown(p3.memory_mib)) == ("—", "—")
    assert instances.memory_shown(32768) == "32 GiB"
    assert max_pods(p3, STD, calculator_cap=True).value == 58  # no ceiling without vCPUs


def test_csv_round_trip_is_stable() -> None:
    cat = instances.bundled()
    text = instances.to_csv(cat.types.values())
    assert instances.from_csv(text) == dict(cat.types)
    assert text == instances.to_csv(instances.from_csv(text).values())


def test_overlay_adds_and_replaces(tmp_path: Path) -> None:
    new = instances.InstanceType(
        name="z9.large",
        max_enis=3,
        ipv4_per_eni=10,
        vcpus=2,
        memory_mib=4096,
        hypervisor="nitro",
        bare_metal=False,
    )
    overlay = tmp_path / "types.csv"
    overlay.write_text(instances.to_csv([new]))
    cat = instances.load(overlay)
    assert cat.get("z9.large") == new
    assert "r5.xlarge" in cat
    assert instances.load(tmp_path / "absent.csv") is instances.bundled()
