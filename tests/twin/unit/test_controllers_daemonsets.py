"""DaemonSets: one pod per eligible node, revisions, RollingUpdate limits, OnDelete."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.twin.unit.test_controllers_base import NS, Cluster, pod_template

Obj = dict[str, Any]
HASH = "controller-revision-hash"


def _daemonset(name: str = "agent", *, strategy: Obj | None = None, **spec: Any) -> Obj:
    body: Obj = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template(name),
            **spec,
        },
    }
    if strategy is not None:
        body["spec"]["updateStrategy"] = strategy
    return body


def _set_image(c: Cluster, image: str) -> None:
    template = {"spec": {"containers": [{"name": "agent", "image": image}]}}
    c.store.patch(
        "daemonsets.apps",
        "agent",
        {"spec": {"template": template}},
        patch_type="strategic",
        namespace=NS,
    )


def _status(c: Cluster) -> Obj:
    status: Obj = c.store.get("daemonsets.apps", "agent", namespace=NS)["status"]
    return status


def test_one_pod_bound_to_every_node_including_cordoned_and_not_ready_ones() -> None:
    c = Cluster()
    nodes = c.add_nodes(3)
    c.add_node("down", ready=False)
    c.patch_node(nodes[0], {"spec": {"unschedulable": True}})
    ds = c.store.create("daemonsets.apps", _daemonset(), namespace=NS)
    c.run()
    pods = c.pods(app="agent")
    assert Counter(p["spec"]["nodeName"] for p in pods) == dict.fromkeys([*nodes, "down"], 1)
    (revision,) = c.store.list("controllerrevisions.apps", namespace=NS)
    pod_hash = revision["metadata"]["labels"][HASH]
    assert revision["metadata"]["name"] == f"agent-{pod_hash}"
    assert revision["revision"] == 1
    assert revision["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
    for pod in pods:
        assert pod["metadata"]["labels"][HASH] == pod_hash
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
        keys = {(t.get("key"), t.get("effect")) for t in pod["spec"]["tolerations"]}
        assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
        assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
    assert _status(c) == {
        "currentNumberScheduled": 4,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 4,
        "numberReady": 4,
        "observedGeneration": 1,
        "updatedNumberScheduled": 4,
        "numberAvailable": 4,
    }


def test_node_selector_and_taints_decide_eligibility() -> None:
    c = Cluster()
    c.add_node("plain")
    c.add_node("linux", labels={"kubernetes.io/os": "linux"})
    c.add_node(
        "gpu",
        labels={"kubernetes.io/os": "linux"},
        taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
    )
    c.store.create("daemonsets.apps", _daemonset(), namespace=NS)
    ds = _daemonset("picky")
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
    c.store.create("daemonsets.apps", ds, namespace=NS)
    c.run()
    assert {p["spec"]["nodeName"] for p in c.pods(app="agent")} == {"plain", "linux"}
    assert {p["spec"]["nodeName"] for p in c.pods(app="picky")} == {"linux"}
    c.patch_node("plain", {"metadata": {"labels": {"kubernetes.io/os": "linux"}}})
    c.patch_node("linux", {"metadata": {"labels": {"kubernetes.io/os": "windows"}}})
    c.run()
    assert {p["spec"]["nodeName"] for p in c.pods(app="picky")} == {"plain"}


def test_nodes_coming_and_going_gain_and_lose_their_daemon_pod() -> None:
    c = Cluster()
    c.add_nodes(2)
    c.store.create("daemonsets.apps", _daemonset(), namespace=NS)
    c.run()
    c.add_node("new")
    c.run()
    assert "new" in {p["spec"]["nodeName"] for p in c.pods(app="agent")}
    c.store.delete("nodes", "new")
    c.manager.step()
    assert "new" not in {p["spec"]["nodeName"] for p in c.pods(app="agent")}  # gone at once
    assert _status(c)["desiredNumberScheduled"] == 2


def test_noexecute_taint_evicts_the_daemon_pod_but_noschedule_does_not() -> None:
    c = Cluster()
    c.add_node("a")
    c.add_node("b")
    c.store.create("daemonsets.apps", _daemonset(), namespace=NS)
    c.run()
    c.patch_node("a", {"spec": {"taints": [{"key": "x", "effect": "NoSchedule"}]}})
    c.patch_node("b", {"spec": {"taints": [{"key": "x", "effect": "NoExecute"}]}})
    c.run()
    assert {p["spec"]["nodeName"] for p in c.pods(app="agent")} == {"a"}
    status = _status(c)  # as in Kubernetes, the kept pod on "a" counts as misscheduled
    assert (status["desiredNumberScheduled"], status["numberMisscheduled"]) == (0, 1)


@pytest.mark.parametrize(("max_unavailable", "limit"), [(1, 1), ("50%", 3), (2, 2)])
def test_rolling_update_never_leaves_more_than_max_unavailable_nodes_without_a_pod(
    max_unavailable: int | str, limit: int
) -> None:
    c = Cluster()
    nodes = c.add_nodes(5)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}}
    c.store.create("daemonsets.apps", _daemonset(strategy=strategy), namespace=NS)
    c.run()
    _set_image(c, "agent:v2")
    worst = 0

    def check() -> None:
        nonlocal worst
        covered = {p["spec"]["nodeName"] for p in c.available(app="agent")}
        missing = len(set(nodes) - covered)
        assert missing <= limit
        worst = max(worst, missing)

    c.run(check)
    assert worst == limit
    revisions = sorted(
        r["revision"] for r in c.store.list("controllerrevisions.apps", namespace=NS)
    )
    assert revisions == [1, 2]
    pods = c.pods(app="agent")
    assert len(pods) == 5
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"agent:v2"}
    status = _status(c)
    assert (status["updatedNumberScheduled"], status["numberAvailable"]) == (5, 5)
    assert status["observedGeneration"] == 2


def test_on_delete_only_replaces_pods_that_were_deleted() -> None:
    c = Cluster()
    c.add_nodes(3)
    c.store.create("daemonsets.apps", _daemonset(strategy={"type": "OnDelete"}), namespace=NS)
    c.run()
    _set_image(c, "agent:v2")
    c.run()
    assert {p["spec"]["containers"][0]["image"] for p in c.pods(app="agent")} == {"nginx:1.15"}
    assert _status(c).get("updatedNumberScheduled", 0) == 0
    victim = c.pods(app="agent")[0]
    c.store.delete("pods", victim["metadata"]["name"], namespace=NS)
    c.run()
    images = Counter(p["spec"]["containers"][0]["image"] for p in c.pods(app="agent"))
    assert images == {"nginx:1.15": 2, "agent:v2": 1}
    assert _status(c)["updatedNumberScheduled"] == 1


def test_extensions_v1beta1_daemonsets_default_to_on_delete() -> None:
    c = Cluster()
    c.add_nodes(2)
    body = _daemonset()
    body["apiVersion"] = "extensions/v1beta1"
    c.store.create("daemonsets.apps", body, namespace=NS)
    c.run()
    _set_image(c, "agent:v2")
    c.run()
    assert {p["spec"]["containers"][0]["image"] for p in c.pods(app="agent")} == {"nginx:1.15"}


def test_unavailable_status_while_pods_are_not_ready() -> None:
    c = Cluster()
    c.add_nodes(3)
    c.kubelet.hold_images.add("nginx:1.15")
    c.store.create("daemonsets.apps", _daemonset(), namespace=NS)
    c.manager.settle()
    assert _status(c) == {
        "currentNumberScheduled": 3,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 3,
        "numberReady": 0,
        "observedGeneration": 1,
        "updatedNumberScheduled": 3,
        "numberUnavailable": 3,
    }
