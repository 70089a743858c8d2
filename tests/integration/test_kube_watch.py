"""Watch caches against the Kubernetes API emulator over real HTTP: they follow what another
client creates, changes and deletes; bookmarks move their resourceVersion; a watch the
server ends resumes where it was; a 410 relists; each reconnect carries the current token;
a lost server is retried with backoff; stop() ends the thread at once. KubeActions' nodes()
and pods() from the caches equal its HTTP answers."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from ekstwin.kubeapi import KubeApiServer, Store
from ekstwin.kubeapi.auth import Authenticator
from ekstwin.kubeapi.watchcache import WatchCacheLimits
from tests.twin.integration.kubeapi_fixtures import TOKEN, server, store
from upgrader.adapters.kube import Credentials, KubeReader
from upgrader.adapters.kube_actions import KubeActions
from upgrader.adapters.kube_watch import WatchCache

pytestmark = pytest.mark.integration
Make = Callable[..., WatchCache]
__all__ = ["server", "store"]  # the emulator's fixtures, used by name


@pytest.fixture
def reader(server: KubeApiServer) -> Iterator[KubeReader]:
    kube = KubeReader.from_endpoint(server.url, "", TOKEN)
    yield kube
    kube.close()


@pytest.fixture
def core(server: KubeApiServer) -> Iterator[client.CoreV1Api]:
    """Another client: the official one."""
    config = client.Configuration(host=server.url)
    config.api_key = {"BearerToken": TOKEN}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    with client.ApiClient(config) as api:
        yield client.CoreV1Api(api)


@pytest.fixture
def watch(reader: KubeReader) -> Iterator[Make]:
    """Start a synced WatchCache (stopped after the test)."""
    started: list[WatchCache] = []

    def make(path: str, *, on: KubeReader = reader, **options: Any) -> WatchCache:
        cache = WatchCache(on, path, **options).start()
        started.append(cache)
        assert cache.synced.wait(10), f"{path} never listed: {cache.error}"
        return cache

    yield make
    for cache in started:
        cache.stop()


@pytest.fixture
def kube(reader: KubeReader) -> Iterator[KubeActions]:
    actions = KubeActions(reader)
    yield actions
    actions.stop_watches()


def _until(check: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _follow(cache: WatchCache, check: Callable[[], bool], what: str) -> None:
    """Wait on the cache's generation (no polling) until ``check()`` holds."""
    deadline, generation = time.monotonic() + 10.0, cache.generation
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        generation = cache.wait_changed(generation, 0.5)


def _labels(cache: WatchCache, name: str) -> dict[str, str]:
    return next(
        o["metadata"].get("labels") or {} for o in cache.items() if o["metadata"]["name"] == name
    )


def _names(cache: WatchCache) -> set[str]:
    return {o["metadata"]["name"] for o in cache.items()}


def _pod(name: str, node: str | None = None, **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "web:1"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def _node(name: str, instance: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"eks.amazonaws.com/nodegroup": "ng"}},
        "spec": {"providerID": f"aws:///us-east-1a/{instance}"},
    }


def _watch_requests(server: KubeApiServer, path: str) -> list[dict[str, Any]]:
    return [r for r in server.request_log() if r["path"] == path and "watch" in r["query"]]


def _accept(server: KubeApiServer, *tokens: str) -> None:
    server.auth = Authenticator(time.time, static_tokens=tokens, eks_tokens=False)


def test_the_cache_follows_creates_updates_and_deletes_by_another_client(
    watch: Make, core: client.CoreV1Api
) -> None:
    core.create_namespaced_pod("default", _pod("before"))
    cache = watch("/api/v1/pods")
    assert _names(cache) == {"before"}

    core.create_namespace({"metadata": {"name": "team"}})
    core.create_namespaced_pod("team", _pod("added", app="db"))
    _follow(cache, lambda: _names(cache) == {"before", "added"}, "the ADDED pod")

    core.patch_namespaced_pod("added", "team", {"metadata": {"labels": {"app": "web"}}})
    _follow(cache, lambda: _labels(cache, "added") == {"app": "web"}, "the MODIFIED pod")

    core.delete_namespaced_pod("before", "default", grace_period_seconds=0)
    _follow(cache, lambda: _names(cache) == {"added"}, "the DELETED pod")
    assert (cache.lists, cache.error) == (1, None)
    assert cache.resource_version == core.list_pod_for_all_namespaces().metadata.resource_version


def test_a_bookmark_moves_the_resource_version_and_nothing_else(watch: Make, store: Store) -> None:
    cache = watch("/api/v1/nodes")
    version, generation = cache.resource_version, cache.generation
    store.create("pods", _pod("elsewhere"), namespace="default")  # a newer version, no node
    # The emulator bookmarks a watch idle for a second with the newest resourceVersion.
    _until(lambda: int(cache.resource_version) == store.resource_version, "a bookmark")
    assert int(cache.resource_version) > int(version)
    assert cache.generation == generation and cache.items() == []
    assert (cache.watches, cache.lists) == (1, 1)  # the same watch, still open


def test_a_watch_the_server_ends_resumes_from_the_last_resource_version(
    watch: Make, server: KubeApiServer, store: Store
) -> None:
    cache = watch("/api/v1/nodes", watch_seconds=1)

    def seen_then_ended(count: int) -> bool:
        ended = len(_watch_requests(server, "/api/v1/nodes"))
        return len(_names(cache)) == count and ended >= count

    for i in range(1, 4):  # each change on a later watch: the server ends each after 1 s
        store.create("nodes", _node(f"n{i}", f"i-{i}"))
        _until(functools.partial(seen_then_ended, i), f"node n{i}, then watch {i} ended")
    watches = _watch_requests(server, "/api/v1/nodes")
    versions = [int(r["query"]["resourceVersion"]) for r in watches]
    assert versions == sorted(versions) and versions[0] > 0
    assert all(r["status"] == 200 and r["query"]["timeoutSeconds"] == "1" for r in watches)
    assert cache.lists == 1  # never relisted
    lists = [r for r in server.request_log() if "watch" not in r["query"]]
    assert len(lists) == 1


def test_a_410_relists_and_the_cache_catches_up(
    watch: Make, server: KubeApiServer, store: Store
) -> None:
    store.create("pods", _pod("vanished", "n1"), namespace="default")
    cache = watch("/api/v1/pods")
    store.watch_cache.limits = WatchCacheLimits(max_events=1, min_events=1)
    with store.lock:  # the watch cannot read while these leave the server's window
        store.delete("pods", "vanished", namespace="default", grace_period_seconds=0)
        for i in range(3):
            store.create("pods", _pod(f"late-{i}"), namespace="default")
    _until(lambda: _names(cache) == {"late-0", "late-1", "late-2"}, "the relisted pods")
    assert cache.lists == 2 and cache.error is None
    assert cache.resource_version == str(store.resource_version)
    # The emulator answers a too-old resourceVersion with 200 and an ERROR event (code 410).
    _until(lambda: _watch_requests(server, "/api/v1/pods"), "the expired watch to be logged")
    assert [r["status"] for r in _watch_requests(server, "/api/v1/pods")] == [200]
    lists = [r for r in server.request_log() if "watch" not in r["query"]]
    assert [r["path"] for r in lists] == ["/api/v1/pods", "/api/v1/pods"]


def test_each_watch_carries_the_current_token_and_a_401_makes_a_new_one(
    watch: Make, server: KubeApiServer, store: Store
) -> None:
    now = [0.0]
    tokens = iter(f"t{i}" for i in range(10))
    credentials = Credentials(lambda: next(tokens), advice="check", clock=lambda: now[0])
    _accept(server, "t0", "t1")
    reader = KubeReader.from_endpoint(server.url, "", credentials)
    try:
        cache = watch("/api/v1/nodes", on=reader, watch_seconds=1)
        now[0] = 14 * 60.0  # t0 is due for renewal: the next watch asks for t1
        _until(lambda: credentials.issued == 2, "a new token on reconnect")
        _accept(server, "t1")
        store.create("nodes", _node("n1", "i-1"))
        _until(lambda: _names(cache) == {"n1"}, "n1 seen with t1")
        assert all(r["status"] == 200 for r in server.request_log())

        _accept(server, "t2")  # t1 revoked: the next watch is refused once, then renewed
        _until(lambda: credentials.issued == 3, "a new token after a 401")
        store.create("nodes", _node("n2", "i-2"))
        _until(lambda: _names(cache) == {"n1", "n2"}, "n2 seen with t2")
        statuses = [r["status"] for r in _watch_requests(server, "/api/v1/nodes")]
        assert 401 in statuses and cache.lists == 1
    finally:
        reader.close()


def test_a_lost_server_is_retried_with_backoff_then_followed_again(
    watch: Make, server: KubeApiServer, store: Store
) -> None:
    cache = watch("/api/v1/nodes")
    port = int(server.url.rsplit(":", 1)[1])
    server.stop()
    _until(lambda: cache.error is not None, "the watch to fail")
    assert not cache.fresh
    attempts = cache.watches
    time.sleep(1.5)
    assert cache.watches - attempts <= 4  # backing off, not spinning
    store.create("nodes", _node("n1", "i-1"))
    again = KubeApiServer(store, token=TOKEN)
    again.start(port=port)
    try:
        _until(lambda: _names(cache) == {"n1"}, "the change made while it was down")
        _until(lambda: cache.fresh, "the watch to be up again")
        assert cache.lists == 1  # resumed from its resourceVersion
    finally:
        cache.stop()
        again.stop()


def test_a_refused_watch_backs_off_then_resumes(
    watch: Make, server: KubeApiServer, store: Store
) -> None:
    cache = watch("/api/v1/nodes", watch_seconds=1)
    server.faults.configure({"apiserver_500": 1.0})  # every request from now: HTTP 500
    _until(lambda: "HTTP 500" in (cache.error or ""), "a refused watch")
    assert not cache.fresh
    attempts = cache.watches
    time.sleep(1.5)
    assert cache.watches - attempts <= 4  # backing off, not spinning
    store.create("nodes", _node("n1", "i-1"))
    server.faults.configure({"apiserver_500": 0.0})
    _until(lambda: cache.fresh and _names(cache) == {"n1"}, "the watch to resume")
    assert cache.lists == 1


def test_stop_ends_the_thread_at_once_even_mid_watch(watch: Make) -> None:
    cache = watch("/api/v1/pods")  # a 300 s watch, blocked reading
    _until(lambda: cache.watches == 1, "the watch to open")
    time.sleep(0.2)
    began = time.monotonic()
    cache.stop()
    assert time.monotonic() - began < 1.0
    assert not cache.running and not cache.fresh


def _seed(store: Store) -> None:
    for i, zone in ((1, "a"), (2, "b")):
        node = _node(f"n{i}", f"i-{i}")
        node["spec"]["providerID"] = f"aws:///us-east-1{zone}/i-{i}"
        store.create("nodes", node)
    store.create("namespaces", {"metadata": {"name": "team"}})
    store.create("pods", _pod("web-1", "n1", app="web", tier="front"), namespace="default")
    store.create("pods", _pod("web-2", "n2", app="web"), namespace="default")
    store.create("pods", _pod("db-1", "n1", app="db"), namespace="team")
    store.create("pods", _pod("pending", app="web"), namespace="default")
    store.create("pods", _pod("stuck", "n1", app="web"), namespace="default")
    waiting = {"state": {"waiting": {"reason": "ContainerCreating"}}}
    status = {"phase": "Pending", "containerStatuses": [{"name": "c", "image": "web:1", **waiting}]}
    store.patch(
        "pods", "stuck", {"status": status}, namespace="default", subresource="status"
    )  # fmt: skip
    store.create(
        "events",
        {
            "metadata": {"name": "stuck.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "stuck", "namespace": "default"},
            "type": "Warning",
            "reason": "FailedCreatePodSandBox",
            "message": "failed to assign an IP address to container",
            "lastTimestamp": "2024-01-01T00:00:00Z",
        },
        namespace="default",
    )


QUERIES: list[dict[str, str]] = [
    {},
    {"node": "n1"},
    {"namespace": "team"},
    {"namespace": "default", "label_selector": "app=web"},
    {"node": "n1", "label_selector": "app=web,tier=front"},
    {"label_selector": "app==web"},
]


def test_nodes_and_pods_from_the_caches_equal_the_http_answers(
    kube: KubeActions, server: KubeApiServer, store: Store
) -> None:
    _seed(store)
    by_http = (kube.nodes(), [kube.pods(**q) for q in QUERIES])
    mark = _settled(server) + 2  # and the caches' two lists
    assert kube.start_watches(wait_seconds=10)
    _until(lambda: len(_reads(server)) == mark, "the caches' lists in the request log")
    by_cache = (kube.nodes(), [kube.pods(**q) for q in QUERIES])
    assert by_cache == by_http
    stuck = next(p for p in by_cache[1][1] if p.name == "stuck")
    assert stuck.last_event == "failed to assign an IP address to container"
    # No list of nodes or pods: only the stuck pod's events, for the 4 answers holding it.
    _until(lambda: len(_reads(server)) >= mark + 4, "the events reads in the log")
    paths = {r["path"] for r in _reads(server)[mark:]}
    assert paths == {"/api/v1/events", "/api/v1/namespaces/default/events"}

    mark = _settled(server)
    assert kube.pods(label_selector="app in (web)") == kube.pods(label_selector="app=web")
    _until(lambda: len(_reads(server)) >= mark + 3, "the set-based selector's reads")
    listed = [r["query"].get("labelSelector") for r in _reads(server)[mark:] if "pods" in r["path"]]
    assert listed == ["app in (web)"]  # over HTTP; the equality selector from the cache

    kube.cordon("n1")  # our own write shows up in the cache a moment later
    _until(lambda: next(n for n in kube.nodes() if n.name == "n1").unschedulable, "cordon")
    kube.stop_watches()
    assert _watch_threads() == []
    mark = _settled(server)
    assert [n.name for n in kube.nodes()] == ["n1", "n2"]  # listed over HTTP again
    _until(lambda: [r["path"] for r in _reads(server)[mark:]] == ["/api/v1/nodes"], "a list")


def test_close_stops_the_watches(kube: KubeActions) -> None:
    assert kube.start_watches(wait_seconds=10)
    assert sorted(_watch_threads()) == ["watch /api/v1/nodes", "watch /api/v1/pods"]
    kube.close()
    assert _watch_threads() == []


def _reads(server: KubeApiServer) -> list[dict[str, Any]]:
    """The request log without watches (each is logged when it ends) and writes."""
    log = server.request_log()
    return [r for r in log if r["method"] == "GET" and "watch" not in r["query"]]


def _settled(server: KubeApiServer) -> int:
    """How many reads the log holds once it stops growing: the emulator logs a request
    after answering it, so the client can be back before its entry is in."""
    seen = -1
    while (now := len(_reads(server))) != seen:
        seen = now
        time.sleep(0.1)
    return seen


def _watch_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("watch /api/v1/")]
