"""The catalog's ipamd metric families per CNI release agree with the names the team
extracted upstream (``../shared/upstream/vpc-cni-metrics/<tag>.txt``) at every tag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from upgrader.catalog.cni_metrics import metric_names, metric_specs
from upgrader.semver import Version

# The upstream extraction matched ``[a-z_]*``: it lacks every name with a digit in it.
HAS_DIGIT = re.compile(r"\d")


def _tags(upstream: Path) -> list[Path]:
    return sorted((upstream / "vpc-cni-metrics").glob("v*.txt"))


def test_every_upstream_tag_is_covered(upstream: Path) -> None:
    assert len(_tags(upstream)) >= 20


@pytest.mark.parametrize("tag", [f"v1.{m}" for m in range(3, 24)])
def test_names_equal_upstream_at_each_tag(upstream: Path, tag: str) -> None:
    (path,) = [p for p in _tags(upstream) if p.stem.startswith(tag + ".")]
    theirs = {line.strip() for line in path.read_text().splitlines() if line.strip()}
    ours = {n for n in metric_names(Version.parse(path.stem)) if not HAS_DIGIT.search(n)}
    assert ours == theirs, (path.stem, sorted(ours ^ theirs))


def test_prefix_arrives_in_v1_4_and_the_typo_is_fixed_in_v1_5() -> None:
    old = metric_names(Version.parse("v1.3.4"))
    assert "eni_max" in old and "awscni_eni_max" not in old
    v14 = metric_names(Version.parse("v1.4.1"))
    assert "awscni_eni_max" in v14 and "awscni_aws_api_lantency_ms" in v14
    v15 = metric_names(Version.parse("v1.5.7"))
    assert "awscni_aws_api_latency_ms" in v15 and "awscni_aws_api_lantency_ms" not in v15


def test_every_family_has_a_kind_and_help() -> None:
    for minor in range(0, 24):
        for spec in metric_specs(Version.parse(f"v1.{minor}.0")):
            assert spec.kind in {"gauge", "counter", "summary", "histogram"}, spec
            assert spec.help, spec
