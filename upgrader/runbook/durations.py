"""Expected duration of each step, from the plan's predictions and published timings.

Timings (research/upgrade-tools.md "Published timing figures"): a control-plane
upgrade takes about 24-60 min (the plan predicts it); replacing one node about 5 min
plus its drain; a DaemonSet rolls roughly one node a minute (aws-node's maxUnavailable
is 10%). A roll's shortest is the timing model's (:mod:`upgrader.catalog.timing`, what
the sandbox simulates and the benchmarks measure against): each wave a boot, an
eviction round and a termination.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import assert_never

from upgrader.catalog.timing import MODEL
from upgrader.model.steps import (
    AddonStep,
    CniStep,
    ControlPlaneStep,
    FargateRestartStep,
    ManagedAddonStep,
    NodegroupRollStep,
    NodegroupStackStep,
    Step,
    StepKind,
    VerifyStep,
)

# (low, high) minutes per unit of work, or for the whole step.
PER_NODE_DAEMONSET = (1, 3)
PER_WAVE_MOST = 15  # boot + Ready (~4 min), drain (PDB retries), terminate
COREDNS = (2, 5)
NODEGROUP_STACK = (2, 10)
VERIFY = (2, 5)
FARGATE = (2, 10)  # a Fargate pod takes about a minute to start; rollouts pace them


@dataclass(frozen=True, slots=True)
class Minutes:
    """A low-high estimate in minutes; ``high`` is what the timeline schedules."""

    low: int
    high: int

    def __str__(self) -> str:
        return f"{self.low} min" if self.low == self.high else f"{self.low}-{self.high} min"


def _count(value: int) -> int:
    """A predicted count of nodes or waves, at least 1."""
    return value if value > 0 else 1


def _daemonset(nodes: int) -> Minutes:
    count = _count(nodes)
    return Minutes(max(2, count * PER_NODE_DAEMONSET[0]), max(5, count * PER_NODE_DAEMONSET[1]))


def step_minutes(step: Step) -> Minutes:  # noqa: PLR0911 - one per step kind
    """The plan's predicted minutes, else an estimate from nodes or waves."""
    match step:
        case ControlPlaneStep():
            return Minutes(min(step.minutes), max(step.minutes))
        case AddonStep(kind=StepKind.COREDNS) | ManagedAddonStep(addon="coredns"):
            return Minutes(*COREDNS)  # a Deployment, not one pod per node
        case CniStep() | AddonStep() | ManagedAddonStep():  # DaemonSets, node by node
            return _daemonset(step.nodes)
        case NodegroupRollStep():
            waves = _count(step.predicted_waves)
            return Minutes(math.ceil(waves * MODEL.wave_seconds() / 60), waves * PER_WAVE_MOST)
        case NodegroupStackStep():
            return Minutes(*NODEGROUP_STACK)
        case FargateRestartStep():
            return Minutes(*FARGATE)
        case VerifyStep():
            return Minutes(*VERIFY)
        case _:
            assert_never(step)
