"""PodDisruptionBudget arithmetic for the eviction subresource, computed live from pods."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ekstwin.kubeapi.errors import InternalError, TooManyRequests
from ekstwin.kubeapi.selectors import selector_object_matches

BLOCKED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_MESSAGE = (
    "Internal error occurred: This pod has more than one PodDisruptionBudget, "
    "which the eviction subresource does not support."
)


@dataclass(frozen=True, slots=True)
class Budget:
    """A PDB evaluated against the current pods."""

    name: str
    expected: int
    healthy: int
    desired_healthy: int

    @property
    def disruptions_allowed(self) -> int:
        return max(self.healthy - self.desired_healthy, 0)


def is_healthy(pod: dict[str, Any]) -> bool:
    """Running, Ready=True and not being deleted."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def pdb_selects(pdb: dict[str, Any], pod: dict[str, Any], *, empty_matches_all: bool) -> bool:
    """Whether ``pdb`` covers ``pod``; an empty selector covers all pods only from policy/v1."""
    selector = (pdb.get("spec") or {}).get("selector")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return empty_matches_all
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return selector_object_matches(selector, labels)


def scaled(value: Any, total: int) -> int:
    """An int-or-percent against ``total``, rounding up as the disruption controller does."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(total * int(value[:-1]) / 100)
    return int(value)


def evaluate(pdb: dict[str, Any], pods: list[dict[str, Any]], *, empty_matches_all: bool) -> Budget:
    """Expected, healthy and desired-healthy counts of ``pdb`` over ``pods`` (its namespace)."""
    matched = [p for p in pods if pdb_selects(pdb, p, empty_matches_all=empty_matches_all)]
    expected = len(matched)
    healthy = sum(1 for p in matched if is_healthy(p))
    spec = pdb.get("spec") or {}
    if spec.get("minAvailable") is not None:
        desired = scaled(spec["minAvailable"], expected)
    elif spec.get("maxUnavailable") is not None:
        desired = max(expected - scaled(spec["maxUnavailable"], expected), 0)
    else:
        desired = 0
    return Budget(str((pdb.get("metadata") or {}).get("name")), expected, healthy, desired)


def check_eviction(
    pod: dict[str, Any],
    pdbs: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    *,
    empty_matches_all: bool = False,
) -> None:
    """Raise ``TooManyRequests`` (or ``InternalError`` for several PDBs) if eviction is refused."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in {"Succeeded", "Failed"}:
        return
    covering = [b for b in pdbs if pdb_selects(b, pod, empty_matches_all=empty_matches_all)]
    if not covering:
        return
    if len(covering) > 1:
        raise InternalError(MULTIPLE_MESSAGE)
    if not is_healthy(pod):
        return
    budget = evaluate(covering[0], pods, empty_matches_all=empty_matches_all)
    if budget.healthy - budget.desired_healthy > 0:
        return
    raise TooManyRequests(
        BLOCKED_MESSAGE,
        causes=[
            {
                "reason": "DisruptionBudget",
                "message": (
                    f"The disruption budget {budget.name} needs {budget.desired_healthy} "
                    f"healthy pods and has {budget.healthy} currently"
                ),
            }
        ],
    )
