"""OpenAPI documents generated from the schema table: what each cluster version serves,
the extensions kubectl reads, and the protobuf form client-go downloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ekstwin.kubeapi.openapi import (
    PROTOBUF_V2,
    PROTOBUF_V2_RETURNED,
    accepts_protobuf_v2,
    v2_document,
    v3_documents,
)
from ekstwin.kubeapi.openapi_proto import encode_document
from ekstwin.kubeapi.protobuf import fields
from ekstwin.kubeapi.resources import Registry

Doc = dict[str, Any]


def v2(minor: tuple[int, int]) -> Doc:
    return v2_document(Registry(), minor, "v1.x")


def test_kinds_carry_their_group_version_kind_per_served_version() -> None:
    old, new = v2((1, 12))["definitions"], v2((1, 24))["definitions"]
    assert old["io.k8s.api.extensions.v1beta1.DaemonSet"]["x-kubernetes-group-version-kind"] == [
        {"group": "extensions", "kind": "DaemonSet", "version": "v1beta1"}
    ]
    assert (
        "io.k8s.api.apps.v1beta2.Deployment" in old
        and "io.k8s.api.policy.v1.PodDisruptionBudget" not in old
    )
    assert "io.k8s.api.extensions.v1beta1.DaemonSet" not in new
    assert new["io.k8s.api.policy.v1.PodDisruptionBudget"]["x-kubernetes-group-version-kind"]
    assert new["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Pod", "version": "v1"}
    ]
    # the selector became required with apps/v1beta2
    assert old["io.k8s.api.apps.v1.DeploymentSpec"]["required"] == ["selector", "template"]
    assert old["io.k8s.api.extensions.v1beta1.DeploymentSpec"]["required"] == ["template"]
    assert "rollbackTo" in old["io.k8s.api.extensions.v1beta1.DeploymentSpec"]["properties"]


def test_strategic_merge_extensions_on_keyed_lists() -> None:
    definitions = v2((1, 24))["definitions"]
    spec = definitions["io.k8s.api.core.v1.PodSpec"]["properties"]
    assert spec["containers"]["x-kubernetes-patch-merge-key"] == "name"
    assert spec["containers"]["x-kubernetes-patch-strategy"] == "merge"
    assert spec["volumes"]["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    assert spec["containers"]["items"] == {"$ref": "#/definitions/io.k8s.api.core.v1.Container"}
    assert spec["tolerations"]["x-kubernetes-list-type"] == "atomic"
    container = definitions["io.k8s.api.core.v1.Container"]
    assert container["required"] == ["name"]
    for field, key in (("env", "name"), ("ports", "containerPort"), ("volumeMounts", "mountPath")):
        assert container["properties"][field]["x-kubernetes-patch-merge-key"] == key
    assert container["properties"]["ports"]["x-kubernetes-list-map-keys"] == [
        "containerPort",
        "protocol",
    ]
    meta = definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert meta["finalizers"]["x-kubernetes-list-type"] == "set"
    assert (
        definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    )


def test_patch_operations_list_field_validation_from_1_25() -> None:
    def params(minor: tuple[int, int]) -> set[str]:
        path = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
        patch = v2(minor)["paths"][path]["patch"]
        assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
        return {p["name"] for p in patch["parameters"]}

    assert "fieldValidation" not in params((1, 24)) and "force" in params((1, 24))
    assert "fieldValidation" in params((1, 25))


def test_v3_documents_per_group_version() -> None:
    documents = v3_documents(Registry(), (1, 24), "v1.24.17")
    assert {"api/v1", "apis/apps/v1", "apis/policy/v1", "apis/authorization.k8s.io/v1"} <= set(
        documents
    )
    apps = documents["apis/apps/v1"]
    assert apps["openapi"] == "3.0.0"
    schemas = apps["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["properties"]["spec"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}],
        "description": "Specification of the desired behavior of the Deployment.",
        "default": {},
    }
    assert "io.k8s.api.core.v1.Container" in schemas  # referenced types come along
    assert "io.k8s.api.core.v1.Node" not in schemas  # other group versions' kinds do not


def _named(message: dict[int, list[Any]], number: int) -> dict[str, dict[int, list[Any]]]:
    """``repeated Named*`` entries of a decoded message, by name."""
    out = {}
    for raw in message.get(number, []):
        entry = fields(raw)
        out[entry[1][0].decode()] = fields(entry[2][0])
    return out


def test_protobuf_v2_decodes_to_the_same_definitions() -> None:
    document = v2((1, 12))
    decoded = fields(encode_document(json.loads(json.dumps(document))))
    assert decoded[1] == [b"2.0"]
    definitions = _named(fields(decoded[9][0]), 1)
    assert set(definitions) == set(document["definitions"])
    container = definitions["io.k8s.api.core.v1.Container"]
    assert container[19] == [b"name"]  # required
    assert fields(container[22][0])[1] == [b"object"]  # type
    properties = _named(fields(container[25][0]), 1)
    ports = properties["ports"]
    extensions = {e[1][0].decode(): fields(e[2][0])[2][0].decode() for e in map(fields, ports[31])}
    assert json.loads(extensions["x-kubernetes-patch-merge-key"]) == "containerPort"
    kind = definitions["io.k8s.api.extensions.v1beta1.DaemonSet"]
    (gvk,) = [fields(e) for e in kind[31]]
    assert gvk[1] == [b"x-kubernetes-group-version-kind"]
    assert json.loads(fields(gvk[2][0])[2][0]) == [
        {"group": "extensions", "kind": "DaemonSet", "version": "v1beta1"}
    ]
    paths = _named(fields(decoded[8][0]), 2)
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in paths


@pytest.mark.parametrize(
    ("accept", "answer"),
    [
        ("", "application/json"),
        ("application/json", "application/json"),
        (PROTOBUF_V2, PROTOBUF_V2_RETURNED),
        (f"{PROTOBUF_V2}, application/json", PROTOBUF_V2_RETURNED),
        (f"application/json;q=0.5, {PROTOBUF_V2}", PROTOBUF_V2_RETURNED),
        ("*/*", "application/json"),
        ("text/html", None),
    ],
)
def test_openapi_v2_content_negotiation(accept: str, answer: str | None) -> None:
    assert accepts_protobuf_v2(accept) == answer
