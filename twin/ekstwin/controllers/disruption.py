"""Disruption controller: PodDisruptionBudget status from live pods, as eviction counts them."""

from __future__ import annotations

from ekstwin.controllers.conditions import set_condition
from ekstwin.controllers.objects import (
    Obj,
    generation_of,
    is_deleting,
    kube_minor,
    namespace_of,
    read,
    write_status,
)
from ekstwin.kubeapi import Store
from ekstwin.kubeapi.eviction import SCALED_OWNERS, evaluate

POLICY_V1 = (1, 21)  # empty selectors select all pods and the DisruptionAllowed condition exists


class DisruptionController:
    """Keeps expectedPods, currentHealthy, desiredHealthy and disruptionsAllowed current.

    Uses the eviction subresource's own arithmetic (healthy = Running, Ready, not
    being deleted), so status never disagrees with what an eviction would decide.
    """

    name = "disruption-controller"

    def __init__(self, store: Store) -> None:
        self.store = store

    def next_wakeup(self) -> float | None:
        return None

    def reconcile(self, now: float) -> bool:
        pdbs = read(self.store, "poddisruptionbudgets.policy")
        if not pdbs:
            return False
        v1 = kube_minor(self.store) >= POLICY_V1
        pods_by_ns: dict[str, list[Obj]] = {}
        for pod in read(self.store, "pods"):
            pods_by_ns.setdefault(namespace_of(pod) or "", []).append(pod)
        owners: dict[tuple[str, str, str], Obj] = {}
        for resource in set(SCALED_OWNERS.values()):  # one read per pass, shared (no copies)
            for obj in read(self.store, resource):
                owners[(resource, str(obj["metadata"]["name"]), namespace_of(obj) or "")] = obj

        def find(resource: str, name: str, namespace: str) -> Obj | None:
            return owners.get((resource, name, namespace))

        wrote = False
        for pdb in pdbs:
            if is_deleting(pdb):
                continue
            budget = evaluate(
                pdb,
                pods_by_ns.get(namespace_of(pdb) or "", []),
                empty_matches_all=v1,
                find=find,
            )
            old: Obj = pdb.get("status") or {}
            status: Obj = {
                "observedGeneration": generation_of(pdb),
                "disruptionsAllowed": budget.disruptions_allowed,
                "currentHealthy": budget.healthy,
                "desiredHealthy": budget.desired_healthy,
                "expectedPods": budget.expected,
            }
            if old.get("disruptedPods"):
                status["disruptedPods"] = old["disruptedPods"]
            if v1:
                allowed = budget.disruptions_allowed > 0
                status["conditions"] = set_condition(
                    list(old.get("conditions") or []),
                    "DisruptionAllowed",
                    "True" if allowed else "False",
                    "SufficientPods" if allowed else "InsufficientPods",
                    "",
                    now,
                    update_time=False,
                )
                status["conditions"] = [
                    {**c, "observedGeneration": generation_of(pdb)}
                    if c.get("type") == "DisruptionAllowed"
                    else c
                    for c in status["conditions"]
                ]
            if write_status(self.store, "poddisruptionbudgets.policy", pdb, old, status):
                wrote = True
        return wrote
