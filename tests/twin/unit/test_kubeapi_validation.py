"""The emulator decodes and validates writes like kube-apiserver: a wrong JSON type is a 400
(``cannot be handled as a Deployment``), an invalid object a 422 ``Invalid`` whose causes
name each field, and neither reaches the store."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import BadRequest, Invalid, Store
from ekstwin.kubeapi.objects import clone


def container(**extra: Any) -> dict[str, Any]:
    return {"name": "web", "image": "nginx:1.15", **extra}


def deployment(name: str = "web", **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container()]}},
        },
    }
    body["spec"].update(spec)
    return body


@pytest.fixture
def store() -> Store:
    return Store(kubernetes_version="1.24", seed=1)


def invalid(store: Store, resource: str, obj: dict[str, Any]) -> Invalid:
    before = store.resource_version
    with pytest.raises(Invalid) as caught:
        store.create(resource, obj, namespace="default")
    assert store.resource_version == before  # nothing reached the store
    return caught.value


def causes(error: Invalid) -> list[tuple[str, str, str]]:
    status = error.status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    return [(c["reason"], c["field"], c["message"]) for c in status["details"]["causes"]]


def test_deployment_without_a_selector(store: Store) -> None:
    body = deployment()
    del body["spec"]["selector"]
    error = invalid(store, "deployments.apps", body)
    assert causes(error) == [
        ("FieldValueRequired", "spec.selector", "Required value"),
        (
            "FieldValueInvalid",
            "spec.template.metadata.labels",
            'Invalid value: map[string]string{"app":"web"}: `selector` does not match template '
            "`labels`",
        ),
    ]
    assert error.message == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, '
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        "`selector` does not match template `labels`]"
    )
    status = error.status()["details"]
    assert (status["name"], status["group"], status["kind"]) == ("web", "apps", "Deployment")


def test_extensions_v1beta1_still_defaults_the_selector() -> None:
    store = Store(kubernetes_version="1.12", seed=1)
    body = deployment()
    body["apiVersion"] = "extensions/v1beta1"
    del body["spec"]["selector"]
    made = store.create("deployments.apps", body, namespace="default")
    assert made["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_selector_that_does_not_match_the_template(store: Store) -> None:
    kinds = {"deployments.apps": "Deployment", "replicasets.apps": "ReplicaSet"}
    for resource, kind in {**kinds, "daemonsets.apps": "DaemonSet"}.items():
        body = {**deployment(), "kind": kind}
        body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        if kind == "DaemonSet":
            del body["spec"]["replicas"]
        found = causes(invalid(store, resource, body))
        assert ("FieldValueInvalid", "spec.template.metadata.labels") in [c[:2] for c in found]


def test_daemonset_without_a_selector_names_the_template_labels(store: Store) -> None:
    body = deployment()
    del body["spec"]["selector"], body["spec"]["replicas"]
    fields = [c[1] for c in causes(invalid(store, "daemonsets.apps", body))]
    assert fields == ["spec.template.metadata.labels"]  # as ValidateDaemonSetSpec words it


def test_wrong_json_types_are_a_bad_request(store: Store) -> None:
    with pytest.raises(BadRequest) as caught:
        store.create("deployments.apps", deployment(replicas="two"), namespace="default")
    assert caught.value.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
        "string into Go struct field DeploymentSpec.spec.replicas of type int32"
    )
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "80"}]
    with pytest.raises(BadRequest) as port:
        store.create("deployments.apps", body, namespace="default")
    assert "Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort" in (
        port.value.message
    )
    with pytest.raises(BadRequest) as labels:
        store.create(
            "configmaps", {"metadata": {"name": "c", "labels": {"a": 1}}}, namespace="default"
        )
    assert "number into Go struct field ObjectMeta.metadata.labels of type string" in (
        labels.value.message
    )
    with pytest.raises(BadRequest):
        store.create("pods", {"metadata": {"name": "p"}, "spec": "x"}, namespace="default")
    assert store.find("deployments.apps", "web", namespace="default") is None


def test_a_patch_that_breaks_the_types_is_invalid_on_the_field_patch(store: Store) -> None:
    store.create("deployments.apps", deployment(), namespace="default")
    with pytest.raises(Invalid) as caught:
        store.patch("deployments.apps", "web", {"spec": {"replicas": "two"}}, namespace="default")
    (cause,) = caught.value.status()["details"]["causes"]
    assert cause["field"] == "patch" and "of type int32" in cause["message"]
    assert store.get("deployments.apps", "web", namespace="default")["spec"]["replicas"] == 2


def test_negative_replicas_and_bad_rolling_update(store: Store) -> None:
    body = deployment(
        replicas=-1,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}},
    )
    found = causes(invalid(store, "deployments.apps", body))
    assert (
        "FieldValueInvalid",
        "spec.replicas",
        "Invalid value: -1: must be greater than or equal to 0",
    ) in found
    assert ("FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable") in [
        c[:2] for c in found
    ]


def test_pods_need_containers_with_names_and_images(store: Store) -> None:
    assert causes(invalid(store, "pods", {"metadata": {"name": "p"}, "spec": {}})) == [
        ("FieldValueRequired", "spec.containers", "Required value")
    ]
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "Web_1", "image": "nginx"},
                {"name": "db"},
                {"name": "db", "image": "x", "ports": [{"containerPort": 70000}]},
            ],
            "restartPolicy": "Sometimes",
        },
    }
    found = causes(invalid(store, "pods", pod))
    assert [(reason, field) for reason, field, _ in found] == [
        ("FieldValueInvalid", "spec.containers[0].name"),
        ("FieldValueRequired", "spec.containers[1].image"),
        ("FieldValueDuplicate", "spec.containers[2].name"),
        ("FieldValueInvalid", "spec.containers[2].ports[0].containerPort"),
        ("FieldValueNotSupported", "spec.restartPolicy"),
    ]
    assert found[-1][2] == (
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    )
    assert "a lowercase RFC 1123 label must consist of" in found[0][2]


def test_names_labels_and_volume_mounts(store: Store) -> None:
    pod = {
        "metadata": {"name": "Bad_Name", "labels": {"bad key": "v", "ok": "bad value!"}},
        "spec": {"containers": [container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]},
    }
    found = causes(invalid(store, "pods", pod))
    assert [field for _, field, _ in found] == [
        "metadata.name",
        "metadata.labels",
        "metadata.labels",
        "spec.containers[0].volumeMounts[0].name",
    ]
    assert found[-1][:1] == ("FieldValueNotFound",)
    service = {"metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}}
    assert "a DNS-1035 label" in causes(invalid(store, "services", service))[0][2]


def test_pdb_configmap_service_node_and_lease_rules(store: Store) -> None:
    pdb = {
        "metadata": {"name": "web"},
        "spec": {
            "minAvailable": 1,
            "maxUnavailable": "150%",
            "selector": {"matchLabels": {"a": "b"}},
        },
    }
    assert [c[1] for c in causes(invalid(store, "poddisruptionbudgets.policy", pdb))] == [
        "spec",
        "spec.maxUnavailable",
    ]
    cm = {"metadata": {"name": "c"}, "data": {"bad/key": "v"}}
    assert causes(invalid(store, "configmaps", cm))[0][1] == "data[bad/key]"
    svc = {"metadata": {"name": "web"}, "spec": {"type": "Cluster", "ports": []}}
    assert [c[1] for c in causes(invalid(store, "services", svc))] == ["spec.type", "spec.ports"]
    svc = {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}, {"port": 0, "name": "b"}]}}
    assert [c[1] for c in causes(invalid(store, "services", svc))] == [
        "spec.ports[0].name",
        "spec.ports[1].port",
    ]
    node = {"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}
    assert causes(invalid(store, "nodes", node))[0][:2] == (
        "FieldValueNotSupported",
        "spec.taints[0].effect",
    )
    lease = {"metadata": {"name": "n1"}, "spec": {"leaseDurationSeconds": 0}}
    assert causes(invalid(store, "leases.coordination.k8s.io", lease))[0][1] == (
        "spec.leaseDurationSeconds"
    )


def test_updates_are_validated_and_the_selector_is_immutable(store: Store) -> None:
    store.create("deployments.apps", deployment(), namespace="default")
    current = store.get("deployments.apps", "web", namespace="default")
    changed = clone(current)
    changed["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    with pytest.raises(Invalid) as caught:
        store.replace("deployments.apps", changed, api_version="apps/v1")
    (cause,) = caught.value.status()["details"]["causes"]
    assert cause["field"] == "spec.selector" and cause["message"].endswith("field is immutable")
    assert cause["message"].startswith(
        'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}'
    )
    emptied = clone(current)
    emptied["spec"]["template"]["spec"]["containers"] = []
    with pytest.raises(Invalid):
        store.replace("deployments.apps", emptied)
    assert store.get("deployments.apps", "web", namespace="default") == current


def test_valid_objects_of_every_covered_kind_are_stored(store: Store) -> None:
    store.create("deployments.apps", deployment(), namespace="default")
    body = deployment("agent")
    del body["spec"]["replicas"]
    body["kind"] = "DaemonSet"
    store.create("daemonsets.apps", body, namespace="default")
    store.create(
        "replicasets.apps", {**deployment("rs"), "kind": "ReplicaSet"}, namespace="default"
    )
    store.create(
        "pods",
        {"metadata": {"name": "p"}, "spec": {"containers": [container()]}},
        namespace="default",
    )
    pdb = {
        "metadata": {"name": "web"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    }
    store.create("poddisruptionbudgets.policy", pdb, namespace="default")
    store.create(
        "configmaps", {"metadata": {"name": "c"}, "data": {"a.b": "c"}}, namespace="default"
    )
    store.create(
        "services",
        {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}},
        namespace="default",
    )
    store.create("nodes", {"metadata": {"name": "ip-10-0-0-1.ec2.internal"}})
    store.create(
        "leases.coordination.k8s.io", {"metadata": {"name": "n"}, "spec": {}}, namespace="default"
    )
