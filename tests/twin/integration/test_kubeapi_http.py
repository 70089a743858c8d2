"""The API emulator through the official ``kubernetes`` client over real HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest
from kubernetes import client, watch

from ekstwin.kubeapi import KubeApiServer, Store
from ekstwin.kubeapi.watchcache import WatchCacheLimits
from tests.twin.integration.kubeapi_fixtures import api, server, store

pytestmark = pytest.mark.integration
__all__ = ["api", "server", "store"]  # fixtures used by the tests below


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def pod(name: str, node: str | None = None, **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "web:1"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(client.ApiException) as caught:
        call(*args, **kwargs)
    return caught.value.status, json.loads(caught.value.body)


def test_token_is_required(server: KubeApiServer) -> None:
    with client.ApiClient(client.Configuration(host=server.url)) as anonymous:
        status, body = error_of(client.CoreV1Api(anonymous).list_namespace)
        assert status == 401 and body["reason"] == "Unauthorized"
        assert client.VersionApi(anonymous).get_code().git_version.startswith("v1.12.")


def test_a_wrong_token_is_refused_even_where_no_token_is_let_in(store: Store) -> None:
    server = KubeApiServer(store, token="the-token", anonymous=True)
    server.start()
    try:
        wrong = client.Configuration(host=server.url)
        wrong.api_key, wrong.api_key_prefix = {"BearerToken": "x"}, {"BearerToken": "Bearer"}
        with client.ApiClient(wrong) as refused:
            status, _ = error_of(client.CoreV1Api(refused).list_namespace)
            assert status == 401
        with client.ApiClient(client.Configuration(host=server.url)) as anonymous:
            assert client.CoreV1Api(anonymous).list_namespace().items is not None
    finally:
        server.stop()


def test_version_health_and_discovery(
    api: client.ApiClient, server: KubeApiServer, store: Store
) -> None:
    info = client.VersionApi(api).get_code()
    assert (info.major, info.minor, info.platform) == ("1", "12+", "linux/amd64")
    assert info.git_version.startswith("v1.12.10-eks-")
    groups = {
        g.name: [v.version for v in g.versions]
        for g in client.ApisApi(api).get_api_versions().groups
    }
    assert groups["extensions"] == ["v1beta1"] and "v1" not in groups["policy"]
    core_resources = {r.name for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {
        "pods",
        "pods/status",
        "pods/eviction",
        "nodes",
        "configmaps",
        "events",
    } <= core_resources
    with urllib.request.urlopen(f"{server.url}/healthz") as health:
        assert health.read() == b"ok"
    store.set_kubernetes_version("1.13")
    assert client.VersionApi(api).get_code().git_version.startswith("v1.13.")


def test_crud_with_server_metadata_and_defaults(core: client.CoreV1Api) -> None:
    made = core.create_namespaced_pod("default", pod("web-0", app="web"))
    assert made.metadata.uid and made.metadata.creation_timestamp is not None
    assert int(made.metadata.resource_version) > 0 and made.metadata.namespace == "default"
    assert (made.spec.restart_policy, made.spec.dns_policy, made.status.phase) == (
        "Always",
        "ClusterFirst",
        "Pending",
    )
    assert core.read_namespaced_pod("web-0", "default").metadata.uid == made.metadata.uid
    status, body = error_of(core.create_namespaced_pod, "default", pod("web-0"))
    assert (status, body["reason"], body["message"]) == (
        409,
        "AlreadyExists",
        'pods "web-0" already exists',
    )
    status, body = error_of(core.create_namespaced_pod, "nope", pod("web-1"))
    assert (status, body["message"]) == (404, 'namespaces "nope" not found')
    status, body = error_of(core.create_namespaced_pod, "default", pod("Bad_Name"))
    assert (
        status == 422
        and body["reason"] == "Invalid"
        and body["details"]["causes"][0]["field"] == "metadata.name"
    )
    core.delete_namespaced_pod("web-0", "default")
    status, body = error_of(core.read_namespaced_pod, "web-0", "default")
    assert (status, body["kind"], body["status"], body["details"]) == (
        404,
        "Status",
        "Failure",
        {"name": "web-0", "kind": "pods"},
    )


def test_put_and_stale_resource_version(core: client.CoreV1Api) -> None:
    made = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "aws-auth"}, "data": {"a": "1"}}
    )
    made.data = {"a": "2"}
    replaced = core.replace_namespaced_config_map("aws-auth", "default", made)
    assert replaced.data == {"a": "2"}
    assert int(replaced.metadata.resource_version) > int(made.metadata.resource_version)
    made.data = {"a": "3"}  # still carries the old resourceVersion
    status, body = error_of(core.replace_namespaced_config_map, "aws-auth", "default", made)
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "aws-auth": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    stale_patch = {
        "metadata": {"resourceVersion": made.metadata.resource_version},
        "data": {"a": "4"},
    }
    assert error_of(core.patch_namespaced_config_map, "aws-auth", "default", stale_patch)[0] == 409


def test_three_patch_kinds(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", pod("web-0", app="web"))
    # a dict body goes out as strategic merge: containers merge by name
    strategic = core.patch_namespaced_pod(
        "web-0", "default", {"spec": {"containers": [{"name": "app", "image": "web:2"}]}}
    )
    assert [(c.name, c.image) for c in strategic.spec.containers] == [("app", "web:2")]
    assert strategic.spec.containers[0].termination_message_path == "/dev/termination-log"
    merged = core.patch_namespaced_pod(
        "web-0",
        "default",
        {"metadata": {"labels": {"app": None, "x": "y"}}},
        _content_type="application/merge-patch+json",
    )
    assert merged.metadata.labels == {"x": "y"}
    ops = [
        {"op": "test", "path": "/metadata/labels/x", "value": "y"},
        {"op": "add", "path": "/metadata/labels/z", "value": "1"},
    ]
    patched = core.patch_namespaced_pod("web-0", "default", ops)
    assert patched.metadata.labels == {"x": "y", "z": "1"}
    failing = [{"op": "test", "path": "/metadata/labels/x", "value": "nope"}]
    assert error_of(core.patch_namespaced_pod, "web-0", "default", failing)[0] == 422
    status, body = error_of(
        core.patch_namespaced_pod,
        "web-0",
        "default",
        {"a": 1},
        _content_type="application/apply-patch+yaml",
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")


def test_label_and_field_selectors_and_paging(core: client.CoreV1Api) -> None:
    for i, node in enumerate(["n1", "n2", "n1", "n2", "n1"]):
        core.create_namespaced_pod("default", pod(f"web-{i}", node, app="web" if i < 4 else "db"))
    names = lambda items: [p.metadata.name for p in items]  # noqa: E731
    assert names(core.list_namespaced_pod("default", label_selector="app=web").items) == [
        "web-0",
        "web-1",
        "web-2",
        "web-3",
    ]
    assert names(core.list_namespaced_pod("default", label_selector="app in (db),!tier").items) == [
        "web-4"
    ]
    on_n1 = core.list_pod_for_all_namespaces(
        field_selector="spec.nodeName=n1", label_selector="app!=db"
    )
    assert names(on_n1.items) == ["web-0", "web-2"]
    assert on_n1.kind == "PodList" and int(on_n1.metadata.resource_version) > 0
    first = core.list_namespaced_pod("default", limit=2)
    assert names(first.items) == ["web-0", "web-1"] and first.metadata._continue
    second = core.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)
    assert names(second.items) == ["web-2", "web-3"]
    assert error_of(core.list_namespaced_pod, "default", label_selector="a b c")[0] == 400


def test_watch_streams_and_resumes(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", pod("web-0", app="web"))
    start = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", pod("web-1", app="web"))
    core.create_namespaced_pod("default", pod("db-0", app="db"))
    core.patch_namespaced_pod(
        "web-1", "default", {"metadata": {"labels": {"app": "db"}}}
    )  # leaves app=web
    core.delete_namespaced_pod("web-0", "default")

    def stream(**kwargs: Any) -> list[tuple[str, str]]:
        w = watch.Watch()
        events = w.stream(
            core.list_namespaced_pod,
            "default",
            label_selector="app=web",
            timeout_seconds=1,
            **kwargs,
        )
        return [(e["type"], e["object"].metadata.name) for e in events]

    assert stream(resource_version=start) == [
        ("ADDED", "web-1"),
        ("DELETED", "web-1"),
        ("DELETED", "web-0"),
    ]
    assert stream() == []  # initial state: nothing left with app=web

    received: list[tuple[str, str]] = []
    w = watch.Watch()

    def follow() -> None:
        for event in w.stream(
            core.list_namespaced_pod, "default", resource_version=start, _request_timeout=10
        ):
            received.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "late":
                w.stop()

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.2)
    core.create_namespaced_pod("default", pod("late"))
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert received[-1] == ("ADDED", "late") and received[0] == ("ADDED", "web-1")


def test_watch_too_old_resource_version_is_410(core: client.CoreV1Api, store: Store) -> None:
    store.watch_cache.limits = WatchCacheLimits(max_events=1)
    core.create_namespaced_pod("default", pod("web-0"))
    core.create_namespaced_pod("default", pod("web-1"))  # web-0's event leaves the window
    with pytest.raises(client.ApiException) as gone:
        list(
            watch.Watch().stream(
                core.list_namespaced_pod, "default", resource_version="1", timeout_seconds=1
            )
        )
    assert gone.value.status == 410 and "too old resource version: 1 (" in gone.value.reason


def test_status_subresource(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    body = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "web:1"}]},
            },
        },
        "status": {"replicas": 99},
    }
    made = apps.create_namespaced_deployment("default", body)
    assert made.status is None or made.status.replicas is None  # status dropped on create
    assert (
        made.spec.strategy.rolling_update.max_surge == "25%"
        and made.spec.progress_deadline_seconds == 600
    )
    apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"replicas": 3, "readyReplicas": 3}}
    )
    after = apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"replicas": 3}, "status": {"replicas": 0}}
    )
    assert (after.status.replicas, after.spec.replicas, after.metadata.generation) == (3, 3, 2)


def test_eviction_201_then_429_naming_the_budget(
    api: client.ApiClient, core: client.CoreV1Api
) -> None:
    for i in range(3):
        core.create_namespaced_pod("default", pod(f"web-{i}", "n1", app="web"))
        ready = {
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        }
        core.patch_namespaced_pod_status(f"web-{i}", "default", ready)
    pdb = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    }
    path = "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets"
    created = api.call_api(
        *api.param_serialize("POST", path, body=pdb, auth_settings=["BearerToken"])
    )
    created.read()
    assert created.status == 201

    def evict(name: str) -> Any:
        body = client.V1Eviction(
            api_version="policy/v1beta1", kind="Eviction", metadata=client.V1ObjectMeta(name=name)
        )
        return core.create_namespaced_pod_eviction(name, "default", body)

    evict("web-0")
    marked = core.read_namespaced_pod("web-0", "default")
    assert marked.metadata.deletion_timestamp is not None  # graceful: bound to n1
    status, body = error_of(evict, "web-1")
    assert (status, body["reason"]) == (429, "TooManyRequests")
    assert (
        body["details"]["causes"][0]["message"]
        == "The disruption budget web needs 2 healthy pods and has 2 currently"
    )
    # policy/v1 Eviction is only served from 1.22: a 1.12 cluster rejects the body
    v1_body = client.V1Eviction(api_version="policy/v1", metadata=client.V1ObjectMeta(name="web-2"))
    assert error_of(core.create_namespaced_pod_eviction, "web-2", "default", v1_body)[0] == 400


def test_served_versions_differ_between_1_12_and_1_16(api: client.ApiClient, store: Store) -> None:
    def status_of(path: str) -> int:
        response = api.call_api(*api.param_serialize("GET", path, auth_settings=["BearerToken"]))
        response.read()
        return int(response.status)

    legacy = "/apis/extensions/v1beta1/namespaces/kube-system/daemonsets"
    assert (
        status_of(legacy) == 200
        and status_of("/apis/apiextensions.k8s.io/v1/customresourcedefinitions") == 404
    )
    store.set_kubernetes_version("1.16")
    assert (
        status_of(legacy) == 404
        and status_of("/apis/apiextensions.k8s.io/v1/customresourcedefinitions") == 200
    )
    assert status_of("/apis/apps/v1/namespaces/kube-system/daemonsets") == 200


def test_leases_events_and_request_log(
    api: client.ApiClient, core: client.CoreV1Api, server: KubeApiServer, store: Store
) -> None:
    leases = client.CoordinationV1Api(api)
    assert error_of(leases.list_namespaced_lease, "kube-node-lease")[0] == 404  # v1 from 1.14
    store.set_kubernetes_version("1.14")
    lease = leases.create_namespaced_lease(
        "kube-node-lease", {"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1"}}
    )
    assert lease.spec.holder_identity == "n1"
    renewed = leases.patch_namespaced_lease(
        "n1", "kube-node-lease", {"spec": {"renewTime": "2019-05-01T12:00:00.000000Z"}}
    )
    assert renewed.spec.renew_time is not None
    event = {
        "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "Pod", "name": "web"},
        "reason": "Evicted",
        "message": "m",
    }
    core.create_namespaced_event("default", event)
    assert [e.reason for e in core.list_namespaced_event("default").items] == ["Evicted"]
    with urllib.request.urlopen(f"{server.url}/_sandbox/requests") as response:
        log = json.loads(response.read())
    assert {
        "method": "POST",
        "path": "/api/v1/namespaces/default/events",
        "query": {},
        "status": 201,
    } in log
    assert log == server.requests


def test_eniconfig_custom_resources(api: client.ApiClient) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1beta1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "eniconfigs.crd.k8s.amazonaws.com"},
        "spec": {
            "group": "crd.k8s.amazonaws.com",
            "version": "v1alpha1",
            "scope": "Cluster",
            "names": {"plural": "eniconfigs", "singular": "eniconfig", "kind": "ENIConfig"},
        },
    }
    path = "/apis/apiextensions.k8s.io/v1beta1/customresourcedefinitions"
    response = api.call_api(
        *api.param_serialize("POST", path, body=crd, auth_settings=["BearerToken"])
    )
    response.read()
    assert response.status == 201
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object(
        "crd.k8s.amazonaws.com",
        "v1alpha1",
        "eniconfigs",
        {
            "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
            "kind": "ENIConfig",
            "metadata": {"name": "ap-northeast-1a"},
            "spec": {"subnet": "subnet-1"},
        },
    )
    listed = custom.list_cluster_custom_object("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["ap-northeast-1a"]
