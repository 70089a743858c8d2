"""The catalog against the VPC CNI's own limits tables (``../shared/upstream/vpc-cni-limits``):
the instance types each ipamd release knows, the types only those tables list, and where
they disagree with EC2."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import UPSTREAM
from upgrader.catalog import instances, upstream_limits
from upgrader.catalog.ipamd_types import ipamd_types
from upgrader.catalog.versions import catalog
from upgrader.semver import Version

needs_upstream = pytest.mark.skipif(
    not (UPSTREAM / upstream_limits.LIMITS_DIR).is_dir(),
    reason=f"upstream limits tables not found at {UPSTREAM} (set UPGRADER_SHARED)",
)

# Where EC2 DescribeInstanceTypes and master's table disagree on a limit; the catalog keeps
# EC2's figure. These four have two network cards: master counts the ENIs of both (15 = 8
# + 7, 24 = 12 + 12), EC2's default card is what ipamd attaches pod ENIs on.
DIFFERENCES = [
    ("i7ie.48xlarge", "max_enis", 8, 15),
    ("i7ie.metal-48xl", "max_enis", 8, 15),
    ("i8ge.48xlarge", "max_enis", 12, 24),
    ("i8ge.metal-48xl", "max_enis", 12, 24),
]


def _v(tag: str) -> Version:
    return Version.parse(tag)


def _table(tag: str) -> dict[str, tuple[str, str]]:
    path = UPSTREAM / upstream_limits.LIMITS_DIR / f"{tag}.tsv"
    with path.open(newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return {r["instance_type"]: (r["enis"], r["ipv4_per_eni"]) for r in rows}


@needs_upstream
def test_shipped_files_equal_regeneration() -> None:
    data = Path(instances.__file__).parent / "data"
    for name, text in upstream_limits.generate(UPSTREAM).items():
        assert (data / name).read_text() == text, (
            f"{name} is stale: python -m upgrader.catalog.upstream_limits --upstream {UPSTREAM}"
        )


@needs_upstream
@pytest.mark.parametrize(
    "release", [r for r in catalog().cni_releases() if r < ipamd_types().fallback_since]
)
def test_each_release_knows_exactly_its_compiled_table(release: Version) -> None:
    table = _table(release.tag)
    complete = {t for t, limits in table.items() if "None" not in limits}
    assert ipamd_types().known_by(release) == complete


@needs_upstream
def test_every_master_type_has_master_limits_unless_ec2_differs() -> None:
    cat = instances.bundled()
    differs = {(name, field) for name, field, _, _ in DIFFERENCES}
    for name, (enis, ipv4) in _table("master").items():
        t = cat.get(name)
        if (name, "max_enis") not in differs:
            assert t.max_enis == int(enis), name
        if (name, "ipv4_per_eni") not in differs:
            assert t.ipv4_per_eni == int(ipv4), name


@needs_upstream
def test_ec2_and_master_differences_are_the_golden_list() -> None:
    upstream = upstream_limits.read_upstream(UPSTREAM)
    ec2 = instances.bundled_table(instances.EC2_TABLE)
    assert upstream_limits.limit_differences(upstream, ec2) == DIFFERENCES
    for name, field, ec2_figure, _ in DIFFERENCES:
        assert getattr(instances.bundled().get(name), field) == ec2_figure


@needs_upstream
def test_g4dn_first_release_is_the_first_tag_that_lists_it() -> None:
    tags = sorted(
        (_v(p.stem) for p in (UPSTREAM / upstream_limits.LIMITS_DIR).glob("v*.tsv")),
    )
    first = next(t for t in tags if "g4dn.xlarge" in _table(t.tag))
    gap = ipamd_types().gap(_v("v1.5.0"), "g4dn.xlarge")
    assert gap is not None and gap.first_knowing == first == _v("v1.5.4")
    assert gap.usable == _v("v1.5.5")  # v1.5.4 is banned
    assert "v1.5.4 is the first release that knows it" in gap.fixed_by
    assert "banned" in gap.fixed_by and "use v1.5.5" in gap.fixed_by


def test_upstream_only_types_have_limits_and_no_invented_figures() -> None:
    cat = instances.bundled()
    only = instances.bundled_table(instances.UPSTREAM_TABLE)
    assert {"p3.2xlarge", "f1.2xlarge", "dl1.24xlarge", "g4ad.xlarge"} <= set(only)
    assert not set(only) & set(instances.bundled_table(instances.EC2_TABLE))
    for name in only:
        t = cat.get(name)
        assert t.max_enis > 0 and t.ipv4_per_eni > 0, name
        assert t.vcpus is None and t.memory_mib is None, name


def test_from_v1_6_0_every_type_is_known() -> None:
    table = ipamd_types()
    assert table.fallback_since == _v("v1.6.0")
    for release in ("v1.6.0", "v1.6.4", "v1.23.0"):
        assert table.known_by(_v(release)) is None
        assert table.knows(_v(release), "g4ad.xlarge")
        assert table.gap(_v(release), "no.such-type") is None
    # g4ad is in no compiled table: the first release that knows it is the EC2 fallback
    assert table.first_knowing(_v("v1.5.7"), "g4ad.xlarge") == _v("v1.6.0")


def test_a_limit_missing_from_the_table_means_unknown() -> None:
    table = ipamd_types()  # v1.4.x lists r5ad.* ENIs but not their IPv4 limit
    assert not table.knows(_v("v1.4.1"), "r5ad.xlarge")
    assert table.knows(_v("v1.5.0"), "r5ad.xlarge")


def test_a_dropped_type_is_known_again_only_through_the_fallback() -> None:
    table = ipamd_types()
    assert table.knows(_v("v1.0.0"), "cg1.4xlarge")
    assert not table.knows(_v("v1.3.0"), "cg1.4xlarge")
    assert table.first_knowing(_v("v1.3.0"), "cg1.4xlarge") == _v("v1.6.0")


def test_v1_5_6_is_no_release() -> None:
    assert _v("v1.5.6") not in catalog().cni_releases()
    assert all(s.first != _v("v1.5.6") for s in ipamd_types().compiled.values())
