"""Label and field selectors as list and watch filter them."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import BadRequest
from ekstwin.kubeapi.selectors import (
    field_selector,
    label_selector,
    selector_object_matches,
)


def obj(labels: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "n1", "namespace": "default", "labels": labels},
        "spec": spec,
        "status": {"phase": "Running"},
    }


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (db, web)", True),
        ("app notin (db,web)", False),
        ("tier", True),
        ("!tier", False),
        ("!canary", True),
        ("app=web,tier in (front),!canary", True),
        ("app=web,tier=back", False),
        ("", True),
    ],
)
def test_label_selector(selector: str, expected: bool) -> None:
    assert label_selector(selector)(obj({"app": "web", "tier": "front"})) is expected


def test_bad_label_selector_is_bad_request() -> None:
    with pytest.raises(BadRequest):
        label_selector("a b c")


def test_field_selectors_on_dotted_paths() -> None:
    node = obj({}, unschedulable=True)
    assert field_selector("metadata.name=n1,metadata.namespace=default")(node)
    assert field_selector("status.phase!=Pending")(node)
    assert field_selector("spec.unschedulable=true")(node)
    assert field_selector("spec.unschedulable=false")(obj({}))  # unset reads as false
    assert not field_selector("spec.nodeName=n2")(obj({}, nodeName="n1"))
    assert field_selector("spec.nodeName==n1")(obj({}, nodeName="n1"))


def test_label_selector_objects() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selector_object_matches({"matchLabels": {"app": "web"}}, labels)
    assert selector_object_matches(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}, labels
    )
    assert not selector_object_matches(
        {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, labels
    )
