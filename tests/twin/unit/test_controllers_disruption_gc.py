"""PodDisruptionBudget status and garbage collection."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import TooManyRequests
from tests.twin.unit.test_controllers_base import NS, Cluster, bare_pod, deployment

Obj = dict[str, Any]


def _pdb(version: str = "policy/v1beta1", **budget: Any) -> Obj:
    return {
        "apiVersion": version,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, **budget},
    }


def _pdb_status(c: Cluster) -> Obj:
    status: Obj = c.store.get("poddisruptionbudgets.policy", "web", namespace=NS)["status"]
    return status


@pytest.mark.parametrize(
    ("budget", "desired", "allowed"),
    [
        ({"maxUnavailable": 1}, 3, 1),
        ({"minAvailable": 4}, 4, 0),
        ({"minAvailable": "50%"}, 2, 2),
        ({"maxUnavailable": "30%"}, 2, 2),
    ],
)
def test_pdb_status_counts_healthy_pods(budget: Obj, desired: int, allowed: int) -> None:
    c = Cluster()
    c.add_nodes(2)
    c.store.create("deployments.apps", deployment("web", 4), namespace=NS)
    c.store.create("poddisruptionbudgets.policy", _pdb(**budget), namespace=NS)
    c.run()
    assert _pdb_status(c) == {
        "observedGeneration": 1,
        "disruptionsAllowed": allowed,
        "currentHealthy": 4,
        "desiredHealthy": desired,
        "expectedPods": 4,
    }


def _terminating(c: Cluster) -> list[str]:
    return [
        p["metadata"]["name"] for p in c.pods(app="web") if p["metadata"].get("deletionTimestamp")
    ]


def test_a_max_unavailable_budget_counts_the_controllers_scale_not_terminating_pods() -> None:
    """As the disruption controller's getExpectedScale: a pod being deleted and its Ready
    replacement count once, so the next eviction need not wait out the grace period."""
    c = Cluster()
    c.add_nodes(2)
    c.store.create("deployments.apps", deployment("web", 3), namespace=NS)
    c.store.create("poddisruptionbudgets.policy", _pdb(maxUnavailable=1), namespace=NS)
    c.run()
    first, second = (p["metadata"]["name"] for p in c.pods(app="web")[:2])
    c.store.evict(first, namespace=NS)
    c.manager.step()
    assert _terminating(c) == [first]
    status = _pdb_status(c)
    assert (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"]) == (3, 3, 2)
    assert status["disruptionsAllowed"] == 1
    c.store.evict(second, namespace=NS)  # the eviction API agrees with the status
    third = next(
        p["metadata"]["name"]
        for p in c.pods(app="web")
        if p["metadata"]["name"] not in (first, second)
        and p.get("status", {}).get("phase") == "Running"
    )
    with pytest.raises(TooManyRequests):  # until the second replacement is Ready
        c.store.evict(third, namespace=NS)


def test_an_integer_min_available_budget_counts_every_matching_pod() -> None:
    c = Cluster()
    c.add_nodes(2)
    c.store.create("deployments.apps", deployment("web", 3), namespace=NS)
    c.store.create("poddisruptionbudgets.policy", _pdb(minAvailable=2), namespace=NS)
    c.run()
    first = c.pods(app="web")[0]["metadata"]["name"]
    c.store.evict(first, namespace=NS)
    c.manager.step()  # the evicted pod still terminates: expected 4, healthy 3, desired 2
    assert _terminating(c) == [first]
    status = _pdb_status(c)
    assert (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"]) == (4, 3, 2)
    assert status["disruptionsAllowed"] == 1


def test_policy_v1_pdbs_carry_the_disruption_allowed_condition() -> None:
    c = Cluster("1.21")
    c.add_nodes(1)
    c.store.create("deployments.apps", deployment("web", 2), namespace=NS)
    c.store.create("poddisruptionbudgets.policy", _pdb("policy/v1", minAvailable=2), namespace=NS)
    c.run()
    (cond,) = _pdb_status(c)["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "DisruptionAllowed",
        "False",
        "InsufficientPods",
    )
    c.store.patch("poddisruptionbudgets.policy", "web", {"spec": {"minAvailable": 1}}, namespace=NS)
    c.run()
    status = _pdb_status(c)
    (cond,) = status["conditions"]
    assert (cond["status"], cond["reason"], cond["observedGeneration"]) == (
        "True",
        "SufficientPods",
        2,
    )
    assert status["observedGeneration"] == 2


def test_deleting_a_deployment_collects_its_replicasets_and_pods() -> None:
    c = Cluster()
    c.add_nodes(2)
    c.store.create("deployments.apps", deployment("web", 3), namespace=NS)
    c.store.create("deployments.apps", deployment("api", 2), namespace=NS)
    c.run()
    c.store.delete("deployments.apps", "web", namespace=NS)
    c.run()
    assert [
        rs["metadata"]["name"].split("-")[0]
        for rs in c.store.list("replicasets.apps", namespace=NS)
    ] == ["api"]
    assert c.pods(app="web") == []
    assert len(c.pods(app="api")) == 2


def test_deleting_a_daemonset_collects_its_pods_and_revisions() -> None:
    c = Cluster()
    c.add_nodes(2)
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "a", "image": "agent:v1"}]},
            },
        },
    }
    c.store.create("daemonsets.apps", ds, namespace=NS)
    c.run()
    assert len(c.pods(app="agent")) == 2
    c.store.delete("daemonsets.apps", "agent", namespace=NS)
    c.run()
    assert c.pods(app="agent") == []
    assert c.store.list("controllerrevisions.apps", namespace=NS) == []


def test_pods_on_a_vanished_node_are_deleted_at_once_and_replaced() -> None:
    c = Cluster()
    nodes = c.add_nodes(2)
    c.store.create("deployments.apps", deployment("web", 4), namespace=NS)
    c.store.create("pods", bare_pod("lonely", nodeName=nodes[0]), namespace=NS)
    c.run()
    on_first = {p["metadata"]["name"] for p in c.pods() if p["spec"]["nodeName"] == nodes[0]}
    assert "lonely" in on_first
    c.store.delete("nodes", nodes[0])
    c.manager.step()
    names = {p["metadata"]["name"] for p in c.pods()}
    assert names.isdisjoint(on_first)  # gone in one pass, no grace period
    c.run()
    assert {p["spec"]["nodeName"] for p in c.pods(app="web")} == {nodes[1]}
    assert len(c.active(app="web")) == 4


def test_objects_without_owners_or_with_live_owners_are_kept() -> None:
    c = Cluster()
    c.add_nodes(1)
    c.store.create("pods", bare_pod("mine"), namespace=NS)
    orphan = bare_pod("orphan")
    orphan["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "gone",
            "uid": "no-such-uid",
            "controller": True,
        }
    ]
    c.store.create("pods", orphan, namespace=NS)
    foreign = bare_pod("foreign")
    foreign["metadata"]["ownerReferences"] = [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "job-uid", "controller": True}
    ]
    c.store.create("pods", foreign, namespace=NS)
    c.run()
    assert sorted(p["metadata"]["name"] for p in c.pods()) == ["foreign", "mine"]
