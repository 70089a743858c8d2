"""Pod state as controllers see it: active, ready, available, requests."""

from __future__ import annotations

import random
from copy import deepcopy as clone
from dataclasses import dataclass

from ekstwin.controllers.objects import (
    Obj,
    controller_ref,
    is_deleting,
    name_of,
    namespace_of,
    parse_time,
    random_suffix,
)
from ekstwin.controllers.quantities import byte_count, milli_cpu
from ekstwin.kubeapi import AlreadyExists, Store

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
_NAME_ATTEMPTS = 8


def phase(pod: Obj) -> str:
    return str(pod.get("status", {}).get("phase") or "Pending")


def is_terminated(pod: Obj) -> bool:
    """Phase Succeeded or Failed: the pod no longer runs and holds no node slot."""
    return phase(pod) in TERMINAL_PHASES


def is_active(pod: Obj) -> bool:
    """Counted by its controller: not terminated and not being deleted."""
    return not is_terminated(pod) and not is_deleting(pod)


def condition(obj: Obj, kind: str) -> Obj | None:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == kind:
            result: Obj = cond
            return result
    return None


def is_ready(pod: Obj) -> bool:
    """Condition Ready is True."""
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def is_healthy(pod: Obj) -> bool:
    """What eviction and PDBs count: Running, Ready and not being deleted."""
    return phase(pod) == "Running" and is_ready(pod) and not is_deleting(pod)


def ready_since(pod: Obj) -> float | None:
    """When the pod last became Ready, ``None`` if it is not Ready."""
    cond = condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    since = parse_time(cond.get("lastTransitionTime"))
    return 0.0 if since is None else since


def is_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Active and Ready for at least ``min_ready_seconds``."""
    since = ready_since(pod)
    if since is None or not is_active(pod):
        return False
    return min_ready_seconds <= 0 or since + min_ready_seconds <= now


def available_at(pod: Obj, min_ready_seconds: int, now: float) -> float | None:
    """Future instant the Ready pod becomes available, ``None`` if not pending availability."""
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0 or not is_active(pod):
        return None
    when = since + min_ready_seconds
    return when if when > now else None


@dataclass(frozen=True, slots=True)
class Requests:
    """Resource requests the scheduler fits against allocatable."""

    milli_cpu: int = 0
    memory: int = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.milli_cpu + other.milli_cpu, self.memory + other.memory)


def _container_requests(container: Obj) -> Requests:
    req = (container.get("resources") or {}).get("requests") or {}
    return Requests(
        milli_cpu(req["cpu"]) if "cpu" in req else 0,
        byte_count(req["memory"]) if "memory" in req else 0,
    )


def pod_requests(pod: Obj) -> Requests:
    """Sum of container requests, or the largest init container's if higher (per resource)."""
    spec = pod.get("spec", {})
    total = Requests()
    for container in spec.get("containers") or []:
        total = total + _container_requests(container)
    cpu, mem = total.milli_cpu, total.memory
    for container in spec.get("initContainers") or []:
        init = _container_requests(container)
        cpu, mem = max(cpu, init.milli_cpu), max(mem, init.memory)
    return Requests(cpu, mem)


def create_pod(
    store: Store,
    rng: random.Random,
    owner: Obj,
    template: Obj,
    *,
    labels: dict[str, str] | None = None,
    node: str | None = None,
    tolerations: list[Obj] | None = None,
) -> Obj:
    """Create ``<owner>-<5 chars>`` from a pod template, controlled by ``owner``."""
    tmeta = template.get("metadata") or {}
    spec = clone(template.get("spec") or {})
    if node is not None:
        spec["nodeName"] = node
    if tolerations:
        have = spec.setdefault("tolerations", [])
        have.extend(t for t in tolerations if t not in have)
    namespace = namespace_of(owner)
    prefix = f"{name_of(owner)}-"
    for _ in range(_NAME_ATTEMPTS):
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": prefix + random_suffix(rng),
                "generateName": prefix,
                "namespace": namespace,
                "labels": {**(tmeta.get("labels") or {}), **(labels or {})},
                "ownerReferences": [controller_ref(owner)],
            },
            "spec": clone(spec),
        }
        if tmeta.get("annotations"):
            pod["metadata"]["annotations"] = dict(tmeta["annotations"])
        try:
            return store.create("pods", pod, namespace=namespace)
        except AlreadyExists:
            continue
    raise AlreadyExists(f"no free pod name for {prefix}")
