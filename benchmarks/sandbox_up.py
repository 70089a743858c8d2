"""Sandbox start-up benchmark: wall time of `sandbox up` for Staging and for a
generated N-node scenario, measured in one run, with the per-node ratio.

Both go through the real path: the background daemon, moto over HTTP inside it,
stacks deployed by CloudFormation, nodes registered and every pod given an ENI
address. Target (issue 3): Staging under 30 s.

    python benchmarks/sandbox_up.py [--nodes 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from upgrader.sandbox import control

AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a")


def scenario(nodes: int) -> dict[str, object]:
    """Four /20 subnets, four self-managed groups of m5.xlarge, ~15 pods per node."""
    groups = 4
    per_group = nodes // groups
    subnets = [
        {"name": f"big-{i}", "az": AZS[i], "cidr": f"10.40.{16 * i}.0/20"} for i in range(groups)
    ]
    return {
        "name": "big",
        "region": "eu-west-1",
        "kubernetes": "1.31",
        "cni": {"version": "v1.19.2", "env": {"WARM_ENI_TARGET": "1"}},
        "subnets": subnets,
        "control_plane_subnets": [s["name"] for s in subnets[:3]],
        "nodegroups": [
            {
                "name": f"workers-{i}",
                "kind": "self-managed",
                "instance_type": "m5.xlarge",
                "desired": per_group,
                "subnets": [subnets[i]["name"]],
            }
            for i in range(groups)
        ],
        "workloads": [
            {
                "namespace": f"team-{i}",
                "name": f"svc-{i}",
                "replicas": per_group * 15 // 10,
                "cpu": "50m",
                "memory": "64Mi",
            }
            for i in range(groups * 10)
        ],
        "target": {"kubernetes": "1.32"},
    }


def timed_up(ref: str, directory: Path) -> float:
    started = time.monotonic()
    control.up(ref, directory)
    seconds = time.monotonic() - started
    control.down(directory)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        staging = timed_up("staging", root / "staging")
        path = root / "big.yaml"
        spec = scenario(args.nodes)
        path.write_text(yaml.safe_dump(spec))
        big = timed_up(str(path), root / "big")
    pods = sum(int(w["replicas"]) for w in spec["workloads"])  # type: ignore[attr-defined]
    print(
        f"staging (2 nodes, 56 pods): up in {staging:.1f} s (target < 30 s: "
        f"{'met' if staging < 30 else 'MISSED'})"
    )
    print(f"generated ({args.nodes} nodes, {pods} pods): up in {big:.1f} s")
    print(
        f"ratio {args.nodes}-node / staging: {big / staging:.1f}; "
        f"per node {big / args.nodes * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
