"""Rollout benchmark (issue 5): the virtual makespan of rolling a 60-node, 3-AZ node
group, against the capacity engine's lower bound and a one-node-at-a-time roll.

Two runs of the same scenario through the real path (sandbox daemon, plan, apply):
A with the waves capacity allows, B with ``gates.max_wave_nodes: 1``. Virtual time
is read from the cluster itself: a ConfigMap is created right before and after the
node-group roll (and the whole apply) and their ``creationTimestamp`` subtracted, so
the figures are what the twin's clock saw, not a wall-time conversion. Wall time
x speed is printed next to them as a cross-check.

By default the twin's clock is stepped (``UPGRADER_SANDBOX_CLOCK=stepped``): it stands
still while apply works and runs only the virtual seconds apply waits
(:class:`~upgrader.sandbox.clock.TwinClock`), so the figures are the schedule's and not the
machine's. ``--clock wall`` runs the twin ``--speed`` times faster than the wall clock and
apply polls in wall seconds, as a person's sandbox does: there every wall second of
apply's own work is ``--speed`` virtual seconds.

    python benchmarks/rollout.py [--nodes 60] [--clock stepped|wall] [--speed 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes import config as kube_config
from wave_gap import exact_waves  # benchmarks/ is on sys.path when run as a script

from upgrader.capacity import waves
from upgrader.catalog.timing import MODEL
from upgrader.executor.progress import Event
from upgrader.model.steps import NodegroupRollStep
from upgrader.pipeline.apply import apply
from upgrader.pipeline.plan import plan
from upgrader.polling import WALL, Clock
from upgrader.sandbox import control
from upgrader.sandbox import directory as files
from upgrader.sandbox.clock import TwinClock
from upgrader.sandbox.directory import CLOCK_ENV, SPEED_ENV

AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
PODS_PER_NODE = 15
DEPLOYMENTS = 12
# Addresses held by other tenants of each /22 (1,019 usable): with the nodes' own
# ~19 each (WARM_IP_TARGET=2, MINIMUM_IP_TARGET=10), a few nodes per AZ fit a wave.
USED_PER_SUBNET = 560


def scenario(nodes: int, used: int = USED_PER_SUBNET) -> dict[str, Any]:
    """One self-managed m5.xlarge group over three /22s, 1.31 -> 1.32, CNI v1.19 -> v1.20."""
    subnets = [
        {"name": f"roll-{az[-1]}", "az": az, "cidr": f"10.50.{4 * i}.0/22", "used": used}
        for i, az in enumerate(AZS)
    ]
    replicas = nodes * PODS_PER_NODE // DEPLOYMENTS
    # One in three PDBs allows a single disruption; the rest ~10% of the replicas.
    pdbs = [1 if i % 3 == 0 else max(1, replicas // 10) for i in range(DEPLOYMENTS)]
    return {
        "name": "rollout",
        "region": "eu-west-1",
        "kubernetes": "1.31",
        "cni": {
            "version": "v1.19.2",
            "env": {"WARM_IP_TARGET": "2", "MINIMUM_IP_TARGET": "10"},
        },
        "subnets": subnets,
        "control_plane_subnets": [s["name"] for s in subnets],
        "nodegroups": [
            {
                "name": "workers",
                "kind": "self-managed",
                "instance_type": "m5.xlarge",
                "desired": nodes,
                "subnets": [s["name"] for s in subnets],
            }
        ],
        "workloads": [
            {
                "namespace": f"team-{i % 4}",
                "name": f"svc-{i}",
                "replicas": replicas,
                "cpu": "50m",
                "memory": "64Mi",
                "pdb": {"max_unavailable": pdbs[i]},
                # containers that stop on SIGTERM as fast as the timing model's pod_stop
                "grace_seconds": int(MODEL.pod_stop),
            }
            for i in range(DEPLOYMENTS)
        ],
        "target": {"kubernetes": "1.32", "cni": "v1.20.1"},
    }


class Stamps:
    """Virtual instants read from the cluster: the creationTimestamp of a new ConfigMap."""

    def __init__(self, kubeconfig: Path) -> None:
        api = kube_config.new_client_from_config(str(kubeconfig), persist_config=False)  # type: ignore[no-untyped-call]
        self.api = client.CoreV1Api(api)
        self.seq = 0

    def now(self, label: str) -> float:
        self.seq += 1
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"bench-{self.seq}-{label}"))
        made = self.api.create_namespaced_config_map("default", body)
        assert made.metadata is not None and made.metadata.creation_timestamp is not None
        return float(made.metadata.creation_timestamp.timestamp())


@dataclass
class Run:
    planned_waves: int = 0
    lower_bound: int = 0
    optimum: int | None = None  # the exact fewest waves (HiGHS), when proven
    waves: int = 0
    sizes: tuple[int, ...] = ()  # nodes replaced by each wave apply ran
    roll_virtual: float = 0.0
    apply_virtual: float = 0.0
    roll_wall: float = 0.0
    apply_wall: float = 0.0


def run(spec: Path, directory: Path, speed: float, max_wave_nodes: int, stepped: bool) -> Run:
    """Sandbox up, plan, apply, sandbox down; the figures of one roll."""
    os.environ[SPEED_ENV] = str(speed)
    os.environ[CLOCK_ENV] = "stepped" if stepped else "wall"
    running = control.up(str(spec), directory / "sandbox")
    try:
        os.environ.update(files.parse_env(running.env.read_text()))
        clock: Clock = TwinClock(os.environ["AWS_ENDPOINT_URL"]) if stepped else WALL
        cfg = yaml.safe_load(running.config.read_text())
        cfg.setdefault("gates", {})["max_wave_nodes"] = max_wave_nodes
        running.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        rolls: list[tuple[Any, ...]] = []
        plan_roll = waves.plan_roll

        def recorded(subnets: Any, groups: Any, reserve: int) -> waves.RollPlan:
            rolls.append((tuple(subnets), groups[0], reserve))
            return plan_roll(subnets, groups, reserve)

        waves.plan_roll = recorded  # the roll's exact inputs, for the solver
        try:
            planned = plan(running.config, to=None, out=directory / "plan.json", runbook=None)
        finally:
            waves.plan_roll = plan_roll
        roll = next(s for s in planned.plan.steps if isinstance(s, NodegroupRollStep))
        out = Run(planned_waves=roll.predicted_waves, lower_bound=roll.lower_bound or 0)
        if max_wave_nodes == 0:
            out.optimum = exact_optimum(*rolls[-1], roll.predicted_waves)
        stamps = Stamps(running.kubeconfig)
        marks: dict[str, tuple[float, float]] = {}

        def sink(event: Event) -> None:
            step = event.step or ""
            if event.kind == "step" and step.startswith("nodegroup-roll"):
                marks["roll"] = (stamps.now("roll-start"), time.monotonic())
            elif event.kind == "step" and "roll" in marks and "roll-end" not in marks:
                marks["roll-end"] = (stamps.now("roll-end"), time.monotonic())
            elif event.kind == "wave":
                out.waves += 1
                out.sizes = (*out.sizes, len(event.nodes))

        start = (stamps.now("apply-start"), time.monotonic())
        apply(directory / "plan.json", sink=sink, clock=clock)
        end = (stamps.now("apply-end"), time.monotonic())
        roll_end = marks.get("roll-end", end)  # the roll is the last step before verify
        out.roll_virtual = roll_end[0] - marks["roll"][0]
        out.roll_wall = roll_end[1] - marks["roll"][1]
        out.apply_virtual, out.apply_wall = end[0] - start[0], end[1] - start[1]
        return out
    finally:
        control.down(running.directory)


def exact_optimum(
    subnets: tuple[waves.Subnet, ...], group: waves.NodeGroupRoll, reserve: int, most: int
) -> int | None:
    """The fewest waves any safe roll of ``group`` takes, solved exactly (wave_gap.py's
    MIP over the planner's own rules); None when the solver does not prove it in time."""
    found = exact_waves(subnets, group, reserve, most, time_limit=60.0)
    return found.waves if found.proven else None


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=60)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument(
        "--clock",
        choices=("stepped", "wall"),
        default="stepped",
        help="the twin's time moves only while apply waits (stepped), or --speed x wall",
    )
    args = parser.parse_args()
    stepped = args.clock == "stepped"
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = root / "rollout.yaml"
        spec_text = yaml.safe_dump(scenario(args.nodes))
        spec.write_text(spec_text)
        a = run(spec, root / "a", args.speed, max_wave_nodes=0, stepped=stepped)
        b = run(spec, root / "b", args.speed, max_wave_nodes=1, stepped=stepped)
    # Lower-bound makespan from the timing model the twin simulates: the fewest waves any
    # safe roll takes (the exact optimum; the planner's cheap bound if it is not proven),
    # each at least a boot and (but the last) a termination, plus every eviction round
    # the tightest budget serialises (each replica of a max_unavailable=1 workload once).
    workloads = yaml.safe_load(spec_text)["workloads"]
    rounds = max(
        MODEL.eviction_rounds(w["replicas"], w["pdb"]["max_unavailable"]) for w in workloads
    )
    fewest = a.optimum if a.optimum is not None else a.lower_bound
    bound = MODEL.roll_seconds(fewest, rounds)
    cheap = MODEL.roll_seconds(a.lower_bound, rounds)
    pace = "stepped clock" if stepped else f"clock speed {args.speed:g}x"
    print(f"scenario: {args.nodes} nodes m5.xlarge in {len(AZS)} AZs, {pace}")
    optimum = "not proven in time" if a.optimum is None else str(a.optimum)
    print(
        f"plan A: {a.planned_waves} waves (capacity lower bound {a.lower_bound}, exact "
        f"optimum {optimum}); "
        f"apply ran A {a.waves} waves {list(a.sizes)}, B {b.waves} waves of 1"
    )
    for name, r in (("A (capacity waves)", a), ("B (one node at a time)", b)):
        cross = "" if stepped else f" x speed = {minutes(r.roll_wall * args.speed)}"
        print(
            f"{name}: roll {minutes(r.roll_virtual)} virtual "
            f"(wall {r.roll_wall:.0f} s{cross}); "
            f"{minutes(r.roll_virtual / r.waves)} per wave; "
            f"whole apply {minutes(r.apply_virtual)} virtual, {r.apply_wall:.0f} s wall"
        )
    print(
        f"lower-bound makespan (timing model): {fewest} waves x "
        f"{MODEL.node_boot + MODEL.pod_start:.0f} s (boot, aws-node start) + {fewest - 1} "
        f"terminations x {MODEL.termination:.0f} s + {rounds} eviction rounds x "
        f"{MODEL.pod_start:.0f} s + {MODEL.pod_stop:.0f} s = {minutes(bound)}"
    )
    print(
        f"ratios: A / lower bound {a.roll_virtual / bound:.2f} (target <= 1.15); "
        f"B / A {b.roll_virtual / a.roll_virtual:.2f} (target >= 3); A / the same bound on "
        f"the planner's {a.lower_bound} waves {a.roll_virtual / cheap:.2f}"
    )
    print(f"benchmark wall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
