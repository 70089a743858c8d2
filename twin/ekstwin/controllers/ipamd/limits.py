"""ENI and IPv4 limits as each release's ipamd knows them: the table compiled into it
(package data ``ekstwin/data/vpc_cni_limits``, provenance in its SOURCES.md), then, from
v1.6.0, EC2 DescribeInstanceTypes for types the table lacks (v1.6.0, #782)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from upgrader.semver import Version

DATA = "data/vpc_cni_limits"
MASTER = "master"
MASTER_FROM = Version.parse("v1.7.0")  # no per-tag tables after v1.6.4: master stands in


@dataclass(frozen=True, slots=True)
class Limits:
    """``enis`` attachable, ``ipv4_per_eni`` with the primary; ``nitro`` None if unknown."""

    enis: int
    ipv4_per_eni: int
    nitro: bool | None
    source: str

    @property
    def slots(self) -> int:
        """Secondary IPs (or /28 prefixes) per ENI: GetENIipLimit() = IPv4Limit - 1."""
        return self.ipv4_per_eni - 1


# DescribeInstanceTypes as the twin's EC2 answers it: (enis, ipv4 per ENI, nitro) or None.
Describe = Callable[[str], "Limits | None"]


@cache
def tags() -> tuple[Version, ...]:
    """The release tags with a shipped table, oldest first."""
    folder = resources.files("ekstwin").joinpath(DATA)
    names = [p.name.removesuffix(".tsv") for p in folder.iterdir() if p.name.endswith(".tsv")]
    return tuple(sorted(Version.parse(n) for n in names if n != MASTER))


def table_for(version: Version) -> str:
    """The table compiled into ``version``: the newest tag at or before it (master from v1.7)."""
    if version >= MASTER_FROM:
        return MASTER
    older = [t for t in tags() if t <= version]
    return (older[-1] if older else tags()[0]).tag


@cache
def table(name: str) -> dict[str, Limits]:
    """One compiled table. A type in only one of the two maps (``None``: v1.4.x lists
    r5ad.* ENIs without their IPs) is unknown: GetENIipLimit fails for it as for any."""
    text = resources.files("ekstwin").joinpath(f"{DATA}/{name}.tsv").read_text()
    found = {}
    for r in csv.DictReader(io.StringIO(text), delimiter="\t"):
        if not (r["enis"].isdigit() and r["ipv4_per_eni"].isdigit()):
            continue
        nitro = r["hypervisor"] == "nitro" or r["bare_metal"] == "true"
        found[r["instance_type"]] = Limits(
            enis=int(r["enis"]),
            ipv4_per_eni=int(r["ipv4_per_eni"]),
            nitro=nitro if r.get("hypervisor") else None,
            source=f"{name} table",
        )
    return found


def compiled(version: Version, instance_type: str) -> Limits | None:
    """The limits compiled into ``version`` for ``instance_type``, or None."""
    return table(table_for(version)).get(instance_type)
