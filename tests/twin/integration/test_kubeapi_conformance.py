"""The emulator answers like kube-apiserver where clients rely on it: validation and
decoding errors, selectors, the watch cache's window, OpenAPI, server-side apply, dry-run
and self-subject reviews, through the official client and raw HTTP."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client, watch

from ekstwin.kubeapi import KubeApiServer, Store
from ekstwin.kubeapi.openapi import PROTOBUF_V2, PROTOBUF_V2_RETURNED
from ekstwin.kubeapi.watchcache import WatchCacheLimits
from tests.twin.integration.kubeapi_fixtures import TOKEN, api, server, store

pytestmark = pytest.mark.integration
__all__ = ["api", "server", "store"]  # fixtures used by the tests below

Json = dict[str, Any]


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def raw(
    srv: KubeApiServer,
    method: str,
    path: str,
    body: bytes | str | None = None,
    content_type: str = "application/json",
    **headers: str,
) -> Reply:
    """One request with the bearer token; never raises for an HTTP error status."""
    parts = urlsplit(srv.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    data = body.encode() if isinstance(body, str) else body
    sent = {"Authorization": f"Bearer {TOKEN}", **headers}
    if data is not None:
        sent["Content-Type"] = content_type
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, Json]:
    with pytest.raises(client.ApiException) as caught:
        call(*args, **kwargs)
    return caught.value.status, json.loads(caught.value.body)


def pod(name: str, **labels: str) -> Json:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.15"}]},
    }


def deployment(replicas: Any = 2, **spec: Any) -> Json:
    labels = {"app": "web"}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod("x")["spec"]},
        },
    }
    body["spec"].update(spec)
    return body


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


# --- validation and decoding --------------------------------------------------------------


def test_invalid_objects_are_422_and_never_stored(
    apps: client.AppsV1Api, store: Store, server: KubeApiServer
) -> None:
    body = deployment()
    del body["spec"]["selector"]  # the official client would refuse it itself: raw HTTP
    reply = raw(server, "POST", "/apis/apps/v1/namespaces/default/deployments", json.dumps(body))
    status, error = reply.status, reply.json()
    assert status == 422 and error["reason"] == "Invalid"
    assert [c["field"] for c in error["details"]["causes"]] == [
        "spec.selector",
        "spec.template.metadata.labels",
    ]
    assert error["details"]["name"] == "web" and error["details"]["group"] == "apps"
    reply = raw(
        server,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        json.dumps(deployment("two")),
    )
    status, error = reply.status, reply.json()
    assert status == 400 and error["reason"] == "BadRequest"
    assert (
        "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas"
        in error["message"]
    )
    assert store.find("deployments.apps", "web", namespace="default") is None
    apps.create_namespaced_deployment("default", deployment())
    status, error = error_of(
        apps.patch_namespaced_deployment, "web", "default", {"spec": {"replicas": -3}}
    )
    assert status == 422 and error["details"]["causes"][0]["field"] == "spec.replicas"


def test_bodies_json_yaml_and_media_types(server: KubeApiServer, store: Store) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    reply = raw(server, "POST", path, '{"metadata": {"name": "a"', "application/json")
    assert reply.status == 400 and reply.json()["message"].startswith("couldn't get version/kind")
    reply = raw(
        server, "POST", path, "metadata: {name: b}\ndata: {k: '2019-01-01'}\n", "application/yaml"
    )
    assert reply.status == 201 and reply.json()["data"] == {"k": "2019-01-01"}
    reply = raw(server, "POST", path, "metadata: [unclosed", "application/yaml")
    assert reply.status == 400 and "error converting YAML to JSON" in reply.json()["message"]
    reply = raw(server, "POST", path, "[]", "application/json")
    assert reply.status == 400
    reply = raw(server, "POST", path, "x=1", "text/plain")
    assert reply.status == 415 and reply.json()["reason"] == "UnsupportedMediaType"
    mismatched = json.dumps(
        {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    )
    reply = raw(server, "POST", path, mismatched)
    assert (
        reply.status == 400
        and "does not match the expected API version (v1)" in reply.json()["message"]
    )
    assert [c["metadata"]["name"] for c in store.list("configmaps", namespace="default")] == ["b"]


GARBAGE = [
    b"",
    b"null",
    b"42",
    b'"text"',
    b"[1, 2]",
    b"{",
    b'{"metadata": "x"}',
    b'{"metadata": {"name": 7}, "spec": [], "status": "x"}',
    b'{"metadata": {"name": "x", "labels": [1]}, "spec": {"containers": {"a": 1}}}',
    b'{"spec": {"replicas": {"x": 1}, "template": 5, "selector": "app=web"}}',
    b'{"metadata": {"name": "g", "namespace": "default"}, "spec": {"ports": [{"port": "x"}]}}',
    b"\xff\xfe\x00garbage",
    b"- a\n- b\n",
    b'[{"op": "replace", "path": "/spec/replicas", "value": "x"}]',
    b'[{"op": "boom"}]',
    b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [7]}}',
]
ENDPOINTS = [
    "/api/v1/namespaces/default/pods",
    "/api/v1/namespaces/default/pods/web-0",
    "/api/v1/namespaces/default/pods/web-0/status",
    "/api/v1/namespaces/default/pods/web-0/eviction",
    "/api/v1/nodes/n1",
    "/api/v1/namespaces/default/configmaps/c",
    "/api/v1/namespaces/default/services",
    "/apis/apps/v1/namespaces/default/deployments",
    "/apis/apps/v1/namespaces/default/deployments/web",
    "/apis/apps/v1/namespaces/default/deployments/web/scale",
    "/apis/apps/v1/namespaces/default/daemonsets/ds",
    "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets",
    "/apis/coordination.k8s.io/v1beta1/namespaces/kube-node-lease/leases/n1",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "/openapi/v2",
    "/api/v1/namespaces/default/pods?fieldSelector=%ff&labelSelector=((",
    "/api/v1/pods?watch=1&resourceVersion=abc&timeoutSeconds=x",
    "/api/v1/pods?limit=lots&continue=%%%",
]
CONTENT_TYPES = [
    "application/json",
    "application/yaml",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "text/plain",
]


def test_garbage_never_crashes_the_server(
    server: KubeApiServer, core: client.CoreV1Api, apps: client.AppsV1Api, store: Store
) -> None:
    store.set_kubernetes_version("1.24")
    core.create_namespaced_pod("default", pod("web-0"))
    apps.create_namespaced_deployment("default", deployment())
    core.create_node({"metadata": {"name": "n1"}})
    seen: set[int] = set()
    for i, endpoint in enumerate(ENDPOINTS):
        for method in ("POST", "PUT", "PATCH", "DELETE", "GET"):
            body = GARBAGE[i % len(GARBAGE)] if method != "GET" else None
            for content_type in CONTENT_TYPES[i % 3 :: 3]:
                reply = raw(server, method, endpoint, body, content_type)
                seen.add(reply.status)
                assert reply.status < 500, (method, endpoint, content_type, reply.body[:300])
                if reply.status >= 400 and "openapi" not in endpoint:
                    status = reply.json()
                    assert status["kind"] == "Status" and status["code"] == reply.status
    for body in GARBAGE:
        for content_type in CONTENT_TYPES:
            reply = raw(
                server,
                "PATCH",
                "/apis/apps/v1/namespaces/default/deployments/web",
                body,
                content_type,
            )
            assert reply.status < 500, (body, content_type, reply.body[:300])
    assert {400, 405, 415, 422} <= seen
    reply = raw(server, "POST", "/api/v1/namespaces/default/pods", b"{}", **{"Content-Length": "x"})
    assert reply.status == 400
    core.list_namespaced_pod("default")  # still serving (garbage DELETEs may empty collections)
    assert [n.metadata.name for n in core.list_namespace().items][:1] == ["default"]


def test_an_unexpected_exception_is_a_logged_500(
    server: KubeApiServer,
    core: client.CoreV1Api,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "get", boom)
    with caplog.at_level(logging.ERROR, logger="ekstwin.kubeapi.server"):
        reply = raw(server, "GET", "/api/v1/namespaces/default/pods/x")
    assert reply.status == 500
    assert reply.json()["reason"] == "InternalError"
    assert reply.json()["message"] == "Internal error occurred: disk on fire"
    assert any("GET /api/v1/namespaces/default/pods/x failed" in r.message for r in caplog.records)
    monkeypatch.undo()
    assert core.list_namespace().items  # still serving


# --- selectors ----------------------------------------------------------------------------


def test_unsupported_selectors_are_400_never_an_empty_list(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", pod("web-0", app="web"))
    status, error = error_of(core.list_pod_for_all_namespaces, field_selector="spec.nodeNmae=n1")
    assert (status, error["reason"], error["message"]) == (
        400,
        "BadRequest",
        "field label not supported: spec.nodeNmae",
    )
    status, error = error_of(core.list_namespaced_config_map, "default", field_selector="data.x=1")
    assert status == 400 and error["message"].startswith('"data.x" is not a known field selector')
    status, error = error_of(core.list_namespaced_pod, "default", label_selector="app in web")
    assert (
        status == 400
        and error["message"] == "unable to parse requirement: found 'web' expected: '('"
    )
    with pytest.raises(client.ApiException) as caught:
        list(
            watch.Watch().stream(
                core.list_node, field_selector="spec.nodeName=x", timeout_seconds=1
            )
        )
    assert caught.value.status == 400
    assert [
        p.metadata.name
        for p in core.list_pod_for_all_namespaces(field_selector="spec.nodeName=").items
    ] == ["web-0"]
    events = core.list_event_for_all_namespaces(
        field_selector="involvedObject.kind=Pod,type=Warning"
    )
    assert events.items == []


# --- the watch cache ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def windowed() -> Iterator[tuple[Store, Clock, client.CoreV1Api, KubeApiServer]]:
    clock = Clock()
    limits = WatchCacheLimits(max_events=5, min_events=2, max_age_seconds=60)
    small = Store(kubernetes_version="1.24", now=clock, seed=1, watch_cache=limits)
    srv = KubeApiServer(small, token=TOKEN)
    srv.start()
    config = client.Configuration(host=srv.url)
    config.api_key = {"BearerToken": TOKEN}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    with client.ApiClient(config) as api_client:
        yield small, clock, client.CoreV1Api(api_client), srv
    srv.stop()


def _watch_lines(srv: KubeApiServer, query: str) -> list[Json]:
    reply = raw(srv, "GET", f"/api/v1/namespaces/default/configmaps?watch=1&{query}")
    assert reply.status == 200
    return [json.loads(line) for line in reply.body.splitlines() if line.strip()]


def test_a_watch_from_before_the_window_is_410_expired(
    windowed: tuple[Store, Clock, client.CoreV1Api, KubeApiServer],
) -> None:
    store, clock, core, srv = windowed
    start = core.list_namespaced_config_map("default").metadata.resource_version
    for i in range(4):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
    events = [
        e["object"].metadata.name
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=1
        )
    ]
    assert events == ["c0", "c1", "c2", "c3"]
    for i in range(4, 8):  # by count: c0..c2 leave the window
        core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
    with pytest.raises(client.ApiException) as caught:
        list(
            watch.Watch().stream(
                core.list_namespaced_config_map,
                "default",
                resource_version=start,
                timeout_seconds=1,
            )
        )
    assert caught.value.status == 410 and caught.value.reason.startswith(
        "Expired: too old resource version"
    )
    (error,) = _watch_lines(srv, f"resourceVersion={start}&timeoutSeconds=1")
    assert error["type"] == "ERROR"
    assert (error["object"]["code"], error["object"]["reason"]) == (410, "Expired")
    floor = store.history_floor("configmaps")
    assert error["object"]["message"] == f"too old resource version: {start} ({floor})"
    # by age on the server's clock: beyond min_events, events older than a minute go
    head = store.resource_version
    clock.t += 120
    lines = _watch_lines(srv, f"resourceVersion={head - 2}&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [
        ("ADDED", "c6"),
        ("ADDED", "c7"),
    ]
    assert _watch_lines(srv, f"resourceVersion={head - 3}&timeoutSeconds=1")[0]["type"] == "ERROR"
    # other resource types keep their own window
    assert (
        raw(
            srv,
            "GET",
            f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={start}&timeoutSeconds=1",
        ).body
        == b""
    )


def test_bookmarks_carry_the_current_resource_version(
    windowed: tuple[Store, Clock, client.CoreV1Api, KubeApiServer],
) -> None:
    _, _, core, srv = windowed
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_pod("default", pod("p"))  # moves the resourceVersion, not configmaps
    lines = _watch_lines(srv, f"resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=2")
    assert lines and {e["type"] for e in lines} == {"BOOKMARK"}
    assert int(lines[-1]["object"]["metadata"]["resourceVersion"]) > int(rv)
    assert lines[-1]["object"]["kind"] == "ConfigMap"


def test_exact_lists_and_continue_tokens_expire_with_the_window(
    windowed: tuple[Store, Clock, client.CoreV1Api, KubeApiServer],
) -> None:
    store, _, core, srv = windowed
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    then = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    core.delete_namespaced_config_map("a", "default")
    at = core.list_namespaced_config_map(
        "default", resource_version=then, resource_version_match="Exact"
    )
    assert [c.metadata.name for c in at.items] == ["a"] and at.metadata.resource_version == then
    now = core.list_namespaced_config_map(
        "default", resource_version=then, resource_version_match="NotOlderThan"
    )
    assert [c.metadata.name for c in now.items] == ["b"]
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    first = core.list_namespaced_config_map("default", limit=1)
    assert first.metadata._continue
    for i in range(6):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"x{i}"}})
    status, error = error_of(
        core.list_namespaced_config_map,
        "default",
        resource_version=then,
        resource_version_match="Exact",
    )
    assert (status, error["reason"]) == (410, "Expired")
    assert error["message"] == "The resourceVersion for the provided list is too old."
    status, error = error_of(
        core.list_namespaced_config_map, "default", limit=1, _continue=first.metadata._continue
    )
    assert status == 410 and error["message"].startswith(
        "The provided continue parameter is too old"
    )
    reply = raw(srv, "GET", "/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact")
    assert (
        reply.status == 422
        and reply.json()["details"]["causes"][0]["field"] == "resourceVersionMatch"
    )
    assert store.history_floor("configmaps") > int(then)


# --- OpenAPI ------------------------------------------------------------------------------


def test_openapi_v2_json_and_protobuf(server: KubeApiServer) -> None:
    reply = raw(server, "GET", "/openapi/v2")
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
    document = reply.json()
    assert document["swagger"] == "2.0" and document["info"]["version"].startswith("v1.12.")
    assert "io.k8s.api.extensions.v1beta1.Deployment" in document["definitions"]
    reply = raw(server, "GET", "/openapi/v2", Accept=PROTOBUF_V2)
    assert reply.status == 200 and reply.headers["Content-Type"] == PROTOBUF_V2_RETURNED
    assert reply.body.startswith(b"\n\x032.0")
    reply = raw(server, "GET", "/openapi/v2", Accept="text/html")
    assert reply.status == 406
    anonymous = http.client.HTTPConnection(urlsplit(server.url).hostname, urlsplit(server.url).port)
    try:
        anonymous.request("GET", "/openapi/v2")
        assert anonymous.getresponse().status == 401
    finally:
        anonymous.close()


def test_openapi_v3_from_1_24(server: KubeApiServer, store: Store) -> None:
    assert raw(server, "GET", "/openapi/v3").status == 404
    store.set_kubernetes_version("1.24")
    index = raw(server, "GET", "/openapi/v3").json()["paths"]
    assert "apis/extensions/v1beta1" not in index and "apis/policy/v1" in index
    url = index["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    document = raw(server, "GET", url).json()
    schemas = document["components"]["schemas"]
    assert schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    assert raw(server, "GET", "/openapi/v3/apis/nope/v1").status == 404


# --- server-side apply, managedFields, dry-run ----------------------------------------------


APPLY = "application/apply-patch+yaml"


def test_server_side_apply_with_the_official_client(apps: client.AppsV1Api, store: Store) -> None:
    store.set_kubernetes_version("1.22")
    body = deployment()
    made = apps.patch_namespaced_deployment(
        "web", "default", body, field_manager="ci", _content_type=APPLY
    )
    assert made.metadata.managed_fields[0].manager == "ci"
    assert made.metadata.managed_fields[0].operation == "Apply"
    apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"replicas": 5}}, field_manager="hpa"
    )
    status, error = error_of(
        apps.patch_namespaced_deployment,
        "web",
        "default",
        deployment(3),
        field_manager="ci",
        _content_type=APPLY,
    )
    assert status == 409 and error["reason"] == "Conflict"
    assert (
        error["message"]
        == 'Apply failed with 1 conflict: conflict with "hpa" using apps/v1: .spec.replicas'
    )
    assert error["details"]["causes"][0]["reason"] == "FieldManagerConflict"
    forced = apps.patch_namespaced_deployment(
        "web", "default", deployment(3), field_manager="ci", force=True, _content_type=APPLY
    )
    assert forced.spec.replicas == 3
    assert {e.manager for e in forced.metadata.managed_fields} == {"ci"}


def test_apply_request_checks(server: KubeApiServer, store: Store) -> None:
    path = "/api/v1/namespaces/default/configmaps/c"
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n"
    reply = raw(server, "PATCH", path, config, APPLY)
    assert reply.status == 415  # 1.12: no server-side apply yet
    assert "application/strategic-merge-patch+json" in reply.json()["message"]
    store.set_kubernetes_version("1.16")
    reply = raw(server, "PATCH", path, config, APPLY)
    assert reply.status == 422 and reply.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: '
        "fieldManager: Required value: is required for apply patch"
    )
    reply = raw(server, "PATCH", f"{path}?fieldManager=me", config, APPLY)
    assert reply.status == 201 and reply.json()["data"] == {"a": "1"}
    reply = raw(server, "PATCH", f"{path}?fieldManager=me", config.replace("'1'", "'2'"), APPLY)
    assert reply.status == 200 and reply.json()["data"] == {"a": "2"}
    reply = raw(
        server, "PATCH", f"{path}?fieldManager=me", config.replace("v1", "apps/v1", 1), APPLY
    )
    assert reply.status == 400 and reply.json()["message"].startswith(
        "Incorrect version specified in apply patch"
    )
    reply = raw(
        server,
        "PATCH",
        f"{path}?force=true",
        '{"data": {"b": "1"}}',
        "application/merge-patch+json",
    )
    assert (
        reply.status == 422
        and "force: Forbidden: may not be specified for non-apply patch" in reply.json()["message"]
    )


def test_dry_run_from_1_13(core: client.CoreV1Api, store: Store, server: KubeApiServer) -> None:
    status, error = error_of(
        core.create_namespaced_config_map, "default", {"metadata": {"name": "c"}}, dry_run="All"
    )
    assert (status, error["message"]) == (400, "the dryRun alpha feature is disabled")
    store.set_kubernetes_version("1.13")
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "c"}}, dry_run="All")
    assert made.metadata.uid and made.metadata.resource_version is None
    assert store.find("configmaps", "c", namespace="default") is None
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    patched = core.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}}, dry_run="All")
    core.delete_namespaced_config_map("c", "default", dry_run="All")
    assert patched.data == {"a": "2"} and core.read_namespaced_config_map("c", "default").data == {
        "a": "1"
    }
    reply = raw(server, "DELETE", "/api/v1/namespaces/default/configmaps/c", '{"dryRun": ["All"]}')
    assert reply.status == 200 and store.find("configmaps", "c", namespace="default") is not None
    status, error = error_of(
        core.create_namespaced_config_map, "default", {"metadata": {"name": "d"}}, dry_run="Yes"
    )
    assert status == 422 and error["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Yes"}: '
        'supported values: "All"'
    )


def test_field_validation_from_1_25(server: KubeApiServer, store: Store) -> None:
    body = json.dumps({"metadata": {"name": "c"}, "dta": {"a": "1"}, "data": {"b": "2"}})
    path = "/api/v1/namespaces/default/configmaps"
    assert (
        raw(server, "POST", f"{path}?fieldValidation=Strict", body).status == 201
    )  # 1.12 ignores it
    store.set_kubernetes_version("1.25")
    reply = raw(server, "POST", f"{path}?fieldValidation=Strict", body.replace('"c"', '"d"'))
    assert reply.status == 400 and reply.json()["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "dta"'
    )
    reply = raw(server, "POST", path, body.replace('"c"', '"e"'))
    assert reply.status == 201 and reply.headers["Warning"] == '299 - "unknown field \\"dta\\""'


# --- authorization ------------------------------------------------------------------------


def test_self_subject_access_and_rules_reviews(
    api: client.ApiClient, server: KubeApiServer, store: Store
) -> None:
    authz = client.AuthorizationV1Api(api)
    spec = {
        "resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": "kube-system"}
    }
    review = authz.create_self_subject_access_review({"spec": spec})
    assert review.status.allowed and review.status.reason.startswith("RBAC: allowed")
    assert review.spec.resource_attributes.verb == "delete"
    rules = authz.create_self_subject_rules_review({"spec": {"namespace": "default"}})
    assert any(r.verbs == ["*"] and r.resources == ["*"] for r in rules.status.resource_rules)
    status, error = error_of(authz.create_self_subject_access_review, {"spec": {}})
    assert status == 422 and error["details"]["causes"][0]["field"] == "spec.resourceAttributes"
    beta = "/apis/authorization.k8s.io/v1beta1/selfsubjectaccessreviews"
    assert raw(server, "POST", beta, json.dumps({"spec": spec})).status == 201
    assert (
        raw(server, "GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews").status == 405
    )
    store.set_kubernetes_version("1.22")
    assert raw(server, "POST", beta, json.dumps({"spec": spec})).status == 404
    verbs = {r.name: r.verbs for r in client.AuthorizationV1Api(api).get_api_resources().resources}
    assert verbs["selfsubjectaccessreviews"] == ["create"]


def test_watch_streams_still_serve_while_others_write(core: client.CoreV1Api) -> None:
    seen: list[str] = []
    w = watch.Watch()

    def follow() -> None:
        for event in w.stream(core.list_namespaced_config_map, "default", _request_timeout=10):
            seen.append(event["object"].metadata.name)
            if event["object"].metadata.name == "last":
                w.stop()

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.2)
    for name in ("a", "b", "last"):
        core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    thread.join(timeout=5)
    assert seen == ["a", "b", "last"]
