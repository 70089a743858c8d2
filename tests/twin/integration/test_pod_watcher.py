"""The fault tests' pod watcher rides out what a real API server does to a watch: a 410
``Expired`` after its resourceVersion left the watch cache makes it relist, and a pod that
vanished meanwhile is lost unless the request log shows it evicted or deleted gracefully."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from ekstwin.kubeapi import KubeApiServer, Store
from ekstwin.kubeapi.watchcache import WatchCacheLimits
from tests.support.watchers import PodWatcher, start_watcher
from tests.twin.integration.kubeapi_fixtures import TOKEN, api, server, store

__all__ = ["api", "server", "store"]  # fixtures used by the tests below
PDBS = "/apis/policy/v1beta1/poddisruptionbudgets"


def kubeconfig(tmp_path: Path, srv: KubeApiServer) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "twin", "cluster": {"server": srv.url}}],
        "users": [{"name": "twin", "user": {"token": TOKEN}}],
        "contexts": [{"name": "twin", "context": {"cluster": "twin", "user": "twin"}}],
        "current-context": "twin",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def bound_pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "web:1"}]},
    }


def test_relist_counts_only_pods_gone_without_an_eviction(
    tmp_path: Path, server: KubeApiServer, store: Store, api: client.ApiClient
) -> None:
    core = client.CoreV1Api(api)
    for name in ("evicted", "vanished", "kept"):
        core.create_namespaced_pod("default", bound_pod(name))
    watcher = PodWatcher(kubeconfig(tmp_path, server), PDBS)
    watcher._relist()
    core.create_namespaced_pod_eviction(
        "evicted", "default", {"metadata": {"name": "evicted", "namespace": "default"}}
    )
    store.delete("pods", "evicted", namespace="default", grace_period_seconds=0)
    store.delete("pods", "vanished", namespace="default", grace_period_seconds=0)
    watcher._relist()
    assert watcher.lost == ["default/vanished"]
    assert sorted(p.metadata.name for p in watcher._pods.values()) == ["kept"]


def test_a_410_mid_watch_relists_instead_of_failing(
    tmp_path: Path, server: KubeApiServer, store: Store, api: client.ApiClient
) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_pod("default", bound_pod("vanished"))
    watcher = start_watcher(kubeconfig(tmp_path, server), PDBS)
    store.watch_cache.limits = WatchCacheLimits(max_events=1, min_events=1)
    with store.lock:  # the watch cannot read while these leave its window
        store.delete("pods", "vanished", namespace="default", grace_period_seconds=0)
        for i in range(3):
            store.create("pods", bound_pod(f"late-{i}"), namespace="default")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(watcher._pods) != 3:
        time.sleep(0.05)
    watcher.finish()
    assert watcher.errors == []
    assert watcher.lost == ["default/vanished"]
    names = sorted(p.metadata.name for p in watcher._pods.values())
    assert names == [f"late-{i}" for i in range(3)]
