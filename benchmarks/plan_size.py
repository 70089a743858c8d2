"""Plan-file size benchmark: how big is the plan of a 5,000-node cluster, against the
plan reader's size limit (``upgrader.textfile.PLAN_LIMIT``)?

Builds the state with the unit tests' cluster builder (10 self-managed groups over three
/14 subnets, 20 pods per node), plans the roll to 1.13 and prints the plan's size, the
time taken and the ratio of the limit to the size, all measured in this one run.

    PYTHONPATH=. python benchmarks/plan_size.py [--nodes 5000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from tests.unit import cluster_states as cs
from upgrader.planner import make_plan
from upgrader.textfile import PLAN_LIMIT

AZS = "acd"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=10)
    args = parser.parse_args()
    subnets = tuple(
        cs.SubnetSpec(name=f"s-{z}", az=f"ap-northeast-1{z}", cidr=f"10.{4 * i}.0.0/14")
        for i, z in enumerate(AZS)
    )
    groups = tuple(
        cs.GroupSpec(
            name=f"g{g}",
            stack=f"staging-g{g}",
            kind="self-managed",
            instance_type="r5.xlarge",
            subnets=tuple(f"s-{AZS[i % len(AZS)]}" for i in range(args.nodes // args.groups)),
            pods_per_node=20,
        )
        for g in range(args.groups)
    )
    started = time.monotonic()
    state = cs.build(replace(cs.STAGING_SPEC, subnets=subnets, groups=groups, pdbs=()))
    text = make_plan(state, cs.config(state, target="1.13")).dumps()
    seconds = time.monotonic() - started
    size = len(text.encode())
    print(f"{len(state.nodes)} nodes: plan {size:,} bytes in {seconds:.1f} s")
    print(f"limit {PLAN_LIMIT:,} bytes = {PLAN_LIMIT / size:.0f} x this plan")


if __name__ == "__main__":
    main()
