"""default-scheduler: binds pending pods to nodes that fit, spreading each owner's pods."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ekstwin.controllers.events import WARNING, EventRecorder
from ekstwin.controllers.objects import (
    Obj,
    controller_uid,
    is_deleting,
    iso,
    kube_minor,
    labels_of,
    name_of,
    namespace_of,
    read,
    uid_of,
)
from ekstwin.controllers.pods import Requests, condition, is_terminated, pod_requests
from ekstwin.controllers.quantities import byte_count, milli_cpu
from ekstwin.controllers.selectors import (
    NO_EXECUTE,
    NO_SCHEDULE,
    node_affinity_matches,
    untolerated_taints,
)
from ekstwin.kubeapi import NotFound, Store

SCHEDULER_NAME = "default-scheduler"
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": NO_SCHEDULE}
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": NO_SCHEDULE}
RETRY_SECONDS = 60.0  # an unschedulable pod is retried (and its Event repeated) this often


def _is_ready(node: Obj) -> bool:
    cond = condition(node, "Ready")
    return cond is not None and cond.get("status") == "True"


def _zone(node: Obj) -> str:
    labels = labels_of(node)
    for key in ZONE_LABELS:
        if key in labels:
            return labels[key]
    return ""


def _taint_text(taint: Obj) -> str:
    return f"{{{taint.get('key', '')}: {taint.get('value') or ''}}}"


@dataclass(slots=True)
class _NodeState:
    """A node as the scheduler cache sees it: its object and what is bound to it."""

    node: Obj
    zone: str
    pods: int = 0
    requested: Requests = field(default_factory=Requests)
    owners: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return name_of(self.node)

    def allocatable(self) -> tuple[int, int | None, int | None]:
        """Pods (kubelet default 110 when unset), millicores and bytes; None = unlimited."""
        alloc = self.node.get("status", {}).get("allocatable") or {}
        cpu = milli_cpu(alloc["cpu"]) if "cpu" in alloc else None
        mem = byte_count(alloc["memory"]) if "memory" in alloc else None
        return int(alloc.get("pods", 110)), cpu, mem

    def add(self, pod: Obj, owner: str) -> None:
        self.pods += 1
        self.requested = self.requested + pod_requests(pod)
        self.owners[owner] += 1


def _owner_key(pod: Obj) -> str:
    uid = controller_uid(pod)
    if uid:
        return uid
    labels = ",".join(f"{k}={v}" for k, v in sorted(labels_of(pod).items()))
    return f"{namespace_of(pod)}/{labels}"


class Scheduler:
    """Binds pods the way kube-scheduler's default filters and spreading would.

    Filters, in the order the scheduler reports the first failing one per node:
    Ready, cordon (``spec.unschedulable``), taints, node selector and required
    affinity, then fit (pod count against ``allocatable.pods`` and cpu/memory
    requests). Among fitting nodes it picks the zone, then the node, holding the
    fewest pods of the same owner, then the least loaded node.
    """

    name = "scheduler"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.events = EventRecorder(store, SCHEDULER_NAME)
        self._failed: dict[str, tuple[str, float]] = {}

    def next_wakeup(self) -> float | None:
        return min((t + RETRY_SECONDS for _, t in self._failed.values()), default=None)

    def reconcile(self, now: float) -> bool:
        nodes = {name_of(n): _NodeState(n, _zone(n)) for n in read(self.store, "nodes")}
        zone_owners: dict[str, Counter[str]] = {}
        pending: list[Obj] = []
        for pod in read(self.store, "pods"):
            if is_terminated(pod):
                continue
            node_name = pod.get("spec", {}).get("nodeName")
            if node_name:
                state = nodes.get(node_name)
                if state is not None:
                    owner = _owner_key(pod)
                    state.add(pod, owner)
                    zone_owners.setdefault(state.zone, Counter())[owner] += 1
            elif (
                not is_deleting(pod)
                and (pod.get("spec", {}).get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
            ):
                pending.append(pod)
        pending.sort(key=lambda p: (p["metadata"].get("creationTimestamp") or "", name_of(p)))
        self._failed = {k: v for k, v in self._failed.items() if k in {uid_of(p) for p in pending}}
        minor = kube_minor(self.store)
        wrote = False
        for pod in pending:
            fits, reasons = self._filter(pod, list(nodes.values()), minor)
            if fits:
                owner = _owner_key(pod)
                best = min(
                    fits,
                    key=lambda s: (
                        zone_owners.get(s.zone, Counter())[owner],
                        s.owners[owner],
                        s.pods,
                        s.name,
                    ),
                )
                if self._bind(pod, best.name, now):
                    best.add(pod, owner)
                    zone_owners.setdefault(best.zone, Counter())[owner] += 1
                    wrote = True
            else:
                wrote = (
                    self._unschedulable(pod, _failure_message(len(nodes), reasons), now) or wrote
                )
        return wrote

    def _filter(
        self, pod: Obj, nodes: list[_NodeState], minor: tuple[int, int]
    ) -> tuple[list[_NodeState], Counter[str]]:
        fits: list[_NodeState] = []
        reasons: Counter[str] = Counter()
        for state in nodes:
            failed = _node_failures(pod, state, minor)
            if failed:
                reasons.update(failed)
            else:
                fits.append(state)
        return fits, reasons

    def _bind(self, pod: Obj, node: str, now: float) -> bool:
        ns, name = namespace_of(pod), name_of(pod)
        try:
            bound = self.store.patch("pods", name, {"spec": {"nodeName": node}}, namespace=ns)
            self._set_scheduled(bound, {"type": "PodScheduled", "status": "True"}, now)
        except NotFound:
            return False
        self._failed.pop(uid_of(pod), None)
        self.events.record(bound, "Scheduled", f"Successfully assigned {ns}/{name} to {node}", now)
        return True

    def _unschedulable(self, pod: Obj, message: str, now: float) -> bool:
        uid = uid_of(pod)
        previous = self._failed.get(uid)
        if previous is not None and previous[0] == message and now < previous[1] + RETRY_SECONDS:
            return False
        cond = condition(pod, "PodScheduled")
        if cond is None or cond.get("status") != "False" or cond.get("message") != message:
            new = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
            try:
                self._set_scheduled(pod, {**new, "message": message}, now)
            except NotFound:
                return False
        self._failed[uid] = (message, now)
        self.events.record(pod, "FailedScheduling", message, now, type=WARNING)
        return True

    def _set_scheduled(self, pod: Obj, cond: Obj, now: float) -> None:
        conds = [
            c
            for c in pod.get("status", {}).get("conditions") or []
            if c.get("type") != cond["type"]
        ]
        conds.append({**cond, "lastProbeTime": None, "lastTransitionTime": iso(now)})
        self.store.patch(
            "pods",
            name_of(pod),
            {"status": {"conditions": conds}},
            namespace=namespace_of(pod),
            subresource="status",
        )


def _taint_reason(taint: Obj, minor: tuple[int, int]) -> str:
    if minor >= (1, 25):
        return f"node(s) had untolerated taint {_taint_text(taint)}"
    if minor >= (1, 18):
        return f"node(s) had taint {_taint_text(taint)}, that the pod didn't tolerate"
    return "node(s) had taints that the pod didn't tolerate"


def _affinity_reason(minor: tuple[int, int]) -> str:
    if minor >= (1, 20):
        return "node(s) didn't match Pod's node affinity/selector"
    return "node(s) didn't match node selector"


def _node_failures(pod: Obj, state: _NodeState, minor: tuple[int, int]) -> list[str]:
    """Why ``pod`` cannot go to the node: the first failing filter's reasons, or []."""
    spec = pod.get("spec", {})
    node = state.node
    tolerations = spec.get("tolerations") or []
    taints = list(node.get("spec", {}).get("taints") or [])
    if not _is_ready(node):
        if minor < (1, 17):  # before TaintNodesByCondition NotReady was its own predicate
            return ["node(s) were not ready"]
        if not any(t.get("key") == NOT_READY_TAINT["key"] for t in taints):
            taints.append(NOT_READY_TAINT)
    cordoned = bool(node.get("spec", {}).get("unschedulable"))
    bad = untolerated_taints(tolerations, taints, [NO_SCHEDULE, NO_EXECUTE])
    if cordoned and untolerated_taints(tolerations, [UNSCHEDULABLE_TAINT], [NO_SCHEDULE]):
        reasons = ["node(s) were unschedulable"]
    elif bad:
        reasons = [_taint_reason(bad[0], minor)]
    elif not node_affinity_matches(spec, node):
        reasons = [_affinity_reason(minor)]
    else:
        reasons = _fit_failures(pod, state)
    return reasons


def _fit_failures(pod: Obj, state: _NodeState) -> list[str]:
    max_pods, cpu, mem = state.allocatable()
    want = pod_requests(pod)
    failures = []
    if state.pods + 1 > max_pods:
        failures.append("Too many pods")
    if want.milli_cpu and cpu is not None and state.requested.milli_cpu + want.milli_cpu > cpu:
        failures.append("Insufficient cpu")
    if want.memory and mem is not None and state.requested.memory + want.memory > mem:
        failures.append("Insufficient memory")
    return failures


def _failure_message(node_count: int, reasons: Counter[str]) -> str:
    """``0/3 nodes are available: 1 node(s) were unschedulable, 2 Too many pods.``"""
    if node_count == 0:
        return "no nodes available to schedule pods"
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    return f"0/{node_count} nodes are available: {', '.join(parts)}."
