"""managedFields, server-side apply and dry-run in the emulator's store."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import Conflict, Store
from ekstwin.kubeapi.fieldsets import decode, encode, path_string
from ekstwin.kubeapi.objects import clone


def deployment(replicas: int = 2, image: str = "nginx:1.15", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", **labels}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def managers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields", [])]


def owned(obj: dict[str, Any], manager: str) -> set[str]:
    for entry in obj["metadata"].get("managedFields", []):
        if entry["manager"] == manager:
            return {path_string(p) for p in decode(entry["fieldsV1"])}
    return set()


@pytest.fixture
def store() -> Store:
    return Store(kubernetes_version="1.24", seed=1)


def test_fields_v1_round_trip_and_path_strings() -> None:
    paths = {
        ("f:metadata", "f:labels", "f:app"),
        ("f:spec", "f:containers", 'k:{"name":"web"}'),
        ("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
        ("f:metadata", "f:finalizers", 'v:"x"'),
    }
    tree = encode(paths)
    assert tree["f:spec"]["f:containers"]['k:{"name":"web"}'] == {".": {}, "f:image": {}}
    assert decode(tree) == paths
    assert path_string(("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}')) == (
        '.spec.ports[port=80,protocol="TCP"]'
    )
    assert path_string(("f:metadata", "f:finalizers", 'v:"x"')) == '.metadata.finalizers[="x"]'


def test_creates_are_tracked_from_1_18(store: Store) -> None:
    made = store.create(
        "deployments.apps", deployment(), namespace="default", manager="kubectl-create"
    )
    assert managers(made) == [("kubectl-create", "Update")]
    assert {".spec.replicas", '.spec.template.spec.containers[name="web"].image'} <= owned(
        made, "kubectl-create"
    )
    assert not any(
        p.startswith(".status") or p == ".metadata.name" for p in owned(made, "kubectl-create")
    )
    old = Store(kubernetes_version="1.17", seed=1)
    assert (
        "managedFields"
        not in old.create("deployments.apps", deployment(), namespace="default")["metadata"]
    )


def test_an_update_takes_the_fields_it_changes(store: Store) -> None:
    store.create("deployments.apps", deployment(), namespace="default", manager="creator")
    scaled = store.patch(
        "deployments.apps", "web", {"spec": {"replicas": 5}}, namespace="default", manager="hpa"
    )
    assert owned(scaled, "hpa") == {".spec.replicas"}
    assert ".spec.replicas" not in owned(scaled, "creator")
    status = store.patch(
        "deployments.apps",
        "web",
        {"status": {"replicas": 5}},
        namespace="default",
        subresource="status",
        manager="kube-controller-manager",
    )
    entry = next(
        e for e in status["metadata"]["managedFields"] if e["manager"] == "kube-controller-manager"
    )
    assert entry["subresource"] == "status" and owned(status, "kube-controller-manager") == {
        ".status.replicas"
    }


def test_apply_creates_merges_prunes_and_conflicts(store: Store) -> None:
    made, created = store.apply(
        "deployments.apps", "web", deployment(tier="a"), manager="ci", namespace="default"
    )
    assert created and managers(made) == [("ci", "Apply")]
    assert made["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    # another manager adds a container and a label: apply keeps them (keyed merge)
    sidecar = clone(made)
    sidecar["spec"]["template"]["spec"]["containers"].append({"name": "log", "image": "busybox"})
    sidecar["metadata"]["labels"]["team"] = "x"
    store.replace("deployments.apps", sidecar, manager="editor")
    # the next apply no longer sets the tier label: it is pruned; the editor's stay
    again, created = store.apply(
        "deployments.apps", "web", deployment(), manager="ci", namespace="default"
    )
    assert not created
    assert again["metadata"]["labels"] == {"app": "web", "team": "x"}
    assert [c["name"] for c in again["spec"]["template"]["spec"]["containers"]] == ["web", "log"]
    # the editor changes replicas; ci applying a different value conflicts
    store.patch(
        "deployments.apps", "web", {"spec": {"replicas": 4}}, namespace="default", manager="editor"
    )
    with pytest.raises(Conflict) as caught:
        store.apply(
            "deployments.apps", "web", deployment(replicas=3), manager="ci", namespace="default"
        )
    status = caught.value.status()
    assert status["code"] == 409 and status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "editor" using apps/v1: .spec.replicas'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "editor" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    # applying the live value shares the field; force takes it
    shared, _ = store.apply(
        "deployments.apps", "web", deployment(replicas=4), manager="ci", namespace="default"
    )
    assert ".spec.replicas" in owned(shared, "ci") and ".spec.replicas" in owned(shared, "editor")
    forced, _ = store.apply(
        "deployments.apps",
        "web",
        deployment(replicas=3),
        manager="ci",
        namespace="default",
        force=True,
    )
    assert forced["spec"]["replicas"] == 3 and ".spec.replicas" not in owned(forced, "editor")


def test_conflicts_with_several_managers_are_listed_by_manager(store: Store) -> None:
    store.apply("deployments.apps", "web", deployment(), manager="ci", namespace="default")
    store.patch(
        "deployments.apps", "web", {"spec": {"replicas": 4}}, namespace="default", manager="b"
    )
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x:2"}]}}}}
    store.patch(
        "deployments.apps", "web", patch, namespace="default", patch_type="strategic", manager="a"
    )
    with pytest.raises(Conflict) as caught:
        store.apply(
            "deployments.apps",
            "web",
            deployment(replicas=1, image="x:3"),
            manager="ci",
            namespace="default",
        )
    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflicts with "a" using apps/v1:\n'
        '- .spec.template.spec.containers[name="web"].image\n'
        'conflicts with "b" using apps/v1:\n- .spec.replicas'
    )


def test_first_apply_to_an_untracked_object_meets_before_first_apply() -> None:
    store = Store(kubernetes_version="1.16", seed=1)
    store.create("deployments.apps", deployment(), namespace="default")
    with pytest.raises(Conflict) as caught:
        store.apply(
            "deployments.apps", "web", deployment(replicas=3), manager="ci", namespace="default"
        )
    assert (
        'conflict with "before-first-apply" using apps/v1: .spec.replicas' in caught.value.message
    )


def test_dry_run_changes_nothing(store: Store) -> None:
    before = store.resource_version
    made = store.create("deployments.apps", deployment(), namespace="default", dry_run=True)
    assert made["metadata"]["uid"] and "resourceVersion" not in made["metadata"]
    assert (
        store.resource_version == before
        and store.find("deployments.apps", "web", namespace="default") is None
    )
    svc = {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
    first = store.create("services", svc, namespace="default", dry_run=True)["spec"]["clusterIP"]
    assert store.create("services", svc, namespace="default")["spec"]["clusterIP"] == first
    store.create("deployments.apps", deployment(), namespace="default")
    rv = store.resource_version
    patched = store.patch(
        "deployments.apps", "web", {"spec": {"replicas": 9}}, namespace="default", dry_run=True
    )
    applied, _ = store.apply(
        "deployments.apps",
        "web",
        deployment(replicas=7),
        manager="ci",
        namespace="default",
        force=True,
        dry_run=True,
    )
    gone, removed = store.delete_ex("deployments.apps", "web", namespace="default", dry_run=True)
    assert (patched["spec"]["replicas"], applied["spec"]["replicas"], removed) == (9, 7, True)
    assert gone["metadata"]["name"] == "web" and store.resource_version == rv
    assert store.get("deployments.apps", "web", namespace="default")["spec"]["replicas"] == 2
    assert store.events_after("deployments.apps", rv) == []
