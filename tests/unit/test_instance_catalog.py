"""The bundled instance catalog against AWS's own eni-max-pods.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.catalog import instances
from upgrader.errors import ExitCode, UnknownInstanceTypeError
from upgrader.semver import Version

STD = CniSettings(version=Version.parse("v1.19.0"))

# Listed in eni-max-pods.txt but absent from every DescribeInstanceTypes dump we
# generate from: retired generations (cr1, hs1, f1, p3, g4ad, dl1, u-*tb1.metal,
# bmn-sf1, c5a/c5ad metal) that the CNI generator keeps through hard-coded
# "manual limits", and c7i.32xlarge, which the dump does not carry.
KNOWN_MISSING = {
    "bmn-sf1.metal",
    "c5a.metal",
    "c5ad.metal",
    "c7i.32xlarge",
    "cr1.8xlarge",
    "dl1.24xlarge",
    "f1.16xlarge",
    "f1.2xlarge",
    "f1.4xlarge",
    "g4ad.16xlarge",
    "g4ad.2xlarge",
    "g4ad.4xlarge",
    "g4ad.8xlarge",
    "g4ad.xlarge",
    "hs1.8xlarge",
    "p3.16xlarge",
    "p3.2xlarge",
    "p3.8xlarge",
    "u-12tb1.metal",
    "u-18tb1.metal",
    "u-24tb1.metal",
    "u-6tb1.metal",
    "u-9tb1.metal",
}
# Retired before the current DescribeInstanceTypes dumps, listed only by the 2019 AMI file.
RETIRED_BY_2019_FILE = {
    "cc2.8xlarge",
    "g2.2xlarge",
    "g2.8xlarge",
    "g3.16xlarge",
    "g3.4xlarge",
    "g3.8xlarge",
    "g3s.xlarge",
    "i3.metal",
    "p2.16xlarge",
    "p2.8xlarge",
    "p2.xlarge",
}
# Two-card types where the upstream file counts the ENIs of both cards
# (15 = 8 + 7, 24 = 12 + 12) while ipamd attaches pod ENIs on the default card
# only; the catalog keeps the default card's count and records the total.
MULTI_CARD_DIFFERENCES = {"i7ie.48xlarge", "i7ie.metal-48xl", "i8ge.48xlarge", "i8ge.metal-48xl"}
# The hand-maintained 2019 AMI list had 452 for these; EC2 and every later
# generated list give 394 / 737 / 737 (the test on the newer files pins those).
ERRATA_2019 = {"h1.16xlarge": 452, "i3.16xlarge": 452, "r4.16xlarge": 452}


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
    print(f"{relpath}: compared {compared} of {len(expected)} types; missing {len(missing)}")
    assert not wrong, f"max_pods differs from {relpath}: {wrong}"
    allowed = KNOWN_MISSING | RETIRED_BY_2019_FILE
    assert set(missing) <= allowed, f"catalog lacks types: {sorted(set(missing) - allowed)}"
    assert compared >= len(expected) - len(allowed) - len(MULTI_CARD_DIFFERENCES)


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
