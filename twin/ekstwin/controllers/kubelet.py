"""Kubelet simulation: runs the pods bound to each node.

A pod starts a few virtual seconds after it is bound, once the node's ipamd
hands it an address; without one it stays ContainerCreating with the event
real clusters show. Host-network pods (aws-node, kube-proxy) use the node's
address. A terminating pod stays (Terminating) for its grace period of virtual
time, then is removed and gives its address back (into ipamd's cooldown). aws-node
pods starting and stopping drive the node's ipamd, whose pool manager the kubelet
runs every 5 virtual seconds; ipamd's errors become Warning events on the node's
aws-node pod (the twin keeps no container logs).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import deque
from typing import Any

from ekstwin.clock import VirtualClock
from ekstwin.controllers.events import EventRecorder
from ekstwin.controllers.ipamd import NO_IP_MESSAGE, Ipamd, config_of_pod
from ekstwin.controllers.ipamd.eniconfig import eniconfig_subnet
from ekstwin.controllers.nodes import NodeLifecycle
from ekstwin.controllers.objects import parse_time
from ekstwin.kubeapi import NotFound, Store
from upgrader.catalog.timing import POD_START_SECONDS, POD_STOP_SECONDS

START_SECONDS = POD_START_SECONDS
STOP_SECONDS = POD_STOP_SECONDS

Key = tuple[str, str]  # namespace, name


def container_id(uid: str) -> str:
    """The id the runtime gives a pod's containers and sandbox (stable per pod)."""
    return hashlib.sha256(uid.encode()).hexdigest()


class Kubelet:
    """Every node's kubelet at once, fed by the store's watch events."""

    name = "kubelet"

    def __init__(
        self, store: Store, clock: VirtualClock, ipamd: Ipamd, nodes: NodeLifecycle
    ) -> None:
        self._store = store
        self._clock = clock
        self._ipamd = ipamd
        self._nodes = nodes
        self._inbox: deque[Key] = deque()
        self._inbox_lock = threading.Lock()
        self._pending: dict[Key, float] = {}  # pods waiting to start -> virtual time to retry
        self._pod_node: dict[str, str] = {}  # pod uid -> node
        self._warned: set[str] = set()
        self._uid_of: dict[Key, str] = {}
        self._no_ip: set[Key] = set()  # pods waiting for an address
        self._stopping: dict[Key, float] = {}  # terminating pods -> when the kubelet saw it
        store.subscribe(self._on_event)
        for pod in store.list("pods"):
            self._on_event("ADDED", "pods", pod)

    def _on_event(self, kind: str, resource: str, obj: dict[str, Any]) -> None:
        if resource != "pods":
            return
        meta = obj.get("metadata", {})
        with self._inbox_lock:
            self._inbox.append((meta.get("namespace", ""), meta.get("name", "")))

    def next_event(self) -> float | None:
        """When a pod next starts, stops or retries for an address (a stepped clock's hint;
        not :class:`~ekstwin.controllers.base.Timed`: the kubelet runs every pass). ipamd's
        5 s pool passes are left out: the clock's quantum keeps them within seconds."""
        return min(self._pending.values(), default=None)

    def reconcile(self, now: float) -> bool:
        with self._inbox_lock:
            keys = set(self._inbox)
            self._inbox.clear()
        keys.update(k for k, t in self._pending.items() if t <= now)
        changed = False
        for key in sorted(keys):
            changed |= self._sync_pod(key, now)
        for node in sorted(self._ipamd.pools):
            changed |= self._run_ipamd(node, now)
        return changed

    def _run_ipamd(self, node: str, now: float) -> bool:
        """The node's aws-node: its ENIConfig, its pool-manager pass when due, its errors."""
        pool = self._ipamd.pools[node]
        if pool.config is not None and pool.config.custom_networking:
            pool.eniconfig_name, pool.eniconfig_subnet = eniconfig_subnet(
                self._store, node, pool.config
            )
        changed = self._ipamd.reconcile(node)
        if changed:
            # New addresses: the node's waiting pods retry at once.
            for key in self._no_ip:
                if self._pod_node.get(self._uid_of.get(key, "")) == node:
                    self._pending[key] = now
        while pool.events:
            reason, message = pool.events.pop(0)
            self._ipamd_event(node, pool.cni_pod, reason, message)
        return changed

    def _track(self, pod: dict[str, Any], node: str) -> None:
        self._pod_node[pod["metadata"]["uid"]] = node

    def _sync_pod(self, key: Key, now: float) -> bool:
        namespace, name = key
        pod = self._store.find("pods", name, namespace=namespace)
        if pod is None:
            self._pending.pop(key, None)
            self._stopping.pop(key, None)
            self._forget_gone(key)
            return False
        node = pod["spec"].get("nodeName")
        if not node or node not in self._ipamd.pools:
            self._pending.pop(key, None)
            return False
        uid = pod["metadata"]["uid"]
        self._uid_of[key] = uid
        if pod["metadata"].get("deletionTimestamp"):
            return self._stop(pod, key, now)
        self._track(pod, node)
        phase = pod.get("status", {}).get("phase", "Pending")
        if phase == "Running":
            self._cni_running(pod, node)
        if phase != "Pending":
            return False
        return self._start(pod, node, key, now)

    def _start(self, pod: dict[str, Any], node: str, key: Key, now: float) -> bool:
        """Run a bound pod once its start delay passed and it has an address."""
        uid = pod["metadata"]["uid"]
        start_at = self._pending.setdefault(key, now + START_SECONDS)
        if now < start_at:
            return False
        if pod["spec"].get("hostNetwork", False):
            ip = self._nodes.node_ip.get(node, "")
        else:
            got = self._ipamd.assign(node, uid)
            if got is None:
                self._pending[key] = now + 1.0
                self._no_ip.add(key)
                return self._container_creating(pod, node)
            ip = got
        del self._pending[key]
        self._no_ip.discard(key)
        self._run(pod, node, ip)
        self._cni_running(pod, node)
        return True

    def _forget_gone(self, key: Key) -> None:
        """A pod removed behind the kubelet's back (its node went, or a forced delete)."""
        uid = self._uid_of.pop(key, None)
        node = self._pod_node.pop(uid, None) if uid else None
        self._no_ip.discard(key)
        if uid is None or node is None:
            return
        self._ipamd.release(node, uid)
        self._ipamd.cni_stopped(node, uid)
        self._warned.discard(uid)

    def _cni_running(self, pod: dict[str, Any], node: str) -> None:
        config = config_of_pod(pod)
        if config is not None:
            self._ipamd.cni_started(node, pod["metadata"]["uid"], config)

    def _stop(self, pod: dict[str, Any], key: Key, now: float) -> bool:
        """Remove a terminating pod once its containers stopped; its IP goes to cooldown.

        A running pod's containers use their whole grace period (the pod is Terminating
        until its ``deletionTimestamp``, deletion time plus grace, in virtual time); one
        whose containers never started goes after the short stop delay.
        """
        started = self._stopping.setdefault(key, now)
        stop_at = started + STOP_SECONDS
        if pod.get("status", {}).get("phase") == "Running":
            stop_at = parse_time(pod["metadata"]["deletionTimestamp"]) or stop_at
        self._pending[key] = stop_at
        if now < stop_at:
            return False
        del self._stopping[key]
        self._pending.pop(key, None)
        self._forget_gone(key)
        try:
            self._store.delete("pods", key[1], namespace=key[0], grace_period_seconds=0)
        except NotFound:
            return False
        return True

    def _conditions(self, ready: bool) -> list[dict[str, Any]]:
        at = self._clock.iso()
        flag = "True" if ready else "False"
        extra = {} if ready else {"reason": "ContainersNotReady"}
        return [
            {"type": "Initialized", "status": "True", "lastTransitionTime": at},
            {"type": "Ready", "status": flag, "lastTransitionTime": at, **extra},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": at, **extra},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": at},
        ]

    def _run(self, pod: dict[str, Any], node: str, ip: str) -> None:
        at = self._clock.iso()
        cid = container_id(pod["metadata"]["uid"])
        statuses = [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": f"docker-pullable://{c.get('image', '')}",
                "containerID": f"docker://{cid}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": at}},
                "lastState": {},
            }
            for c in pod["spec"].get("containers", [])
        ]
        status = {
            "phase": "Running",
            "hostIP": self._nodes.node_ip.get(node, ""),
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": pod.get("status", {}).get("startTime") or at,
            "conditions": self._conditions(True),
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        }
        self._patch_status(pod, status)

    def _container_creating(self, pod: dict[str, Any], node: str) -> bool:
        uid = pod["metadata"]["uid"]
        if uid in self._warned:
            return False
        self._warned.add(uid)
        meta = pod["metadata"]
        status = {
            "phase": "Pending",
            "hostIP": self._nodes.node_ip.get(node, ""),
            "startTime": self._clock.iso(),
            "conditions": self._conditions(False),
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                    "lastState": {},
                }
                for c in pod["spec"].get("containers", [])
            ],
        }
        self._patch_status(pod, status)
        message = (
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up "
            f'sandbox container "{container_id(uid)}" network for pod "{meta["name"]}": '
            f'NetworkPlugin cni failed to set up pod "{meta["name"]}_{meta["namespace"]}" '
            f"network: add cmd: {NO_IP_MESSAGE}"
        )
        self._event(pod, node, "FailedCreatePodSandBox", message)
        return True

    def _patch_status(self, pod: dict[str, Any], status: dict[str, Any]) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(NotFound):
            self._store.patch(
                "pods",
                meta["name"],
                {"status": status},
                namespace=meta["namespace"],
                subresource="status",
            )

    def _ipamd_event(self, node: str, cni_pod: str | None, reason: str, message: str) -> None:
        """ipamd's error on the node's aws-node pod (the twin has no container logs)."""
        pod = next(
            (
                p
                for p in self._store.list("pods", namespace="kube-system")
                if p["metadata"].get("uid") == cni_pod
            ),
            None,
        )
        if pod is not None:
            EventRecorder(self._store, "aws-node", host=node).record(
                pod, reason, message, self._clock.now(), type="Warning"
            )

    def _event(self, pod: dict[str, Any], node: str, reason: str, message: str) -> None:
        EventRecorder(self._store, "kubelet", host=node).record(
            pod, reason, message, self._clock.now(), type="Warning"
        )
