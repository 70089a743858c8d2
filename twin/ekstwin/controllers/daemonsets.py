"""DaemonSet controller: one pod per eligible node, ControllerRevisions, rolling update."""

from __future__ import annotations

import contextlib
import random
from copy import deepcopy
from dataclasses import dataclass, field

from ekstwin.controllers.events import EventRecorder
from ekstwin.controllers.objects import (
    Obj,
    by_controller,
    controller_ref,
    generation_of,
    is_deleting,
    name_of,
    namespace_of,
    parse_time,
    read,
    scaled_value,
    template_hash,
    uid_of,
    write_status,
)
from ekstwin.controllers.pods import (
    available_at,
    create_pod,
    is_active,
    is_available,
    is_ready,
    is_terminated,
)
from ekstwin.controllers.selectors import (
    NO_EXECUTE,
    NO_SCHEDULE,
    node_affinity_matches,
    untolerated_taints,
)
from ekstwin.kubeapi import AlreadyExists, NotFound, Store

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
DEFAULT_HISTORY = 10


def _exists(key: str, effect: str) -> Obj:
    return {"key": key, "operator": "Exists", "effect": effect}


# What the DaemonSet controller adds to every daemon pod (AddOrUpdateDaemonPodTolerations).
DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    _exists("node.kubernetes.io/not-ready", NO_EXECUTE),
    _exists("node.kubernetes.io/unreachable", NO_EXECUTE),
    _exists("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
    _exists("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
    _exists("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
    _exists("node.kubernetes.io/unschedulable", NO_SCHEDULE),
)
HOST_NETWORK_TOLERATION = _exists("node.kubernetes.io/network-unavailable", NO_SCHEDULE)


def daemon_tolerations(pod_spec: Obj) -> list[Obj]:
    """Tolerations a daemon pod gets on top of its template's."""
    extra = list(DAEMON_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        extra.append(HOST_NETWORK_TOLERATION)
    return extra


def node_placement(template_spec: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run, should continue running) of a daemon pod on ``node``.

    A new pod needs the node selector, required affinity and every NoSchedule and
    NoExecute taint tolerated; a running one is only evicted by NoExecute taints.
    """
    if is_deleting(node) or not node_affinity_matches(template_spec, node):
        return False, False
    tolerations = [*(template_spec.get("tolerations") or []), *daemon_tolerations(template_spec)]
    taints = node.get("spec", {}).get("taints") or []
    keeps = not untolerated_taints(tolerations, taints, [NO_EXECUTE])
    return keeps and not untolerated_taints(tolerations, taints, [NO_SCHEDULE]), keeps


def _created(obj: Obj) -> tuple[float, str]:
    return parse_time(obj["metadata"].get("creationTimestamp")) or 0.0, name_of(obj)


@dataclass(slots=True)
class _NodeView:
    node: str
    should_run: bool
    keeps: bool
    deleted: set[str]  # uids deleted during this pass (the pods read are stale)
    pods: list[Obj] = field(default_factory=list)

    def active(self) -> list[Obj]:
        live = (p for p in self.pods if is_active(p) and uid_of(p) not in self.deleted)
        return sorted(live, key=_created)


class DaemonSetController:
    """Runs one pod of each DaemonSet on every node it fits, bound directly to the node.

    RollingUpdate deletes old pods while at most ``maxUnavailable`` nodes lack an
    available pod and creates the replacement once the old pod is gone; OnDelete
    only replaces pods that were deleted. Pods on vanished nodes go at once.
    """

    name = "daemonset-controller"

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self.events = EventRecorder(store, "daemonset-controller")
        self._wakeup: float | None = None
        self._deleted: set[str] = set()

    def next_wakeup(self) -> float | None:
        return self._wakeup

    def reconcile(self, now: float) -> bool:
        nodes = read(self.store, "nodes")
        pods = by_controller(read(self.store, "pods"))
        revisions = by_controller(read(self.store, "controllerrevisions.apps"))
        self._wakeup = None
        self._deleted = set()
        wrote = False
        for ds in read(self.store, "daemonsets.apps"):
            if is_deleting(ds):
                continue
            wrote = (
                self._sync(ds, nodes, pods.get(uid_of(ds), []), revisions.get(uid_of(ds), []), now)
                or wrote
            )
        return wrote

    def _sync(
        self, ds: Obj, nodes: list[Obj], owned: list[Obj], revisions: list[Obj], now: float
    ) -> bool:
        template = ds.get("spec", {}).get("template") or {}
        pod_hash, wrote = self._revision(ds, template, revisions, owned)
        views: dict[str, _NodeView] = {}
        for node in nodes:
            run, keeps = node_placement(template.get("spec") or {}, node)
            views[name_of(node)] = _NodeView(name_of(node), run, keeps, self._deleted)
        for pod in owned:
            if is_terminated(pod) and is_deleting(pod):
                continue
            node_name = pod.get("spec", {}).get("nodeName") or ""
            view = views.get(node_name)
            if view is None:
                wrote = self._delete(ds, pod, now, grace=0) or wrote  # its node is gone
            else:
                view.pods.append(pod)
        for view in views.values():
            wrote = self._manage(ds, view, template, pod_hash, now) or wrote
        strategy = (ds.get("spec", {}).get("updateStrategy") or {}).get("type") or "RollingUpdate"
        if strategy == "RollingUpdate":
            wrote = self._roll(ds, views, pod_hash, now) or wrote
        return self._write_status(ds, views, pod_hash, now) or wrote

    # -- revisions ---------------------------------------------------------------------

    def _revision(
        self, ds: Obj, template: Obj, revisions: list[Obj], pods: list[Obj]
    ) -> tuple[str, bool]:
        """The hash of the current template, creating or renumbering its ControllerRevision."""
        data = {"spec": {"template": {**deepcopy(template), "$patch": "replace"}}}
        current = next((r for r in revisions if r.get("data") == data), None)
        top = max((int(r.get("revision") or 0) for r in revisions), default=0)
        wrote = False
        if current is None:
            collisions = int(ds.get("status", {}).get("collisionCount") or 0)
            while current is None:
                pod_hash = template_hash(template, collisions)
                revision: Obj = {
                    "apiVersion": "apps/v1",
                    "kind": "ControllerRevision",
                    "metadata": {
                        "name": f"{name_of(ds)}-{pod_hash}",
                        "namespace": namespace_of(ds),
                        "labels": {
                            **((template.get("metadata") or {}).get("labels") or {}),
                            HASH_LABEL: pod_hash,
                        },
                        "ownerReferences": [controller_ref(ds)],
                    },
                    "data": data,
                    "revision": top + 1,
                }
                try:
                    current = self.store.create(
                        "controllerrevisions.apps", revision, namespace=namespace_of(ds)
                    )
                except AlreadyExists:
                    collisions += 1
            revisions = [*revisions, current]
            wrote = True
            if collisions > int(ds.get("status", {}).get("collisionCount") or 0):
                self.store.patch(
                    "daemonsets.apps",
                    name_of(ds),
                    {"status": {"collisionCount": collisions}},
                    namespace=namespace_of(ds),
                    subresource="status",
                )

        elif int(current.get("revision") or 0) < top:
            current = self.store.patch(
                "controllerrevisions.apps",
                name_of(current),
                {"revision": top + 1},
                namespace=namespace_of(current),
            )
            wrote = True
        pod_hash = str(current["metadata"].get("labels", {}).get(HASH_LABEL, ""))
        return pod_hash, self._prune_revisions(ds, revisions, current, pods) or wrote

    def _prune_revisions(
        self, ds: Obj, revisions: list[Obj], current: Obj, pods: list[Obj]
    ) -> bool:
        limit = ds.get("spec", {}).get("revisionHistoryLimit")
        limit = DEFAULT_HISTORY if limit is None else int(limit)
        live = {p["metadata"].get("labels", {}).get(HASH_LABEL) for p in pods}
        spare = sorted(
            (
                r
                for r in revisions
                if uid_of(r) != uid_of(current)
                and r["metadata"].get("labels", {}).get(HASH_LABEL) not in live
            ),
            key=lambda r: int(r.get("revision") or 0),
        )
        doomed = spare[: max(len(spare) - limit, 0)]
        for rev in doomed:
            with contextlib.suppress(NotFound):
                self.store.delete(
                    "controllerrevisions.apps", name_of(rev), namespace=namespace_of(rev)
                )
        return bool(doomed)

    # -- pods --------------------------------------------------------------------------

    def _manage(self, ds: Obj, view: _NodeView, template: Obj, pod_hash: str, now: float) -> bool:
        wrote = False
        active = view.active()
        if view.should_run and not view.pods:
            pod = create_pod(
                self.store,
                self.rng,
                ds,
                template,
                labels={HASH_LABEL: pod_hash, GENERATION_LABEL: str(generation_of(ds))},
                node=view.node,
                tolerations=daemon_tolerations(template.get("spec") or {}),
            )
            view.pods.append(pod)
            self.events.record(ds, "SuccessfulCreate", f"Created pod: {name_of(pod)}", now)
            return True
        if view.keeps:
            for pod in view.pods:
                if is_terminated(pod) and not is_deleting(pod):
                    wrote = self._delete(ds, pod, now) or wrote  # replaced once it is gone
            for pod in active[1:]:  # more than one: keep the oldest
                wrote = self._delete(ds, pod, now) or wrote
        else:
            for pod in active:
                wrote = self._delete(ds, pod, now) or wrote
        return wrote

    def _delete(self, ds: Obj, pod: Obj, now: float, *, grace: int | None = None) -> bool:
        try:
            self.store.delete(
                "pods", name_of(pod), namespace=namespace_of(pod), grace_period_seconds=grace
            )
        except NotFound:
            return False
        self._deleted.add(uid_of(pod))
        self.events.record(ds, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}", now)
        return True

    def _roll(self, ds: Obj, views: dict[str, _NodeView], pod_hash: str, now: float) -> bool:
        spec = ds.get("spec", {})
        min_ready = int(spec.get("minReadySeconds") or 0)
        desired = sum(1 for v in views.values() if v.should_run)
        rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
        max_unavailable = (
            scaled_value(rolling.get("maxUnavailable"), desired, round_up=True, default=1) or 1
        )
        unavailable = 0
        replaceable: list[Obj] = []
        candidates: list[Obj] = []
        for view in views.values():
            if not view.should_run:
                continue
            active = view.active()
            new = [p for p in active if _hash(p) == pod_hash]
            old = [p for p in active if _hash(p) != pod_hash]
            if len(active) != 1:
                unavailable += 1  # none yet, or a duplicate manage is removing
            elif new:
                unavailable += 0 if is_available(new[0], min_ready, now) else 1
            elif not is_available(old[0], min_ready, now):
                replaceable.append(old[0])  # already unavailable: replacing costs nothing
                unavailable += 1
            else:
                candidates.append(old[0])
        room = max(max_unavailable - unavailable, 0)
        wrote = False
        for pod in replaceable + candidates[:room]:
            wrote = self._delete(ds, pod, now) or wrote
        return wrote

    # -- status ------------------------------------------------------------------------

    def _write_status(
        self, ds: Obj, views: dict[str, _NodeView], pod_hash: str, now: float
    ) -> bool:
        min_ready = int(ds.get("spec", {}).get("minReadySeconds") or 0)
        desired = current = misscheduled = ready = available = updated = 0
        for view in views.values():
            active = view.active()
            if not view.should_run:
                misscheduled += 1 if active else 0
                continue
            desired += 1
            if not active:
                continue
            pod = active[0]
            current += 1
            ready += is_ready(pod)
            available += is_available(pod, min_ready, now)
            updated += _hash(pod) == pod_hash
            when = available_at(pod, min_ready, now)
            if when is not None:
                self._wakeup = when if self._wakeup is None else min(self._wakeup, when)
        old = ds.get("status") or {}
        status: Obj = {
            "currentNumberScheduled": current,
            "numberMisscheduled": misscheduled,
            "desiredNumberScheduled": desired,
            "numberReady": ready,
            "observedGeneration": generation_of(ds),
            "updatedNumberScheduled": updated,
            "numberAvailable": available,
            "numberUnavailable": desired - available,
        }
        for key in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if not status[key]:
                del status[key]  # omitempty
        for key in ("collisionCount", "conditions"):
            if old.get(key):
                status[key] = old[key]
        return write_status(self.store, "daemonsets.apps", ds, old, status)


def _hash(pod: Obj) -> str:
    return str(pod["metadata"].get("labels", {}).get(HASH_LABEL, ""))
