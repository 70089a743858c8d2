"""Garbage collection: dependents of deleted owners, and pods of vanished nodes."""

from __future__ import annotations

from ekstwin.controllers.objects import (
    Obj,
    is_deleting,
    name_of,
    namespace_of,
    read,
    uid_of,
)
from ekstwin.kubeapi import NotFound, Store

# Owner kinds whose existence the collector can check, by the resource that stores them.
OWNER_RESOURCES = {
    "Deployment": "deployments.apps",
    "ReplicaSet": "replicasets.apps",
    "DaemonSet": "daemonsets.apps",
    "Node": "nodes",
    "Pod": "pods",
}
DEPENDENT_RESOURCES = (
    "replicasets.apps",
    "controllerrevisions.apps",
    "pods",
    "leases.coordination.k8s.io",
)


class GarbageCollector:
    """Deletes objects whose every checkable owner is gone (background propagation).

    An ownerReference counts as dangling when no object of its kind has its uid;
    references to kinds the emulator does not run are assumed alive. Pods bound to
    a node that no longer exists are deleted at once (grace 0), as the pod GC does.
    """

    name = "garbage-collector"

    def __init__(self, store: Store) -> None:
        self.store = store

    def next_wakeup(self) -> float | None:
        return None

    def reconcile(self, now: float) -> bool:
        uids = {
            kind: {uid_of(o) for o in read(self.store, resource)}
            for kind, resource in OWNER_RESOURCES.items()
        }
        nodes = {name_of(n) for n in read(self.store, "nodes")}
        wrote = False
        for resource in DEPENDENT_RESOURCES:
            for obj in read(self.store, resource):
                refs = obj.get("metadata", {}).get("ownerReferences") or []
                grace: int | None = None
                if resource == "pods":
                    node = obj.get("spec", {}).get("nodeName")
                    if node and node not in nodes:
                        grace = 0
                if grace is None and (not refs or is_deleting(obj) or _has_owner(refs, uids)):
                    continue
                wrote = self._delete(resource, obj, grace) or wrote
        return wrote

    def _delete(self, resource: str, obj: Obj, grace: int | None) -> bool:
        try:
            self.store.delete(
                resource, name_of(obj), namespace=namespace_of(obj), grace_period_seconds=grace
            )
        except NotFound:
            return False
        return True


def _has_owner(refs: list[Obj], uids: dict[str, set[str]]) -> bool:
    for ref in refs:
        known = uids.get(str(ref.get("kind")))
        if known is None or str(ref.get("uid")) in known:
            return True
    return False
