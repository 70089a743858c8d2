"""Deployment and ReplicaSet controllers: rolling updates, Recreate, scaling, self-healing."""

from __future__ import annotations

import contextlib
import random
from copy import deepcopy
from dataclasses import dataclass

from ekstwin.controllers.conditions import find_condition, set_condition
from ekstwin.controllers.events import EventRecorder
from ekstwin.controllers.objects import (
    Obj,
    by_controller,
    controller_ref,
    generation_of,
    is_deleting,
    kube_minor,
    labels_of,
    name_of,
    namespace_of,
    parse_time,
    read,
    scaled_value,
    template_hash,
    uid_of,
    without_label,
    write_status,
)
from ekstwin.controllers.pods import (
    available_at,
    create_pod,
    is_active,
    is_available,
    is_ready,
    is_terminated,
    phase,
    ready_since,
)
from ekstwin.kubeapi import AlreadyExists, NotFound, Store

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
DEFAULT_HISTORY = 10
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _replicas(obj: Obj) -> int:
    value = obj.get("spec", {}).get("replicas")
    return 1 if value is None else int(value)


def _deletion_rank(pod: Obj) -> tuple[bool, int, bool, float, float]:
    """Pods to delete first sort first (controller.ActivePods): unscheduled, pending,
    not ready, ready for the shortest time, newest."""
    since = ready_since(pod)
    created = parse_time(pod["metadata"].get("creationTimestamp")) or 0.0
    return (
        bool(pod.get("spec", {}).get("nodeName")),
        _PHASE_RANK.get(phase(pod), 1),
        is_ready(pod),
        -(since or 0.0),
        -created,
    )


class ReplicaSetController:
    """Keeps ``spec.replicas`` active pods per ReplicaSet and its status current.

    Pods being deleted or terminated do not count, so an evicted pod is replaced
    at once, as in Kubernetes.
    """

    name = "replicaset-controller"

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self.events = EventRecorder(store, "replicaset-controller")
        self._wakeup: float | None = None

    def next_wakeup(self) -> float | None:
        return self._wakeup

    def reconcile(self, now: float) -> bool:
        pods = by_controller(read(self.store, "pods"))
        wrote = False
        self._wakeup = None
        for rs in read(self.store, "replicasets.apps"):
            if is_deleting(rs):
                continue
            wrote = self._sync(rs, pods.get(uid_of(rs), []), now) or wrote
        return wrote

    def _sync(self, rs: Obj, owned: list[Obj], now: float) -> bool:
        active = [p for p in owned if is_active(p)]
        diff = _replicas(rs) - len(active)
        wrote = False
        if diff > 0:
            template = rs.get("spec", {}).get("template") or {}
            for _ in range(diff):
                pod = create_pod(self.store, self.rng, rs, template)
                active.append(pod)
                self.events.record(rs, "SuccessfulCreate", f"Created pod: {name_of(pod)}", now)
            wrote = True
        elif diff < 0:
            doomed = sorted(active, key=_deletion_rank)[:-diff]
            for pod in doomed:
                with contextlib.suppress(NotFound):
                    self.store.delete("pods", name_of(pod), namespace=namespace_of(pod))
                self.events.record(rs, "SuccessfulDelete", f"Deleted pod: {name_of(pod)}", now)
            active = [p for p in active if p not in doomed]
            wrote = True
        return self._write_status(rs, active, now) or wrote

    def _write_status(self, rs: Obj, active: list[Obj], now: float) -> bool:
        min_ready = int(rs.get("spec", {}).get("minReadySeconds") or 0)
        template_labels = labels_of(rs.get("spec", {}).get("template") or {})
        status: Obj = {
            "replicas": len(active),
            "fullyLabeledReplicas": sum(
                1 for p in active if template_labels.items() <= labels_of(p).items()
            ),
            "readyReplicas": sum(1 for p in active if is_ready(p)),
            "availableReplicas": sum(1 for p in active if is_available(p, min_ready, now)),
            "observedGeneration": generation_of(rs),
        }
        for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if not status[key]:
                del status[key]  # omitempty, as the API serialises them
        old = rs.get("status") or {}
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        for pod in active:
            self._wakeup = _earliest(self._wakeup, available_at(pod, min_ready, now))
        return write_status(self.store, "replicasets.apps", rs, old, status)


@dataclass(slots=True)
class _Rollout:
    """A Deployment and its ReplicaSets with availability counted from live pods."""

    deploy: Obj
    new: Obj | None
    olds: list[Obj]
    pods: dict[str, list[Obj]]
    now: float

    @property
    def replicas(self) -> int:
        return _replicas(self.deploy)

    @property
    def min_ready(self) -> int:
        return int(self.deploy.get("spec", {}).get("minReadySeconds") or 0)

    @property
    def all(self) -> list[Obj]:
        return ([self.new] if self.new is not None else []) + self.olds

    def replace(self, old: Obj, new: Obj) -> None:
        """Swap in the written version of one of the ReplicaSets (objects are read-only)."""
        if self.new is old:
            self.new = new
        self.olds = [new if rs is old else rs for rs in self.olds]

    def active(self, rs: Obj) -> list[Obj]:
        return [p for p in self.pods.get(uid_of(rs), []) if is_active(p)]

    def available(self, rs: Obj) -> int:
        return sum(1 for p in self.active(rs) if is_available(p, self.min_ready, self.now))


def _surge_and_unavailable(deploy: Obj) -> tuple[int, int]:
    """maxSurge rounds up, maxUnavailable down; both zero would stall, so unavailable=1.
    Recreate has neither."""
    if _strategy(deploy) == "Recreate":
        return 0, 0
    replicas = _replicas(deploy)
    rolling = (deploy.get("spec", {}).get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge"), replicas, round_up=True, default=0)
    unavailable = scaled_value(rolling.get("maxUnavailable"), replicas, round_up=False, default=0)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def _strategy(deploy: Obj) -> str:
    return str((deploy.get("spec", {}).get("strategy") or {}).get("type") or "RollingUpdate")


def _revision(rs: Obj) -> int:
    try:
        return int((rs.get("metadata", {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


class DeploymentController:
    """Rolls Deployments through ReplicaSets named ``<deployment>-<pod-template-hash>``.

    RollingUpdate follows the real controller's arithmetic (scale the new
    ReplicaSet up within maxSurge, old ones down within maxUnavailable, one step
    per pass); Recreate scales old ReplicaSets to zero and waits until their pods
    are gone. Availability is counted from live pods, never from lagging status.
    """

    name = "deployment-controller"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.events = EventRecorder(store, "deployment-controller")
        self._wakeup: float | None = None

    def next_wakeup(self) -> float | None:
        return self._wakeup

    def reconcile(self, now: float) -> bool:
        pods = by_controller(read(self.store, "pods"))
        sets = by_controller(read(self.store, "replicasets.apps"))
        self._wakeup = None
        wrote = False
        for deploy in read(self.store, "deployments.apps"):
            if is_deleting(deploy):
                continue
            owned = [rs for rs in sets.get(uid_of(deploy), []) if not is_deleting(rs)]
            wrote = self._sync(deploy, owned, pods, now) or wrote
        return wrote

    # -- one Deployment ----------------------------------------------------------------

    def _sync(self, deploy: Obj, owned: list[Obj], pods: dict[str, list[Obj]], now: float) -> bool:
        template = without_label(deploy.get("spec", {}).get("template") or {}, HASH_LABEL)
        new = next(
            (
                rs
                for rs in owned
                if without_label(rs.get("spec", {}).get("template") or {}, HASH_LABEL) == template
            ),
            None,
        )
        olds = sorted(
            (rs for rs in owned if rs is not new),
            key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", name_of(rs)),
        )
        roll = _Rollout(deploy, new, olds, pods, now)
        wrote = False
        if not deploy.get("spec", {}).get("paused"):
            wrote = self._ensure_new(roll, template)
            if not wrote:
                if _strategy(deploy) == "Recreate":
                    wrote = self._recreate(roll)
                else:
                    wrote = self._rolling(roll)
            if not wrote and self._complete(roll):
                wrote = self._cleanup(roll)
        return self._write_status(roll) or wrote

    def _ensure_new(self, roll: _Rollout, template: Obj) -> bool:
        """Create the ReplicaSet for the current template, or re-number a rolled-back one."""
        max_old = max((_revision(rs) for rs in roll.olds), default=0)
        if roll.new is not None:
            if _revision(roll.new) > max_old:
                return False
            roll.new = self.store.patch(
                "replicasets.apps",
                name_of(roll.new),
                {"metadata": {"annotations": {REVISION: str(max_old + 1)}}},
                namespace=namespace_of(roll.new),
            )
            return True
        deploy = roll.deploy
        replicas = self._initial_replicas(roll)
        collisions = int(deploy.get("status", {}).get("collisionCount") or 0)
        while True:
            pod_hash = template_hash(template, collisions)
            try:
                roll.new = self.store.create(
                    "replicasets.apps",
                    self._replica_set(deploy, template, pod_hash, max_old + 1, replicas),
                    namespace=namespace_of(deploy),
                )
                break
            except AlreadyExists:
                collisions += 1
        if replicas:
            message = f"Scaled up replica set {name_of(roll.new)} to {replicas}"
            if kube_minor(self.store) >= (1, 26):
                message += " from 0"
            self.events.record(deploy, "ScalingReplicaSet", message, roll.now)
        if collisions:
            self.store.patch(
                "deployments.apps",
                name_of(deploy),
                {"status": {"collisionCount": collisions}},
                namespace=namespace_of(deploy),
                subresource="status",
            )
        return True

    @staticmethod
    def _initial_replicas(roll: _Rollout) -> int:
        """NewRSNewReplicas: all at once unless old ReplicaSets still hold pods."""
        if _strategy(roll.deploy) == "Recreate":
            old_pods = any(
                not is_terminated(p) for rs in roll.olds for p in roll.pods.get(uid_of(rs), [])
            )
            busy = old_pods or any(_replicas(rs) for rs in roll.olds)
            return 0 if busy else roll.replicas
        surge = _surge_and_unavailable(roll.deploy)[0]
        room = roll.replicas + surge - sum(_replicas(rs) for rs in roll.olds)
        return max(min(room, roll.replicas), 0)

    def _replica_set(
        self, deploy: Obj, template: Obj, pod_hash: str, revision: int, replicas: int
    ) -> Obj:
        spec = deploy.get("spec", {})
        tmpl = deepcopy(template)
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        surge = _surge_and_unavailable(deploy)[0]
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{name_of(deploy)}-{pod_hash}",
                "namespace": namespace_of(deploy),
                "labels": dict(tmpl["metadata"]["labels"]),
                "annotations": {
                    REVISION: str(revision),
                    DESIRED_REPLICAS: str(_replicas(deploy)),
                    MAX_REPLICAS: str(_replicas(deploy) + surge),
                },
                "ownerReferences": [controller_ref(deploy)],
            },
            "spec": {
                "replicas": replicas,
                "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                "selector": selector,
                "template": tmpl,
            },
        }

    def _scale(self, roll: _Rollout, rs: Obj, replicas: int) -> None:
        before = _replicas(rs)
        if before == replicas:
            return
        surge = _surge_and_unavailable(roll.deploy)[0]
        scaled = self.store.patch(
            "replicasets.apps",
            name_of(rs),
            {
                "metadata": {
                    "annotations": {
                        DESIRED_REPLICAS: str(roll.replicas),
                        MAX_REPLICAS: str(roll.replicas + surge),
                    }
                },
                "spec": {"replicas": replicas},
            },
            namespace=namespace_of(rs),
        )
        roll.replace(rs, scaled)
        direction = "up" if replicas > before else "down"
        message = f"Scaled {direction} replica set {name_of(rs)} to {replicas}"
        if kube_minor(self.store) >= (1, 26):
            message += f" from {before}"
        self.events.record(roll.deploy, "ScalingReplicaSet", message, roll.now)

    def _recreate(self, roll: _Rollout) -> bool:
        running_olds = [rs for rs in roll.olds if _replicas(rs) > 0]
        for rs in running_olds:
            self._scale(roll, rs, 0)
        if running_olds:
            return True
        if any(not is_terminated(p) for rs in roll.olds for p in roll.pods.get(uid_of(rs), [])):
            return False  # old pods still terminating
        assert roll.new is not None
        if _replicas(roll.new) != roll.replicas:
            self._scale(roll, roll.new, roll.replicas)
            return True
        return False

    def _rolling(self, roll: _Rollout) -> bool:
        assert roll.new is not None
        new = roll.new
        surge, max_unavailable = _surge_and_unavailable(roll.deploy)
        total = sum(_replicas(rs) for rs in roll.all)
        if _replicas(new) > roll.replicas:
            self._scale(roll, new, roll.replicas)
            return True
        if _replicas(new) < roll.replicas:
            room = roll.replicas + surge - total
            if room > 0:
                self._scale(roll, new, _replicas(new) + min(room, roll.replicas - _replicas(new)))
                return True
        return self._scale_down_olds(roll, total, max_unavailable)

    def _scale_down_olds(self, roll: _Rollout, total: int, max_unavailable: int) -> bool:
        """reconcileOldReplicaSets: drop unhealthy old replicas first, then healthy ones
        while at least ``replicas - maxUnavailable`` stay available."""
        assert roll.new is not None
        olds = [rs for rs in roll.olds if _replicas(rs) > 0]
        if not olds:
            return False
        min_available = roll.replicas - max_unavailable
        new_unavailable = _replicas(roll.new) - roll.available(roll.new)
        budget = total - min_available - new_unavailable
        if budget <= 0:
            return False
        wrote = False
        for rs in olds:  # oldest first
            if budget <= 0:
                break
            unhealthy = _replicas(rs) - roll.available(rs)
            if unhealthy > 0:
                cut = min(unhealthy, budget)
                self._scale(roll, rs, _replicas(rs) - cut)
                budget -= cut
                wrote = True
        if wrote:
            return True
        spare = sum(roll.available(rs) for rs in roll.all) - min_available
        for rs in olds:
            if spare <= 0:
                break
            cut = min(_replicas(rs), spare)
            self._scale(roll, rs, _replicas(rs) - cut)
            spare -= cut
            wrote = True
        return wrote

    def _complete(self, roll: _Rollout) -> bool:
        if roll.new is None:
            return False
        olds_active = sum(len(roll.active(rs)) for rs in roll.olds)
        return (
            _replicas(roll.new) == roll.replicas
            and len(roll.active(roll.new)) == roll.replicas
            and roll.available(roll.new) == roll.replicas
            and olds_active == 0
        )

    def _cleanup(self, roll: _Rollout) -> bool:
        """Delete old ReplicaSets beyond ``revisionHistoryLimit`` that hold no pods."""
        limit = roll.deploy.get("spec", {}).get("revisionHistoryLimit")
        limit = DEFAULT_HISTORY if limit is None else int(limit)
        idle = sorted(
            (
                rs
                for rs in roll.olds
                if _replicas(rs) == 0
                and not rs.get("status", {}).get("replicas")
                and not roll.active(rs)
            ),
            key=_revision,
        )
        doomed = idle[: max(len(idle) - limit, 0)]
        for rs in doomed:
            with contextlib.suppress(NotFound):
                self.store.delete("replicasets.apps", name_of(rs), namespace=namespace_of(rs))
        return bool(doomed)

    # -- status ------------------------------------------------------------------------

    def _write_status(self, roll: _Rollout) -> bool:
        deploy, now = roll.deploy, roll.now
        old = deploy.get("status") or {}
        actives = {uid_of(rs): roll.active(rs) for rs in roll.all}
        replicas = sum(len(p) for p in actives.values())
        ready = sum(1 for pods in actives.values() for p in pods if is_ready(p))
        available = sum(roll.available(rs) for rs in roll.all)
        updated = len(actives.get(uid_of(roll.new), [])) if roll.new is not None else 0
        status: Obj = {
            "observedGeneration": generation_of(deploy),
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(sum(_replicas(rs) for rs in roll.all) - available, 0),
        }
        status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
        if old.get("collisionCount"):
            status["collisionCount"] = old["collisionCount"]
        for pods in actives.values():
            for pod in pods:
                self._wakeup = _earliest(self._wakeup, available_at(pod, roll.min_ready, now))
        status["conditions"] = self._conditions(roll, old, status, available)
        return write_status(self.store, "deployments.apps", deploy, old, status)

    def _conditions(self, roll: _Rollout, old: Obj, status: Obj, available: int) -> list[Obj]:
        now = roll.now
        conds: list[Obj] = list(old.get("conditions") or [])
        unavailable = _surge_and_unavailable(roll.deploy)[1]
        if available >= roll.replicas - unavailable:
            conds = set_condition(
                conds,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
            )
        else:
            conds = set_condition(
                conds,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        deadline = roll.deploy.get("spec", {}).get("progressDeadlineSeconds")
        if roll.new is None or roll.deploy.get("spec", {}).get("paused"):
            return conds
        rs_name = name_of(roll.new)
        counts = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
        moved = any(old.get(k) != status.get(k) for k in counts)
        progressing = find_condition(conds, "Progressing")
        if self._complete(roll):
            return set_condition(
                conds,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now,
            )
        since = parse_time((progressing or {}).get("lastUpdateTime")) or now
        if deadline is not None and not moved and now >= since + int(deadline):
            return set_condition(
                conds,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now,
            )
        if deadline is not None:
            self._wakeup = _earliest(self._wakeup, (now if moved else since) + int(deadline))
        timed_out = (
            progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded"
        )
        if timed_out and not moved:
            return conds
        return set_condition(
            conds,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            f'ReplicaSet "{rs_name}" is progressing.',
            now,
            touch=moved,
        )
