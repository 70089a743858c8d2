"""A watcher that follows every pod change of a live sandbox and records what an
upgrade must never do: take a PodDisruptionBudget below its healthy minimum, or
lose a pod (deleted without a graceful delete first: its node went undrained)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from tests.support.sandbox_clients import kube_request

SHED = frozenset({429, 500, 502, 503, 504})  # answers a fault test injects: try again
GONE = 410  # the watch cache no longer holds our resourceVersion: relist
REQUESTS_PATH = "/_sandbox/requests"  # the twin's Kubernetes request log


def _selects(namespace: str, wanted: dict[str, str], pod: Any) -> bool:
    labels = pod.metadata.labels or {}
    return bool(pod.metadata.namespace == namespace and wanted.items() <= labels.items())


def _healthy(pod: Any) -> bool:
    if pod.metadata.deletion_timestamp is not None or pod.status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _daemon(pod: Any) -> bool:
    return any(o.kind == "DaemonSet" for o in pod.metadata.owner_references or [])


class PodWatcher(threading.Thread):
    """Checks every PDB after every pod event, and every pod deletion."""

    def __init__(self, kubeconfig: Path, pdb_path: str) -> None:
        super().__init__(name="pod-watcher", daemon=True)
        self.kubeconfig = kubeconfig
        self.pdb_path = pdb_path  # e.g. /apis/policy/v1beta1/poddisruptionbudgets
        self.core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
        self.stop = threading.Event()
        self.started = threading.Event()
        self.events = 0
        self.violations: list[str] = []
        self.lost: list[str] = []
        self.errors: list[BaseException] = []
        self.lowest: dict[str, int] = {}  # PDB -> fewest healthy pods above its need
        self._pods: dict[str, Any] = {}
        self._budgets: list[tuple[str, str, dict[str, str], int]] = []

    def run(self) -> None:
        try:
            listed = self._relist()
            for pdb in kube_request(self.kubeconfig, "GET", self.pdb_path)["items"]:
                self._budgets.append(self._budget(pdb))
            self._check()
            self.started.set()
            stream = watch.Watch()
            rv = listed
            while not self.stop.is_set():
                try:
                    for event in stream.stream(
                        self.core.list_pod_for_all_namespaces,
                        resource_version=rv,
                        timeout_seconds=1,
                    ):
                        self._seen(event["type"], event["object"])
                except ApiException as err:
                    if err.status == GONE:  # our resourceVersion left the watch cache
                        rv = self._relist()
                        continue
                    if err.status not in SHED:  # a fault test's 429s and 5xx hit us too
                        raise AssertionError(f"pod watch: {err.status} {err.reason}") from err
                    time.sleep(0.2)
                rv = stream.resource_version or rv  # never replay events already seen
        except BaseException as err:  # the test reports it
            self.errors.append(err)
            self.started.set()

    def _relist(self) -> str:
        """List every pod again (first, and after a 410) as an informer does; a pod gone
        meanwhile without a graceful delete seen counts as lost unless the API server's
        request log shows it evicted or deleted."""
        while True:
            try:
                listed = self.core.list_pod_for_all_namespaces()
                break
            except ApiException as err:
                if err.status not in SHED:
                    raise
                time.sleep(0.2)
        fresh = {p.metadata.uid: p for p in listed.items}
        gone = [p for uid, p in self._pods.items() if uid not in fresh]
        ungraceful = [p for p in gone if p.metadata.deletion_timestamp is None and not _daemon(p)]
        if ungraceful:
            asked = self._deletions_asked()
            for pod in ungraceful:
                name = f"{pod.metadata.namespace}/{pod.metadata.name}"
                if name not in asked:
                    self.lost.append(name)
        self._pods = fresh
        self._check()
        return str(listed.metadata.resource_version)

    def _deletions_asked(self) -> set[str]:
        """namespace/name of every pod a successful eviction or graceful DELETE asked for
        (a DELETE with ``gracePeriodSeconds=0`` is a loss, as the live watch counts it)."""
        asked: set[str] = set()
        for entry in kube_request(self.kubeconfig, "GET", REQUESTS_PATH):
            parts = entry["path"].strip("/").split("/")
            if not 200 <= int(entry["status"]) < 300 or "pods" not in parts:
                continue
            at = parts.index("pods")
            if at < 2 or parts[at - 2] != "namespaces" or len(parts) < at + 2:
                continue
            evicted = entry["method"] == "POST" and parts[at + 2 :] == ["eviction"]
            graceful = (entry.get("query") or {}).get("gracePeriodSeconds") != "0"
            deleted = entry["method"] == "DELETE" and len(parts) == at + 2 and graceful
            if evicted or deleted:
                asked.add(f"{parts[at - 1]}/{parts[at + 1]}")
        return asked

    def _seen(self, kind: str, pod: Any) -> None:
        uid = pod.metadata.uid
        before = self._pods.get(uid)
        if kind == "DELETED":
            graceful = before is not None and before.metadata.deletion_timestamp is not None
            if not graceful and not _daemon(pod):
                self.lost.append(f"{pod.metadata.namespace}/{pod.metadata.name}")
            self._pods.pop(uid, None)
        else:
            self._pods[uid] = pod
        self.events += 1
        self._check()

    def _budget(self, pdb: dict[str, Any]) -> tuple[str, str, dict[str, str], int]:
        meta, spec = pdb["metadata"], pdb["spec"]
        wanted = dict(spec["selector"].get("matchLabels", {}))
        expected = sum(1 for p in self._pods.values() if _selects(meta["namespace"], wanted, p))
        if spec.get("minAvailable") is not None:
            need = int(spec["minAvailable"])
        else:
            need = expected - int(spec["maxUnavailable"])
        return f"{meta['namespace']}/{meta['name']}", meta["namespace"], wanted, need

    def _check(self) -> None:
        for name, namespace, wanted, need in self._budgets:
            healthy = sum(
                1 for p in self._pods.values() if _selects(namespace, wanted, p) and _healthy(p)
            )
            self.lowest[name] = min(self.lowest.get(name, healthy - need), healthy - need)
            if healthy < need:
                self.violations.append(f"{name}: {healthy} healthy, needs {need}")

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=10)


def start_watcher(kubeconfig: Path, pdb_path: str, timeout: float = 10.0) -> PodWatcher:
    """A PodWatcher that has listed the pods and budgets."""
    watcher = PodWatcher(kubeconfig, pdb_path)
    watcher.start()
    assert watcher.started.wait(timeout)
    return watcher
