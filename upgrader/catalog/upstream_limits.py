"""Generate the catalog's data from the VPC CNI's own instance limits tables.

Input: ``vpc-cni-limits/<tag>.tsv`` (the table compiled into ipamd at each release tag,
v1.0.0 … v1.6.4) and ``vpc-cni-limits/master.tsv``, under the shared upstream directory
(provenance in its ``SOURCES.md``); columns ``instance_type enis ipv4_per_eni hypervisor
bare_metal``. Output, in ``upgrader/catalog/data/``:

* ``ipamd_instance_types.tsv``: per type compiled into a release before the EC2
  fallback, the first (and, if dropped, last) release whose table lists it;
* ``instance_types_upstream.csv``: the types these tables know and the EC2 dump
  (``instance_types.csv``) lacks, with master's limits (else the newest tag's); vCPUs
  and memory empty (unknown), network cards left at the defaults.

Regenerate with::

    python -m upgrader.catalog.upstream_limits --upstream ../shared/upstream
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from upgrader.catalog import instances
from upgrader.catalog.instances import InstanceType
from upgrader.catalog.ipamd_types import TABLE, CompiledIn, fallback_since, to_tsv
from upgrader.semver import Version

LIMITS_DIR = "vpc-cni-limits"
MASTER = "master"
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """One row of an upstream table; ``hypervisor`` and ``bare_metal`` only in master."""

    enis: int
    ipv4_per_eni: int
    hypervisor: str = ""
    bare_metal: bool = False


# A table by type; None where it lists a type without one of its limits (v1.4.x has the
# ENIs of r5ad.* but not their IPv4 limit): that release's ipamd cannot size the type.
Table = Mapping[str, Limits | None]


@dataclass(frozen=True, slots=True)
class Upstream:
    """The per-tag tables and master's."""

    tags: Mapping[Version, Table]
    master: Table


def _row(r: Mapping[str, str]) -> Limits | None:
    if "None" in (r["enis"], r["ipv4_per_eni"]):
        return None
    return Limits(
        enis=int(r["enis"]),
        ipv4_per_eni=int(r["ipv4_per_eni"]),
        hypervisor="" if r["hypervisor"] in ("", "unknown") else r["hypervisor"],
        bare_metal=r["bare_metal"] == "true",
    )


def read_table(path: Path) -> dict[str, Limits | None]:
    """One ``<tag>.tsv``; master's ``unknown`` hypervisor (bare metal) becomes empty, as
    EC2 reports it."""
    with path.open(newline="") as fh:
        return {r["instance_type"]: _row(r) for r in csv.DictReader(fh, delimiter="\t")}


def read_upstream(upstream_dir: Path) -> Upstream:
    """Every table under ``upstream_dir/vpc-cni-limits``; a missing folder raises."""
    folder = upstream_dir / LIMITS_DIR
    if not (folder / f"{MASTER}.tsv").is_file():
        raise FileNotFoundError(f"{folder}: no {MASTER}.tsv (pass the shared upstream folder)")
    tags = {Version.parse(p.stem): read_table(p) for p in sorted(folder.glob("v*.tsv"))}
    return Upstream(dict(sorted(tags.items())), read_table(folder / f"{MASTER}.tsv"))


def compiled_spans(upstream: Upstream, before: Version) -> dict[str, CompiledIn]:
    """Per type, the tags before ``before`` whose table has both its limits, as one span;
    a type that leaves and comes back would need more than a span and raises ValueError."""
    tags = [t for t in upstream.tags if t < before]
    spans: dict[str, CompiledIn] = {}
    for name in sorted({n for t in tags for n in upstream.tags[t]}):
        listed = [upstream.tags[t].get(name) is not None for t in tags]
        if not any(listed):
            continue
        first, last = listed.index(True), len(listed) - 1 - listed[::-1].index(True)
        if not all(listed[first : last + 1]):
            raise ValueError(f"{name}: listed, dropped and listed again before {before.tag}")
        spans[name] = CompiledIn(tags[first], None if last == len(tags) - 1 else tags[last])
    return spans


def upstream_only_types(upstream: Upstream, ec2: Mapping[str, InstanceType]) -> list[InstanceType]:
    """The types the upstream tables know and ``ec2`` lacks: master's row, else the
    newest tag's with both limits."""
    rows: dict[str, Limits] = {}
    for table in (*upstream.tags.values(), upstream.master):  # the newest complete row wins
        rows.update((name, row) for name, row in table.items() if row is not None)
    return [
        InstanceType(
            name=name,
            max_enis=row.enis,
            ipv4_per_eni=row.ipv4_per_eni,
            vcpus=None,
            memory_mib=None,
            hypervisor=row.hypervisor,
            bare_metal=row.bare_metal,
        )
        for name, row in sorted(rows.items())
        if name not in ec2
    ]


def limit_differences(
    upstream: Upstream, ec2: Mapping[str, InstanceType]
) -> list[tuple[str, str, int, int]]:
    """``(type, field, EC2 figure, master figure)`` where both know a type and disagree
    on its ENIs or IPv4 addresses per ENI; the catalog keeps the EC2 figure."""
    out = []
    for name, row in sorted(upstream.master.items()):
        t = ec2.get(name)
        if t is None or row is None:
            continue
        if t.max_enis != row.enis:
            out.append((name, "max_enis", t.max_enis, row.enis))
        if t.ipv4_per_eni != row.ipv4_per_eni:
            out.append((name, "ipv4_per_eni", t.ipv4_per_eni, row.ipv4_per_eni))
    return out


def generate(upstream_dir: Path) -> dict[str, str]:
    """The generated data files' names and texts."""
    upstream = read_upstream(upstream_dir)
    ec2 = instances.bundled_table(instances.EC2_TABLE)
    return {
        TABLE: to_tsv(compiled_spans(upstream, fallback_since())),
        instances.UPSTREAM_TABLE: instances.to_csv(upstream_only_types(upstream, ec2)),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: write (or with ``--check``, compare) the generated files."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--upstream", type=Path, required=True, help="shared upstream folder")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="data folder to write")
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ")
    args = parser.parse_args(argv)
    stale = []
    for name, text in generate(args.upstream).items():
        path = args.out / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
            continue
        path.write_text(text)
        print(f"wrote {path} ({text.count(chr(10)) - 1} rows)", file=sys.stderr)
    if stale:
        print(f"stale: {', '.join(stale)}; run without --check to regenerate", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
