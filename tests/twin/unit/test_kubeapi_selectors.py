"""Label and field selectors as list and watch filter them."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import BadRequest
from ekstwin.kubeapi.selectors import (
    field_selector,
    field_selector_for,
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


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            "a b c",
            "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'",
        ),
        ("app=web,", "found '', expected: identifier after ','"),
        ("app in web", "unable to parse requirement: found 'web' expected: '('"),
        ("app in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
        ("app=", ""),
        (
            "app>x",
            "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("app=web)", "found ')', expected: ',' or 'end of string'"),
        ("=web", "found '=', expected: !, identifier, or 'end of string'"),
        (
            "a@b=c",
            'unable to parse requirement: invalid label key "a@b": name part must consist of',
        ),
        ("app=a b", "found 'b', expected: ',' or 'end of string'"),
        ("app=-x", 'unable to parse requirement: invalid label value: "-x": at key: "app":'),
    ],
)
def test_bad_label_selectors_are_bad_requests_worded_like_labels_parse(
    selector: str, message: str
) -> None:
    if not message:  # "app=" selects an empty value: valid
        assert not label_selector(selector)(obj({"app": "web"}))
        return
    with pytest.raises(BadRequest) as caught:
        label_selector(selector)
    assert caught.value.message.startswith(message), caught.value.message


def test_label_selector_operators() -> None:
    labels = obj({"app": "web", "gen": "3"})
    assert label_selector("gen>2,gen<4")(labels) and not label_selector("gen>3")(labels)
    assert label_selector("app in (web,db),x notin (a)")(labels)
    assert label_selector("!x,app")(labels) and not label_selector("!app")(labels)
    assert label_selector("app in (db,)")(obj({"app": ""}))  # an empty value is in the set


@pytest.mark.parametrize(
    ("resource", "selector", "message"),
    [
        ("pods", "spec.nodeNmae=n1", "field label not supported: spec.nodeNmae"),
        ("nodes", "spec.nodeName=n1", "field label not supported: spec.nodeName"),
        ("events", "involvedObject.nam=x", "field label not supported: involvedObject.nam"),
        (
            "configmaps",
            "data.a=b",
            '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        ("deployments.apps", "spec.replicas=1", '"spec.replicas" is not a known field selector'),
        (
            "pods",
            "spec.nodeName",
            "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'",
        ),
        ("pods", "spec.nodeName=a=b", "invalid field selector: unescaped character in value: ="),
    ],
)
def test_unsupported_field_selectors_are_bad_requests(
    resource: str, selector: str, message: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        field_selector_for(resource, selector)
    assert caught.value.message.startswith(message), caught.value.message


def test_supported_field_selectors_per_resource() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"nodeName": "n1", "restartPolicy": "Always"},
        "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.9"}]},
    }
    for selector in (
        "spec.nodeName=n1",
        "spec.host=n1",
        "status.phase=Running,metadata.namespace=default",
        "status.podIP=10.0.0.9",
        "spec.hostNetwork=false",
        "spec.schedulerName=",
    ):
        assert field_selector_for("pods", selector)(pod), selector
    assert field_selector_for("nodes", "spec.unschedulable=false")({"metadata": {"name": "n"}})
    event = {"metadata": {"name": "e"}, "type": "Warning", "source": {"component": "kubelet"}}
    assert field_selector_for("events", "type=Warning,source=kubelet")(event)
    assert field_selector_for("configmaps", "metadata.name=e")(event)


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
