"""Fargate: EKS's one-pod-per-node compute for the pods a Fargate profile selects.

As on EKS: a pod created in a namespace (with the labels) a profile's selector names is
scheduled by ``fargate-scheduler``, never by kube-scheduler. It gets a node of its own,
``fargate-ip-<ip>.<region>.compute.internal``, tainted so that nothing else lands there,
and an address from an ENI in one of the profile's subnets. The node's kubelet is the
cluster's version when the pod starts: a pod started before a control-plane upgrade keeps
its old kubelet until it is restarted (which is why upgrades restart Fargate pods). When
the pod goes (after its grace period), its node and ENI go too.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from ekstwin.clock import VirtualClock
from ekstwin.controllers.events import EventRecorder
from ekstwin.controllers.nodes import kubelet_version, node_conditions
from ekstwin.controllers.objects import (
    is_deleting,
    labels_of,
    name_of,
    namespace_of,
    parse_time,
    read,
    uid_of,
)
from ekstwin.kubeapi import NotFound, Store

SCHEDULER = "fargate-scheduler"
DEFAULT_SCHEDULER = "default-scheduler"
COMPUTE_TYPE = "eks.amazonaws.com/compute-type"
PROFILE_LABEL = "eks.amazonaws.com/fargate-profile"
START_SECONDS = 45.0  # Fargate pods take tens of seconds to get their microVM
STOP_SECONDS = 2.0
CAPACITY = "0.25vCPU 0.5GB"


@dataclass(frozen=True, slots=True)
class Profile:
    """A Fargate profile as the kube side needs it."""

    name: str
    subnets: tuple[str, ...]
    selectors: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (namespace, labels)

    def selects(self, pod: dict[str, Any]) -> bool:
        labels = labels_of(pod)
        return any(
            namespace_of(pod) == namespace and all(labels.get(k) == v for k, v in wanted)
            for namespace, wanted in self.selectors
        )


def profile_of(raw: dict[str, Any]) -> Profile:
    """A profile from the AWS twin's ``{name, subnets, selectors}``."""
    return Profile(
        name=str(raw["name"]),
        subnets=tuple(raw.get("subnets") or ()),
        selectors=tuple(
            (str(s.get("namespace", "")), tuple(sorted((s.get("labels") or {}).items())))
            for s in raw.get("selectors") or ()
        ),
    )


class FargateBackend(Protocol):
    """What the controller asks of the AWS twin."""

    def fargate_profiles(self, cluster: str) -> list[dict[str, Any]]: ...

    def create_eni(self, subnet_id: str, description: str, secondary_ips: int = 0) -> str: ...

    def eni_address(self, eni_id: str) -> tuple[str, str]: ...  # (private IP, AZ)

    def delete_eni(self, eni_id: str) -> None: ...


@dataclass(slots=True)
class _Placed:
    node: str
    eni: str
    ip: str
    start_at: float
    stop_at: float | None = None


class FargateController:
    """Places, runs and removes Fargate pods and their nodes."""

    name = "fargate"

    def __init__(self, store: Store, twin: FargateBackend, clock: VirtualClock, cluster: str):
        self._store = store
        self._twin = twin
        self._clock = clock
        self._cluster = cluster
        self._region = ""
        self._placed: dict[str, _Placed] = {}  # pod uid -> its node
        self._turn = 0
        self.events = EventRecorder(store, SCHEDULER)

    def next_wakeup(self) -> float | None:
        times = [p.stop_at if p.stop_at is not None else p.start_at for p in self._placed.values()]
        return min(times, default=None)

    def reconcile(self, now: float) -> bool:
        profiles = [profile_of(raw) for raw in self._twin.fargate_profiles(self._cluster)]
        if not profiles and not self._placed:
            return False
        changed = False
        seen: set[str] = set()
        for pod in read(self._store, "pods"):
            uid = uid_of(pod)
            placed = self._placed.get(uid)
            if placed is not None:
                seen.add(uid)
                changed |= self._sync(pod, placed, now)
                continue
            spec = pod.get("spec", {})
            if spec.get("nodeName") or is_deleting(pod):
                continue
            if spec.get("schedulerName", DEFAULT_SCHEDULER) not in (DEFAULT_SCHEDULER, SCHEDULER):
                continue
            profile = next((p for p in profiles if p.selects(pod)), None)
            if profile is not None and profile.subnets:
                changed |= self._place(pod, profile, now)
                seen.add(uid)
        for uid in set(self._placed) - seen:  # the pod is gone: so are its node and ENI
            self._release(self._placed.pop(uid))
            changed = True
        return changed

    def _place(self, pod: dict[str, Any], profile: Profile, now: float) -> bool:
        subnet = profile.subnets[self._turn % len(profile.subnets)]
        self._turn += 1
        eni = self._twin.create_eni(subnet, f"[Fargate] {namespace_of(pod)}/{name_of(pod)}")
        ip, az = self._twin.eni_address(eni)
        region = az[:-1]
        node = f"fargate-ip-{ip.replace('.', '-')}.{region}.compute.internal"
        self._store.create("nodes", self._node(node, ip, az, profile.name))
        try:
            bound = self._store.patch(
                "pods",
                name_of(pod),
                {
                    "metadata": {"annotations": {"CapacityProvisioned": CAPACITY}},
                    "spec": {"nodeName": node, "schedulerName": SCHEDULER},
                },
                namespace=namespace_of(pod),
            )
        except NotFound:
            self._store.delete("nodes", node)
            self._twin.delete_eni(eni)
            return True
        self._placed[uid_of(pod)] = _Placed(node, eni, ip, now + START_SECONDS)
        message = f"Successfully assigned {namespace_of(pod)}/{name_of(pod)} to {node}"
        self.events.record(bound, "Scheduled", message, now)
        return True

    def _node(self, name: str, ip: str, az: str, profile: str) -> dict[str, Any]:
        minor = self._store.kubernetes_version
        version = kubelet_version(minor)
        region = az[:-1]
        resources = {"cpu": "2", "memory": "3836Mi", "pods": "1", "ephemeral-storage": "20Gi"}
        machine = hashlib.sha256(name.encode()).hexdigest()[:32]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    COMPUTE_TYPE: "fargate",
                    PROFILE_LABEL: profile,
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/hostname": name,
                    "topology.kubernetes.io/region": region,
                    "topology.kubernetes.io/zone": az,
                    "failure-domain.beta.kubernetes.io/region": region,
                    "failure-domain.beta.kubernetes.io/zone": az,
                },
            },
            "spec": {
                "providerID": f"aws:///{az}/{machine[:16]}/{name}",
                "taints": [{"key": COMPUTE_TYPE, "value": "fargate", "effect": "NoSchedule"}],
            },
            "status": {
                "capacity": resources,
                "allocatable": resources,
                "addresses": [
                    {"type": "InternalIP", "address": ip},
                    {"type": "Hostname", "address": name},
                ],
                "conditions": node_conditions(True, [], self._clock.now()),
                "nodeInfo": {
                    "kubeletVersion": version,
                    "kubeProxyVersion": version,
                    "containerRuntimeVersion": "containerd://1.7.27",
                    "kernelVersion": "5.10.234-225.910.amzn2.x86_64",
                    "osImage": "Amazon Linux 2",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "machineID": machine,
                    "systemUUID": machine,
                    "bootID": machine,
                },
            },
        }

    def _sync(self, pod: dict[str, Any], placed: _Placed, now: float) -> bool:
        if is_deleting(pod):
            if placed.stop_at is None:
                running = pod.get("status", {}).get("phase") == "Running"
                deadline = parse_time(pod["metadata"]["deletionTimestamp"]) if running else None
                placed.stop_at = deadline or now + STOP_SECONDS
            if now < placed.stop_at:
                return False
            with contextlib.suppress(NotFound):
                self._store.delete(
                    "pods", name_of(pod), namespace=namespace_of(pod), grace_period_seconds=0
                )
            return True
        if pod.get("status", {}).get("phase", "Pending") != "Pending" or now < placed.start_at:
            return False
        self._run(pod, placed)
        return True

    def _run(self, pod: dict[str, Any], placed: _Placed) -> None:
        at = self._clock.iso()
        uid = uid_of(pod)
        statuses = [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": c.get("image", ""),
                "containerID": f"containerd://{hashlib.sha256(uid.encode()).hexdigest()}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": at}},
                "lastState": {},
            }
            for c in pod["spec"].get("containers", [])
        ]
        conditions = [
            {"type": t, "status": "True", "lastTransitionTime": at}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ]
        status = {
            "phase": "Running",
            "hostIP": placed.ip,
            "podIP": placed.ip,
            "podIPs": [{"ip": placed.ip}],
            "startTime": at,
            "conditions": conditions,
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        }
        with contextlib.suppress(NotFound):
            self._store.patch(
                "pods",
                name_of(pod),
                {"status": status},
                namespace=namespace_of(pod),
                subresource="status",
            )

    def _release(self, placed: _Placed) -> None:
        with contextlib.suppress(NotFound):
            self._store.delete("nodes", placed.node)
        self._twin.delete_eni(placed.eni)
