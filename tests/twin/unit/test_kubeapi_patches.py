"""Merge, strategic-merge and JSON patches as the apiserver applies them."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import BadRequest, Invalid
from ekstwin.kubeapi.patches import apply_patch

POD: dict[str, Any] = {
    "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            },
            {"name": "sidecar", "image": "side:1"},
        ],
        "tolerations": [{"key": "a", "operator": "Exists"}],
    },
}


def test_merge_patch_merges_maps_deletes_nulls_and_replaces_lists() -> None:
    out = apply_patch(
        POD,
        {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"containers": [{"name": "only"}]}},
        "merge",
    )
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["spec"]["containers"] == [{"name": "only"}]
    assert POD["metadata"]["labels"] == {"a": "1", "b": "2"}  # input untouched


def test_strategic_merge_merges_keyed_lists() -> None:
    body = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "app:2",
                    "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                },
                {"name": "sidecar", "$patch": "delete"},
            ],
            "tolerations": [{"key": "b", "operator": "Exists"}],
        },
        "metadata": {"finalizers": ["y"]},
    }
    out = apply_patch(POD, body, "strategic")
    [app] = out["spec"]["containers"]
    assert app["image"] == "app:2"
    assert app["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "20"},
        {"name": "C", "value": "3"},
    ]
    assert out["spec"]["tolerations"] == [
        {"key": "b", "operator": "Exists"}
    ]  # no merge key: replaced
    assert out["metadata"]["finalizers"] == ["x", "y"]


def test_strategic_merge_directives() -> None:
    out = apply_patch(POD, {"metadata": {"labels": {"$patch": "replace", "z": "9"}}}, "strategic")
    assert out["metadata"]["labels"] == {"z": "9"}
    out = apply_patch(
        POD,
        {
            "$setElementOrder/containers": [{"name": "app"}],
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]},
        },
        "strategic",
    )
    assert out["metadata"]["finalizers"] == []
    conditions = {
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "Init", "status": "True"}]
        }
    }
    out = apply_patch(
        conditions, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, "strategic"
    )
    assert out["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Init", "status": "True"},
    ]


def test_json_patch_supports_every_operation() -> None:
    ops = [
        {"op": "test", "path": "/metadata/labels/a", "value": "1"},
        {"op": "add", "path": "/metadata/labels/c~1d", "value": "3"},
        {"op": "remove", "path": "/metadata/labels/b"},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "app:3"},
        {"op": "copy", "from": "/spec/containers/0/image", "path": "/metadata/labels/img"},
        {"op": "move", "from": "/metadata/labels/a", "path": "/metadata/labels/moved"},
        {"op": "add", "path": "/spec/tolerations/-", "value": {"key": "z"}},
    ]
    out = apply_patch(POD, ops, "json")
    assert out["metadata"]["labels"] == {"c/d": "3", "img": "app:3", "moved": "1"}
    assert out["spec"]["tolerations"][-1] == {"key": "z"}


def test_json_patch_failures() -> None:
    with pytest.raises(Invalid):
        apply_patch(POD, [{"op": "test", "path": "/metadata/name", "value": "other"}], "json")
    with pytest.raises(Invalid):
        apply_patch(POD, [{"op": "remove", "path": "/spec/nothing"}], "json")
    with pytest.raises(BadRequest):
        apply_patch(POD, {"not": "a list"}, "json")
