"""Generate the instance catalog from EC2 DescribeInstanceTypes records.

Two sources, same record shape:

* ``--from ec2`` (live): calls EC2 DescribeInstanceTypes (paginated) in each
  ``--region`` with the standard AWS credential chain and merges the results.
* ``--from moto`` (offline, default): moto's bundled
  ``moto/ec2/resources/instance_types.json.gz``, a dump of DescribeInstanceTypes
  from AWS that moto refreshes each release (the version is pinned in pyproject).

Regenerate the bundled table with::

    python -m upgrader.adapters.instance_catalog --from moto \\
        -o upgrader/catalog/data/instance_types.csv
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3

from upgrader.catalog.instances import InstanceType, from_describe_instance_types, to_csv


def describe_instance_types(region: str, endpoint_url: str | None = None) -> Iterator[InstanceType]:
    """Every instance type EC2 offers in ``region``: one call per page."""
    client = boto3.client("ec2", region_name=region, endpoint_url=endpoint_url)
    for page in client.get_paginator("describe_instance_types").paginate():
        for record in page["InstanceTypes"]:
            yield from_describe_instance_types(record)


def moto_records() -> list[Mapping[str, Any]]:
    """DescribeInstanceTypes records bundled with the installed moto package."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "moto is not installed: pip install 'moto==5.2.5' (see pyproject dev extras)"
        )
    path = (
        Path(next(iter(spec.submodule_search_locations))) / "ec2/resources/instance_types.json.gz"
    )
    with gzip.open(path) as fh:
        data: dict[str, Mapping[str, Any]] = json.load(fh)
    return list(data.values())


def merge(types: Iterable[InstanceType]) -> dict[str, InstanceType]:
    """One entry per name; the first source listed wins."""
    out: dict[str, InstanceType] = {}
    for t in types:
        out.setdefault(t.name, t)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of the generator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", choices=("moto", "ec2"), default="moto")
    parser.add_argument("--region", action="append", default=[], help="EC2 regions (repeat)")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.source == "moto":
        types = merge(from_describe_instance_types(r) for r in moto_records())
    else:
        regions = args.region or ["us-east-1"]
        types = merge(
            t for region in regions for t in describe_instance_types(region, args.endpoint_url)
        )
    args.out.write_text(to_csv(types.values()))
    print(f"wrote {len(types)} instance types to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
