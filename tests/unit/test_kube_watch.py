"""The watch cache's pure parts: events applied to the objects (a bookmark only moves the
resourceVersion), equality label selectors parsed and everything else left to the server,
filtering by namespace, node and labels, the backoff, and the list's resourceVersion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.scripted_api import Answer, scripted_reader
from upgrader.adapters import kube_watch
from upgrader.adapters.kube import KubeReader
from upgrader.adapters.kube_watch import (
    WatchCache,
    apply_event,
    backoff,
    equality_selector,
    list_collection,
    select,
)


def _pod(
    name: str,
    *,
    namespace: str = "default",
    node: str | None = None,
    labels: dict[str, str] | None = None,
    rv: str = "1",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "resourceVersion": rv}
    if labels is not None:
        meta["labels"] = labels
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def test_added_modified_and_deleted_change_the_objects_by_namespace_and_name() -> None:
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    assert apply_event(objects, "ADDED", _pod("a", rv="2"))
    assert apply_event(objects, "ADDED", _pod("a", namespace="team", rv="3"))
    assert apply_event(objects, "MODIFIED", _pod("a", rv="4"))
    assert objects[("default", "a")]["metadata"]["resourceVersion"] == "4"
    assert apply_event(objects, "DELETED", _pod("a", namespace="team", rv="5"))
    assert not apply_event(objects, "DELETED", _pod("gone"))
    assert not apply_event(objects, "BOOKMARK", {"metadata": {"resourceVersion": "6"}})
    assert list(objects) == [("default", "a")]
    assert apply_event(objects, "ADDED", {"metadata": {"name": "n1"}})
    assert ("", "n1") in objects


def _cache() -> WatchCache:
    # Never started: no request is made (unit tests may not open connections).
    return WatchCache(KubeReader.from_endpoint("http://127.0.0.1:9", "", "token"), "/api/v1/pods")


def test_a_bookmark_moves_the_resource_version_but_not_the_generation() -> None:
    cache = _cache()
    assert cache.apply({"type": "ADDED", "object": _pod("a", rv="7")})
    assert (cache.generation, cache.resource_version) == (1, "7")
    bookmark = {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "9"}}}
    assert not cache.apply(bookmark)
    assert (cache.generation, cache.resource_version) == (1, "9")
    assert [o["metadata"]["name"] for o in cache.items()] == ["a"]


def test_items_is_a_snapshot_and_wait_changed_waits_for_a_newer_generation() -> None:
    cache = _cache()
    cache.apply({"type": "ADDED", "object": _pod("a")})
    snapshot = cache.items()
    cache.apply({"type": "DELETED", "object": _pod("a")})
    assert len(snapshot) == 1 and cache.items() == []
    assert cache.wait_changed(0, timeout=5.0) == 2  # already newer: no wait
    assert cache.wait_changed(2, timeout=0.01) == 2  # times out unchanged
    assert not cache.fresh and not cache.running  # never started


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (None, {}),
        ("", {}),
        ("app=web", {"app": "web"}),
        (" app = web , tier==front", {"app": "web", "tier": "front"}),
        ("app.kubernetes.io/name=aws-node", {"app.kubernetes.io/name": "aws-node"}),
        ("empty=", {"empty": ""}),
        ("a=b,a=b", {"a": "b"}),
        ("app!=web", None),
        ("app in (web,db)", None),
        ("app", None),
        ("!app", None),
        ("a=b,a=c", None),
        ("a=b,", None),
        ("a=b=c", None),
    ],
)
def test_only_equality_selectors_are_evaluated_here(
    text: str | None, wanted: dict[str, str] | None
) -> None:
    assert equality_selector(text) == wanted


def test_select_filters_by_namespace_node_and_labels() -> None:
    pods = [
        _pod("web-1", node="n1", labels={"app": "web", "tier": "front"}),
        _pod("web-2", node="n2", labels={"app": "web"}),
        _pod("db-1", namespace="team", node="n1", labels={"app": "db"}),
        _pod("pending"),
    ]

    def names(**filters: Any) -> list[str]:
        return [p["metadata"]["name"] for p in select(pods, **filters)]

    assert names() == ["web-1", "web-2", "db-1", "pending"]
    assert names(node="n1") == ["web-1", "db-1"]
    assert names(namespace="team") == ["db-1"]
    assert names(labels={"app": "web"}) == ["web-1", "web-2"]
    assert names(node="n1", namespace="default", labels={"app": "web", "tier": "front"}) == [
        "web-1"
    ]
    assert names(labels={"tier": "back"}) == []


def test_backoff_grows_with_jitter_up_to_its_cap() -> None:
    first, most = kube_watch.BACKOFF_FIRST_SECONDS, kube_watch.BACKOFF_MOST_SECONDS
    for failures, ceiling in [(1, first), (2, 2 * first), (3, 4 * first), (50, most)]:
        pauses = [backoff(failures) for _ in range(50)]
        assert all(ceiling / 2 <= p <= ceiling for p in pauses)


def test_a_paged_list_keeps_the_first_pages_resource_version() -> None:
    pages: list[Answer] = [
        (200, {"apiVersion": "v1", "metadata": {"resourceVersion": "10", "continue": "t"},
               "items": [_pod("a")]}, {}),
        (200, {"apiVersion": "v1", "metadata": {"resourceVersion": "12"},
               "items": [_pod("b")]}, {}),
    ]  # fmt: skip
    reader, api = scripted_reader(lambda _m, _p: pages.pop(0))
    items, version = list_collection(reader, "/api/v1/pods")
    assert version == "10"
    assert [(o["metadata"]["name"], o["apiVersion"]) for o in items] == [("a", "v1"), ("b", "v1")]
    assert len(api.sent) == 2
