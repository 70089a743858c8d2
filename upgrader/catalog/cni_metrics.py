"""The Prometheus metrics ipamd registers at each VPC CNI release (``data/cni_metrics``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from upgrader.semver import Version

METRICS_PORT = 61678


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric family: ``kind`` is gauge, counter, summary or histogram."""

    name: str
    kind: str
    labels: tuple[str, ...]
    help: str


@cache
def _tables() -> tuple[tuple[Version, tuple[MetricSpec, ...]], ...]:
    folder = resources.files("upgrader.catalog").joinpath("data/cni_metrics")
    tables = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".tsv"):
            continue
        rows = entry.read_text().splitlines()[1:]
        specs = []
        for row in rows:
            name, kind, labels, help_ = row.split("\t")
            specs.append(MetricSpec(name, kind, tuple(filter(None, labels.split(","))), help_))
        tables.append((Version.parse(entry.name.removesuffix(".tsv")), tuple(specs)))
    return tuple(sorted(tables, key=lambda t: t[0]))


def metric_specs(version: Version) -> tuple[MetricSpec, ...]:
    """The metrics of release ``version`` (those of the newest table tag at or before it)."""
    found: tuple[MetricSpec, ...] = ()
    for tag, specs in _tables():
        if tag > version:
            break
        found = specs
    return found


def metric_names(version: Version) -> frozenset[str]:
    return frozenset(s.name for s in metric_specs(version))
