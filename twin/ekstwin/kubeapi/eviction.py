"""PodDisruptionBudget arithmetic for the eviction subresource, computed live from pods."""

from __future__ import annotations

import math
from collections.abc import Callable
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


Find = Callable[[str, str, str], dict[str, Any] | None]  # (resource, name, namespace)
SCALED_OWNERS = {
    "ReplicaSet": "replicasets.apps",
    "StatefulSet": "statefulsets.apps",
    "Deployment": "deployments.apps",
}


def controller_scale(find: Find, pod: dict[str, Any]) -> tuple[str, int] | None:
    """The uid and ``spec.replicas`` of the controller at the top of ``pod``'s owners (a
    ReplicaSet's Deployment), as the disruption controller's finders read them."""
    obj, top = pod, None
    for _ in range(2):
        meta = obj.get("metadata") or {}
        ref = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        resource = SCALED_OWNERS.get(str((ref or {}).get("kind")))
        if ref is None or resource is None:
            break
        owner = find(resource, str(ref.get("name")), str(meta.get("namespace") or ""))
        if owner is None or (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
            break
        obj = top = owner
    if top is None:
        return None
    return str(top["metadata"]["uid"]), int((top.get("spec") or {}).get("replicas", 1))


def evaluate(
    pdb: dict[str, Any],
    pods: list[dict[str, Any]],
    *,
    empty_matches_all: bool,
    find: Find | None = None,
) -> Budget:
    """Expected, healthy and desired-healthy counts of ``pdb`` over ``pods`` (its namespace).

    As the disruption controller counts: with ``maxUnavailable`` or a percentage
    ``minAvailable``, the pods expected are the scale of their controllers (read through
    ``find``), so a pod being deleted and its replacement count once; otherwise, and for
    pods without a scaled controller, every matching pod."""
    matched = [p for p in pods if pdb_selects(pdb, p, empty_matches_all=empty_matches_all)]
    spec = pdb.get("spec") or {}
    expected = len(matched)
    min_available = spec.get("minAvailable")
    by_scale = spec.get("maxUnavailable") is not None or (
        isinstance(min_available, str) and min_available.endswith("%")
    )
    if by_scale and find is not None and matched:
        scales = [controller_scale(find, p) for p in matched]
        if all(s is not None for s in scales):
            expected = sum(dict(s for s in scales if s is not None).values())
    healthy = sum(1 for p in matched if is_healthy(p))
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
    find: Find | None = None,
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
    budget = evaluate(covering[0], pods, empty_matches_all=empty_matches_all, find=find)
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
