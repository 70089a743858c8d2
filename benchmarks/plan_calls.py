"""AWS-call benchmark (issue 15): the AWS calls of ``upgrader plan`` on a large cluster
against those on a small one, counted from the twin's own request log.

Two sandboxes of the same shape (one self-managed and one managed group over three AZs)
differ only in their node count; each is planned once through the real path (discovery,
gates, change sets) and the requests the twin logged during that plan are counted, per
action. Target: calls(large) / calls(small) <= 1.5: discovery pages, it never asks per
node.

    python benchmarks/plan_calls.py [--small 10] [--large 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from upgrader.pipeline.plan import plan
from upgrader.sandbox import control
from upgrader.sandbox import directory as files
from upgrader.sandbox.directory import CLOCK_ENV

TARGET = 1.5
AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def scenario(name: str, nodes: int) -> dict[str, Any]:
    """``nodes`` split between a managed and a self-managed group, in three /18 subnets."""
    subnets = [
        {"name": f"{name}-{az[-1]}", "az": az, "cidr": f"10.40.{i * 64}.0/18", "used": 10}
        for i, az in enumerate(AZS)
    ]
    names = [s["name"] for s in subnets]
    managed = max(nodes // 2, 1)
    return {
        "name": name,
        "region": "eu-west-1",
        "kubernetes": "1.31",
        "cni": {"version": "v1.19.2", "env": {"WARM_ENI_TARGET": "1"}},
        "subnets": subnets,
        "control_plane_subnets": names,
        "nodegroups": [
            {
                "name": "general",
                "kind": "managed",
                "instance_type": "m5.large",
                "desired": managed,
                "subnets": names,
            },
            {
                "name": "memory",
                "kind": "self-managed",
                "instance_type": "r5.large",
                "desired": max(nodes - managed, 1),
                "subnets": names,
            },
        ],
        "workloads": [
            {
                "namespace": "shop",
                "name": "web",
                "replicas": max(nodes // 2, 2),
                "cpu": "10m",
                "memory": "16Mi",
                "pdb": {"max_unavailable": 1},
            },
        ],
        "target": {"kubernetes": "1.32", "cni": "v1.20.1"},
    }


def _requests(endpoint: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(endpoint + "/_sandbox/requests", timeout=60) as answer:
        data: list[dict[str, Any]] = json.load(answer)
    return data


def measure(root: Path, name: str, nodes: int) -> tuple[Counter[str], float, float]:
    """Sandbox up, plan once; the plan's AWS calls per action, its wall time, and the
    bring-up time."""
    spec = root / f"{name}.yaml"
    spec.write_text(yaml.safe_dump(scenario(name, nodes)))
    started = time.monotonic()
    # A stepped clock: the world settles as fast as it can, then stands still while the
    # plan reads it (a twin whose controllers keep 1,000 kubelets beating answers slowly).
    os.environ[CLOCK_ENV] = "stepped"
    running = control.up(str(spec), root / name, timeout=120 + 0.6 * nodes)
    up = time.monotonic() - started
    saved = dict(os.environ)
    try:
        env = files.parse_env(running.env.read_text())
        os.environ.update(env)
        endpoint = env["AWS_ENDPOINT_URL"]
        before = len(_requests(endpoint))
        started = time.monotonic()
        plan(running.config, to=None, out=root / f"{name}.json", runbook=None)
        took = time.monotonic() - started
        calls = Counter(r["action"] for r in _requests(endpoint)[before:])
        return calls, took, up
    finally:
        os.environ.clear()
        os.environ.update(saved)
        control.down(running.directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small, small_s, small_up = measure(root, "small", args.small)
        large, large_s, large_up = measure(root, "large", args.large)
    print(f"{'action':34} {args.small:>8} {args.large:>8}")
    for action in sorted(set(small) | set(large)):
        print(f"{action:34} {small[action]:>8} {large[action]:>8}")
    total_small, total_large = sum(small.values()), sum(large.values())
    print(f"{'total':34} {total_small:>8} {total_large:>8}")
    print(
        f"plan wall time: {small_s:.1f} s ({args.small} nodes), {large_s:.1f} s "
        f"({args.large} nodes); sandbox bring-up {small_up:.0f} s / {large_up:.0f} s"
    )
    ratio = total_large / total_small
    verdict = "holds" if ratio <= TARGET else "does NOT hold"
    print(f"AWS calls {args.large} / {args.small} nodes: {ratio:.2f}", end=" ")
    print(f"(target <= {TARGET}: {verdict})")


if __name__ == "__main__":
    main()
