"""Expected duration of each step, from the plan's predictions and published timings.

Timings (research/upgrade-tools.md "Published timing figures"): a control-plane
upgrade takes about 24-60 min; replacing one node about 5 min plus its drain; a
DaemonSet rolls roughly one node a minute (aws-node's maxUnavailable is 10%).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from upgrader.model.plan import Step

# (low, high) minutes per unit of work for each step kind.
PER_NODE_DAEMONSET = (1, 3)
PER_WAVE = (6, 15)  # boot + Ready (~4 min), drain (PDB retries), terminate
FIXED: dict[str, tuple[int, int]] = {
    "control-plane": (24, 60),
    "coredns": (2, 5),
    "nodegroup-stack": (2, 10),
    "verify": (2, 5),
}
DEFAULT = (1, 5)


@dataclass(frozen=True, slots=True)
class Minutes:
    """A low-high estimate in minutes; ``high`` is what the timeline schedules."""

    low: int
    high: int

    def __str__(self) -> str:
        return f"{self.low} min" if self.low == self.high else f"{self.low}-{self.high} min"


def _given(raw: Any) -> Minutes | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Minutes(raw, raw)
    if isinstance(raw, list | tuple) and len(raw) == 2 and all(isinstance(v, int) for v in raw):
        return Minutes(min(raw), max(raw))
    return None


def _count(raw: Any) -> int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else 1


def step_minutes(step: Step) -> Minutes:
    """The plan's ``predicted.minutes`` if given, else an estimate from nodes or waves."""
    given = _given(step.predicted.get("minutes"))
    if given is not None:
        return given
    if step.kind in ("kube-proxy", "cni"):
        nodes = _count(step.predicted.get("nodes"))
        return Minutes(max(2, nodes * PER_NODE_DAEMONSET[0]), max(5, nodes * PER_NODE_DAEMONSET[1]))
    if step.kind == "nodegroup-roll":
        waves = _count(step.predicted.get("waves"))
        return Minutes(waves * PER_WAVE[0], waves * PER_WAVE[1])
    low, high = FIXED.get(step.kind, DEFAULT)
    return Minutes(low, high)
