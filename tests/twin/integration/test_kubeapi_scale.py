"""The ``scale`` subresource of deployments, replica sets and stateful sets over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch

from ekstwin.kubeapi import Store
from tests.twin.integration.kubeapi_fixtures import api, server, store

pytestmark = pytest.mark.integration
__all__ = ["api", "server", "store"]  # fixtures used by the tests below


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def workload(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {
                "matchLabels": {"app": name},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["web", "front"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "template": {
                "metadata": {"labels": {"app": name, "tier": "web"}},
                "spec": {"containers": [{"name": "c", "image": "web:1"}]},
            },
        },
    }


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(client.ApiException) as caught:
        call(*args, **kwargs)
    return caught.value.status, json.loads(caught.value.body)


def raw(api: client.ApiClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    params = api.param_serialize(
        method,
        path,
        body=body,
        header_params={"Content-Type": "application/merge-patch+json"} if body else {},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*params)
    data = response.read()
    return int(response.status), json.loads(data)


def test_read_deployment_scale(apps: client.AppsV1Api) -> None:
    made = apps.create_namespaced_deployment("default", workload("web"))
    apps.patch_namespaced_deployment_status("web", "default", {"status": {"replicas": 2}})
    parent = apps.read_namespaced_deployment("web", "default")
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert isinstance(scale, client.V1Scale)
    assert (scale.api_version, scale.kind) == ("autoscaling/v1", "Scale")
    assert (scale.metadata.name, scale.metadata.namespace) == ("web", "default")
    assert scale.metadata.uid == made.metadata.uid
    assert scale.metadata.resource_version == parent.metadata.resource_version
    assert scale.metadata.creation_timestamp == made.metadata.creation_timestamp
    assert (scale.spec.replicas, scale.status.replicas) == (2, 2)
    assert scale.status.selector == "app=web,!canary,tier in (front,web)"
    assert error_of(apps.read_namespaced_deployment_scale, "nope", "default")[0] == 404


def test_patch_deployment_scale_changes_only_replicas(apps: client.AppsV1Api) -> None:
    made = apps.create_namespaced_deployment("default", workload("web"))
    scale = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    assert scale.kind == "Scale" and scale.spec.replicas == 5
    parent = apps.read_namespaced_deployment("web", "default")
    assert parent.spec.replicas == 5
    assert parent.metadata.generation == made.metadata.generation + 1
    assert int(parent.metadata.resource_version) > int(made.metadata.resource_version)
    assert scale.metadata.resource_version == parent.metadata.resource_version
    assert parent.spec.template.spec.containers[0].image == "web:1"
    # merge and json patches work too; a no-op keeps the resourceVersion
    merged = apps.patch_namespaced_deployment_scale(
        "web",
        "default",
        {"spec": {"replicas": 3}},
        _content_type="application/merge-patch+json",
    )
    assert merged.spec.replicas == 3
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    assert apps.patch_namespaced_deployment_scale("web", "default", ops).spec.replicas == 4
    again = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    after = apps.read_namespaced_deployment("web", "default")
    assert again.metadata.resource_version == after.metadata.resource_version
    assert after.metadata.generation == made.metadata.generation + 3
    status, body = error_of(
        apps.patch_namespaced_deployment_scale, "web", "default", {"spec": {"replicas": -1}}
    )
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "spec.replicas"


def test_replace_deployment_scale_and_stale_resource_version(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", workload("web"))
    scale = apps.read_namespaced_deployment_scale("web", "default")
    scale.spec.replicas = 7
    replaced = apps.replace_namespaced_deployment_scale("web", "default", scale)
    assert replaced.spec.replicas == 7
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 7
    scale.spec.replicas = 1  # still carries the old resourceVersion
    status, body = error_of(apps.replace_namespaced_deployment_scale, "web", "default", scale)
    assert (status, body["reason"]) == (409, "Conflict")
    assert body["message"].startswith('Operation cannot be fulfilled on deployments.apps "web"')
    stale = {"metadata": {"resourceVersion": scale.metadata.resource_version}}
    stale["spec"] = {"replicas": 1}
    assert error_of(apps.patch_namespaced_deployment_scale, "web", "default", stale)[0] == 409
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 7
    scale.metadata.name = "other"
    assert error_of(apps.replace_namespaced_deployment_scale, "web", "default", scale)[0] == 400


def test_scale_write_emits_modified_event(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", workload("web"))
    start = apps.list_namespaced_deployment("default").metadata.resource_version
    received: list[tuple[str, int]] = []
    w = watch.Watch()

    def follow() -> None:
        for event in w.stream(
            apps.list_namespaced_deployment,
            "default",
            resource_version=start,
            _request_timeout=10,
        ):
            received.append((event["type"], event["object"].spec.replicas))
            w.stop()

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.2)
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 6}})
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert received == [("MODIFIED", 6)]


def test_replica_set_and_stateful_set_scale(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_replica_set("default", workload("rs"))
    sts = workload("db")
    sts["spec"]["serviceName"] = "db"
    apps.create_namespaced_stateful_set("default", sts)
    rs = apps.patch_namespaced_replica_set_scale("rs", "default", {"spec": {"replicas": 0}})
    assert rs.spec.replicas == 0
    assert apps.read_namespaced_replica_set("rs", "default").spec.replicas == 0
    db = apps.read_namespaced_stateful_set_scale("db", "default")
    db.spec.replicas = 3
    assert apps.replace_namespaced_stateful_set_scale("db", "default", db).spec.replicas == 3
    assert apps.read_namespaced_stateful_set("db", "default").metadata.generation == 2


def test_legacy_scale_paths_and_unknown_subresources(api: client.ApiClient, store: Store) -> None:
    client.AppsV1Api(api).create_namespaced_deployment("default", workload("web"))
    legacy = "/apis/extensions/v1beta1/namespaces/default/deployments/web/scale"
    status, body = raw(api, "GET", legacy)
    assert (status, body["apiVersion"], body["kind"]) == (200, "extensions/v1beta1", "Scale")
    assert body["status"]["selector"] == {"app": "web"}
    assert body["status"]["targetSelector"] == "app=web,!canary,tier in (front,web)"
    status, body = raw(
        api,
        "PATCH",
        "/apis/apps/v1beta2/namespaces/default/deployments/web/scale",
        {"spec": {"replicas": 4}},
    )
    assert (status, body["apiVersion"], body["spec"]["replicas"]) == (200, "apps/v1beta2", 4)
    assert store.get("deployments.apps", "web", namespace="default")["spec"]["replicas"] == 4
    resources = {
        r.name: r for r in client.AppsV1Api(api).get_api_resources().resources if "/" in r.name
    }
    assert (resources["deployments/scale"].group, resources["deployments/scale"].kind) == (
        "autoscaling",
        "Scale",
    )
    assert "daemonsets/scale" not in resources
    # unknown subresources answer as before
    assert raw(api, "GET", "/apis/apps/v1/namespaces/default/daemonsets/x/scale")[0] == 404
    assert raw(api, "GET", "/apis/apps/v1/namespaces/default/deployments/web/nope")[0] == 404
    assert raw(api, "GET", "/api/v1/namespaces/default/pods/web/scale")[0] == 404
    path = "/apis/apps/v1/namespaces/default/deployments/web/nope"
    assert raw(api, "PATCH", path, {"spec": {}})[0] == 405
    store.set_kubernetes_version("1.16")
    assert raw(api, "GET", legacy)[0] == 404
