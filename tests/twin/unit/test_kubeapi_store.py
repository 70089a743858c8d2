"""The API emulator's store: metadata, defaults, writes, deletion, events, served versions."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Store,
)
from ekstwin.kubeapi.routes import parse_resource_path
from ekstwin.kubeapi.watchcache import WatchCacheLimits

T0 = 1_556_712_000.0  # 2019-05-01T12:00:00Z


class FakeNow:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def pod(name: str, node: str | None = None, **labels: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.15"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def deployment(name: str, image: str = "nginx:1.15") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


@pytest.fixture
def now() -> FakeNow:
    return FakeNow()


@pytest.fixture
def store(now: FakeNow) -> Store:
    return Store(now=now, seed=7)


def test_boot_namespaces_exist_and_are_active(store: Store) -> None:
    names = [ns["metadata"]["name"] for ns in store.list("namespaces")]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert {ns["status"]["phase"] for ns in store.list("namespaces")} == {"Active"}


def test_create_sets_server_metadata(store: Store) -> None:
    before = store.generation
    created = store.create("pods", pod("web-0"), namespace="default")
    m = created["metadata"]
    assert len(m["uid"]) == 36 and m["uid"].count("-") == 4
    assert m["creationTimestamp"] == "2019-05-01T12:00:00Z"
    assert m["namespace"] == "default"
    assert m["generation"] == 1
    assert int(m["resourceVersion"]) == store.resource_version
    assert created["apiVersion"] == "v1" and created["kind"] == "Pod"
    assert store.generation == before + 1
    second = store.create("configmaps", {"metadata": {"name": "c"}}, namespace="default")
    assert int(second["metadata"]["resourceVersion"]) == int(m["resourceVersion"]) + 1


def test_same_seed_same_uids_and_generated_names(now: FakeNow) -> None:
    def run() -> tuple[str, str]:
        s = Store(now=now, seed=3)
        sent = {**pod(""), "metadata": {"generateName": "web-"}}
        made = s.create("pods", sent, namespace="default")
        return made["metadata"]["name"], made["metadata"]["uid"]

    name, uid = run()
    assert run() == (name, uid)
    assert name.startswith("web-") and len(name) == len("web-") + 5


def test_create_rejects_bad_names_missing_namespace_and_duplicates(store: Store) -> None:
    with pytest.raises(Invalid) as bad:
        store.create("pods", pod("Web_0"), namespace="default")
    assert bad.value.code == 422
    assert 'Pod "Web_0" is invalid: metadata.name: Invalid value: "Web_0"' in bad.value.message
    with pytest.raises(Invalid):
        store.create("namespaces", {"metadata": {"name": "a.b"}})  # namespaces are DNS labels
    with pytest.raises(NotFound) as missing:
        store.create("pods", pod("web-0"), namespace="nope")
    assert missing.value.message == 'namespaces "nope" not found'
    store.create("pods", pod("web-0"), namespace="default")
    with pytest.raises(AlreadyExists) as dup:
        store.create("pods", pod("web-0"), namespace="default")
    assert dup.value.status()["details"] == {"name": "web-0", "kind": "pods"}
    with pytest.raises(BadRequest):
        store.create(
            "pods",
            {**pod("x"), "metadata": {"name": "x", "namespace": "kube-system"}},
            namespace="default",
        )
    rbac = store.create(
        "clusterroles.rbac.authorization.k8s.io", {"metadata": {"name": "eks:node-manager"}}
    )
    assert rbac["metadata"]["name"] == "eks:node-manager"


def test_pod_defaults_and_dropped_status(store: Store) -> None:
    sent = pod("web-0")
    sent["status"] = {"phase": "Running"}
    made = store.create("pods", sent, namespace="default")
    spec = made["spec"]
    assert (spec["restartPolicy"], spec["terminationGracePeriodSeconds"]) == ("Always", 30)
    assert (spec["dnsPolicy"], spec["schedulerName"]) == ("ClusterFirst", "default-scheduler")
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert made["status"]["phase"] == "Pending"


def test_nodes_keep_status_on_create(store: Store) -> None:
    node = {
        "metadata": {"name": "ip-10-0-0-1.ec2.internal"},
        "status": {"capacity": {"pods": "29"}},
    }
    assert store.create("nodes", node)["status"] == {"capacity": {"pods": "29"}}


def test_workload_defaults_follow_the_api_version(store: Store) -> None:
    dep = store.create("deployments.apps", deployment("web"), namespace="default")["spec"]
    assert dep["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert (dep["revisionHistoryLimit"], dep["progressDeadlineSeconds"], dep["replicas"]) == (
        10,
        600,
        1,
    )
    ds_v1 = store.create("daemonsets.apps", deployment("a"), namespace="kube-system")["spec"]
    assert ds_v1["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1},
    }
    legacy = {**deployment("b"), "apiVersion": "extensions/v1beta1"}
    ds_ext = store.create("daemonsets.apps", legacy, namespace="kube-system")["spec"]
    assert ds_ext["updateStrategy"] == {"type": "OnDelete"}


def test_status_subresource_separates_spec_and_status(store: Store) -> None:
    made = store.create("deployments.apps", deployment("web"), namespace="default")
    status_write = {**made, "status": {"replicas": 3}, "spec": {**made["spec"], "replicas": 9}}
    after_status = store.replace("deployments.apps", status_write, subresource="status")
    assert after_status["status"] == {"replicas": 3}
    assert after_status["spec"]["replicas"] == 1  # spec ignored on /status
    main_write = {**after_status, "status": {"replicas": 0}}
    main_write["spec"] = {**after_status["spec"], "replicas": 4}
    after_main = store.replace("deployments.apps", main_write)
    assert after_main["status"] == {"replicas": 3}  # status kept on the main resource
    assert after_main["spec"]["replicas"] == 4
    assert after_main["metadata"]["generation"] == 2
    patched = store.patch(
        "deployments.apps",
        "web",
        {"status": {"readyReplicas": 2}},
        namespace="default",
        subresource="status",
    )
    assert patched["status"] == {"replicas": 3, "readyReplicas": 2}
    assert patched["metadata"]["generation"] == 2  # status writes do not bump generation


def test_scale_subresource_writes_only_replicas(store: Store) -> None:
    made = store.create("deployments.apps", deployment("web"), namespace="default")
    store.patch(
        "deployments.apps",
        "web",
        {"status": {"replicas": 1}},
        namespace="default",
        subresource="status",
    )
    events: list[tuple[str, str, int]] = []
    store.subscribe(lambda t, r, o: events.append((t, r, o["spec"]["replicas"])))
    scale = store.get_scale("deployments.apps", "web", namespace="default")
    assert scale == {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": made["metadata"]["uid"],
            "resourceVersion": str(store.resource_version),
            "creationTimestamp": "2019-05-01T12:00:00Z",
        },
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "selector": "app=web"},
    }
    patched = store.patch(
        "deployments.apps",
        "web",
        {"spec": {"replicas": 5}},
        patch_type="strategic",
        namespace="default",
        subresource="scale",
    )
    assert patched["spec"] == {"replicas": 5} and patched["kind"] == "Scale"
    parent = store.get("deployments.apps", "web", namespace="default")
    assert (parent["spec"]["replicas"], parent["metadata"]["generation"]) == (5, 2)
    assert parent["status"] == {"replicas": 1}
    assert parent["spec"]["template"] == made["spec"]["template"]
    assert events == [("MODIFIED", "deployments.apps", 5)]
    replaced = store.replace(
        "deployments.apps", {**patched, "spec": {"replicas": 2}}, subresource="scale"
    )
    assert replaced["spec"]["replicas"] == 2
    with pytest.raises(Conflict):
        store.replace("deployments.apps", {**patched, "spec": {"replicas": 3}}, subresource="scale")
    with pytest.raises(Invalid):
        store.patch("deployments.apps", "web", {"spec": {"replicas": -1}}, subresource="scale")
    legacy = store.get_scale(
        "deployments.apps", "web", namespace="default", api_version="extensions/v1beta1"
    )
    assert legacy["apiVersion"] == "extensions/v1beta1"
    assert legacy["status"] == {
        "replicas": 1,
        "selector": {"app": "web"},
        "targetSelector": "app=web",
    }
    store.create("daemonsets.apps", deployment("ds"), namespace="default")
    with pytest.raises(NotFound):
        store.get_scale("daemonsets.apps", "ds", namespace="default")
    with pytest.raises(NotFound):
        store.patch("daemonsets.apps", "ds", {"spec": {"replicas": 1}}, subresource="scale")


def test_stale_resource_version_conflicts(store: Store) -> None:
    made = store.create(
        "configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}}, namespace="default"
    )
    store.patch("configmaps", "c", {"data": {"a": "2"}}, namespace="default")
    with pytest.raises(Conflict) as stale:
        store.replace("configmaps", {**made, "data": {"a": "3"}})
    assert stale.value.message == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    with pytest.raises(Conflict):
        store.patch(
            "configmaps",
            "c",
            {"metadata": {"resourceVersion": made["metadata"]["resourceVersion"]}},
            namespace="default",
        )
    unconditional = {
        **made,
        "metadata": {**made["metadata"], "resourceVersion": None},
        "data": {"a": "4"},
    }
    assert store.replace("configmaps", unconditional)["data"] == {"a": "4"}


def test_noop_write_keeps_resource_version(store: Store) -> None:
    made = store.create(
        "configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}}, namespace="default"
    )
    rv, generation = store.resource_version, store.generation
    again = store.patch("configmaps", "c", {"data": {"a": "1"}}, namespace="default")
    assert again["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]
    assert (store.resource_version, store.generation) == (rv, generation)


def test_returned_objects_are_copies(store: Store) -> None:
    made = store.create("pods", pod("web-0", app="web"), namespace="default")
    made["metadata"]["labels"]["app"] = "evil"
    store.list("pods")[0]["metadata"]["labels"]["app"] = "evil"
    assert store.get("pods", "web-0", namespace="default")["metadata"]["labels"] == {"app": "web"}


def test_list_filters_and_sorts(store: Store) -> None:
    store.create("namespaces", {"metadata": {"name": "app"}})
    for ns, name, node in [("default", "b", "n1"), ("app", "z", "n2"), ("default", "a", "n2")]:
        store.create("pods", pod(name, node, tier="web"), namespace=ns)
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in store.list("pods")] == [
        ("app", "z"),
        ("default", "a"),
        ("default", "b"),
    ]
    assert [p["metadata"]["name"] for p in store.list("pods", namespace="default")] == ["a", "b"]
    on_n2 = store.list("pods", field_selector="spec.nodeName=n2", label_selector="tier=web")
    assert [p["metadata"]["name"] for p in on_n2] == ["z", "a"]
    assert store.find("pods", "missing", namespace="default") is None


def test_bound_pod_deletion_is_graceful(store: Store, now: FakeNow) -> None:
    store.create("pods", pod("web-0", "n1"), namespace="default")
    marked = store.delete("pods", "web-0", namespace="default")
    assert marked["metadata"]["deletionTimestamp"] == "2019-05-01T12:00:30Z"
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert store.find("pods", "web-0", namespace="default") is not None
    store.delete("pods", "web-0", namespace="default", grace_period_seconds=0)
    assert store.find("pods", "web-0", namespace="default") is None


def test_unbound_pod_deletion_is_immediate(store: Store) -> None:
    store.create("pods", pod("web-0"), namespace="default")
    store.delete("pods", "web-0", namespace="default")
    assert store.find("pods", "web-0", namespace="default") is None


def test_finalizers_hold_deletion_until_emptied(store: Store) -> None:
    store.create(
        "configmaps",
        {"metadata": {"name": "c", "finalizers": ["example.com/hold"]}},
        namespace="default",
    )
    held = store.delete("configmaps", "c", namespace="default")
    assert held["metadata"]["deletionTimestamp"] == "2019-05-01T12:00:00Z"
    assert store.find("configmaps", "c", namespace="default") is not None
    store.patch("configmaps", "c", {"metadata": {"finalizers": None}}, namespace="default")
    assert store.find("configmaps", "c", namespace="default") is None


def test_namespace_deletion_removes_contents_and_protects_system(store: Store) -> None:
    store.create("namespaces", {"metadata": {"name": "app"}})
    store.create("configmaps", {"metadata": {"name": "c"}}, namespace="app")
    store.delete("namespaces", "app")
    assert store.list("configmaps", namespace="app") == []
    with pytest.raises(Forbidden):
        store.delete("namespaces", "kube-system")


def test_subscribers_see_committed_writes_in_order(store: Store) -> None:
    seen: list[tuple[str, str, str]] = []

    def on_event(event_type: str, resource: str, obj: dict[str, Any]) -> None:
        seen.append((event_type, resource, obj["metadata"]["name"]))
        if obj["metadata"]["name"] == "web-0" and event_type == "ADDED":
            store.create("events", {"metadata": {"name": "web-0.1"}}, namespace="default")

    unsubscribe = store.subscribe(on_event)
    store.create("pods", pod("web-0", "n1"), namespace="default")
    store.delete("pods", "web-0", namespace="default", grace_period_seconds=0)
    unsubscribe()
    store.create("pods", pod("web-1"), namespace="default")
    assert seen == [
        ("ADDED", "pods", "web-0"),
        ("ADDED", "events", "web-0.1"),
        ("DELETED", "pods", "web-0"),
    ]


def test_watch_history_replays_and_expires(now: FakeNow) -> None:
    limits = WatchCacheLimits(max_events=3, min_events=1, max_age_seconds=60)
    store = Store(now=now, seed=7, watch_cache=limits)
    start = store.resource_version
    store.create("pods", pod("web-0"), namespace="default")
    store.patch("pods", "web-0", {"metadata": {"labels": {"a": "b"}}}, namespace="default")
    events = store.events_after("pods", start)
    assert events is not None
    assert [e.type for e in events] == ["ADDED", "MODIFIED"]
    assert events[1].prev is not None and events[1].prev["metadata"].get("labels") == {}
    assert store.events_after("configmaps", start) == []
    # by count: a fourth pod event pushes the ADDED out of the window
    for value in ("c", "d"):
        store.patch("pods", "web-0", {"metadata": {"labels": {"a": value}}}, namespace="default")
    assert store.events_after("pods", start) is None
    assert store.history_floor("pods") == start + 1
    assert [e.type for e in store.events_after("pods", start + 1) or []] == ["MODIFIED"] * 3
    # by age on the store's clock: all but the newest (min_events) are older than a minute
    head = store.resource_version
    now.t += 61
    assert store.events_after("pods", head - 2) is None
    assert [e.rv for e in store.events_after("pods", head - 1) or []] == [head]
    assert store.events_after("pods", head) == []  # a caught-up watcher lost nothing


def test_served_versions_follow_the_cluster_version(store: Store) -> None:
    def served(path: str) -> bool:
        try:
            parse_resource_path(path.strip("/").split("/"), store.registry, store.minor)
        except NotFound:
            return False
        return True

    legacy = "/apis/extensions/v1beta1/namespaces/kube-system/daemonsets"
    assert served(legacy) and served("/apis/apps/v1beta2/daemonsets")
    assert not served("/apis/policy/v1/poddisruptionbudgets")
    assert not served("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    store.set_kubernetes_version("1.16")
    assert store.kubernetes_version == "1.16"
    assert not served(legacy) and not served("/apis/apps/v1beta2/daemonsets")
    assert served("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    assert served("/apis/apps/v1/namespaces/kube-system/daemonsets")
    store.set_kubernetes_version("1.22")
    assert served("/apis/policy/v1/poddisruptionbudgets")
    assert not served("/apis/coordination.k8s.io/v1beta1/leases")


def test_crd_serves_its_custom_resource(store: Store) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1beta1",
        "metadata": {"name": "eniconfigs.crd.k8s.amazonaws.com"},
        "spec": {
            "group": "crd.k8s.amazonaws.com",
            "version": "v1alpha1",
            "scope": "Cluster",
            "names": {"plural": "eniconfigs", "singular": "eniconfig", "kind": "ENIConfig"},
        },
    }
    made = store.create("customresourcedefinitions.apiextensions.k8s.io", crd)
    assert {c["type"] for c in made["status"]["conditions"]} == {"NamesAccepted", "Established"}
    eni = store.create(
        "eniconfigs.crd.k8s.amazonaws.com",
        {"metadata": {"name": "ap-northeast-1a"}, "spec": {"subnet": "subnet-1"}},
    )
    assert eni["apiVersion"] == "crd.k8s.amazonaws.com/v1alpha1"
    store.delete(
        "customresourcedefinitions.apiextensions.k8s.io", "eniconfigs.crd.k8s.amazonaws.com"
    )
    with pytest.raises(NotFound):
        store.list("eniconfigs.crd.k8s.amazonaws.com")
