"""Deployments and ReplicaSets: creation, scaling, rolling and Recreate updates, self-healing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ekstwin.controllers.objects import SAFE_ALPHANUMS
from tests.twin.unit.test_controllers_base import NS, Cluster, deployment

Obj = dict[str, Any]
HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _web(c: Cluster, replicas: int = 4, **kw: Any) -> Obj:
    return c.store.create("deployments.apps", deployment("web", replicas, **kw), namespace=NS)


def _sets(c: Cluster) -> list[Obj]:
    return c.store.list("replicasets.apps", namespace=NS)


def _set_image(c: Cluster, image: str) -> None:
    template = {"spec": {"containers": [{"name": "web", "image": image}]}}
    c.store.patch(
        "deployments.apps",
        "web",
        {"spec": {"template": template}},
        patch_type="strategic",
        namespace=NS,
    )


def test_deployment_creates_a_hashed_replicaset_and_its_pods() -> None:
    c = Cluster()
    c.add_nodes(3)
    deploy = _web(c)
    c.run()
    (rs,) = _sets(c)
    pod_hash = rs["metadata"]["labels"][HASH]
    assert re.fullmatch(f"[{SAFE_ALPHANUMS}]+", pod_hash)
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["metadata"]["annotations"][REVISION] == "1"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", HASH: pod_hash}
    (ref,) = rs["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["uid"], ref["controller"]) == (
        "Deployment",
        deploy["metadata"]["uid"],
        True,
    )
    pods = c.pods(app="web")
    assert len(pods) == 4
    for pod in pods:
        assert re.fullmatch(f"web-{pod_hash}-[{SAFE_ALPHANUMS}]{{5}}", pod["metadata"]["name"])
        assert pod["metadata"]["labels"][HASH] == pod_hash
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        assert pod["status"]["phase"] == "Running"
    assert rs["status"] == {
        "replicas": 4,
        "fullyLabeledReplicas": 4,
        "readyReplicas": 4,
        "availableReplicas": 4,
        "observedGeneration": 1,
    }
    status = c.store.get("deployments.apps", "web", namespace=NS)["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 4,
        "updatedReplicas": 4,
        "readyReplicas": 4,
        "availableReplicas": 4,
    }
    conds = {x["type"]: x for x in status["conditions"]}
    assert conds["Available"]["status"] == "True"
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert (
        conds["Progressing"]["message"]
        == f'ReplicaSet "web-{pod_hash}" has successfully progressed.'
    )
    scaled = c.events("ScalingReplicaSet")
    assert [e["message"] for e in scaled] == [f"Scaled up replica set web-{pod_hash} to 4"]


def test_scaling_up_and_down() -> None:
    c = Cluster()
    c.add_nodes(2)
    _web(c, 2)
    c.run()
    c.store.patch("deployments.apps", "web", {"spec": {"replicas": 7}}, namespace=NS)
    c.run()
    assert len(c.active(app="web")) == 7
    c.store.patch("deployments.apps", "web", {"spec": {"replicas": 3}}, namespace=NS)
    c.run()
    assert len(c.pods(app="web")) == 3
    (rs,) = _sets(c)
    assert rs["spec"]["replicas"] == 3
    status = c.store.get("deployments.apps", "web", namespace=NS)["status"]
    assert (status["replicas"], status["availableReplicas"], status["observedGeneration"]) == (
        3,
        3,
        3,
    )


def test_evicted_and_deleted_pods_are_replaced_at_once() -> None:
    c = Cluster()
    c.add_nodes(2)
    _web(c, 3)
    c.run()
    first, second = (p["metadata"]["name"] for p in c.pods(app="web")[:2])
    c.store.evict(first, namespace=NS)
    c.store.delete("pods", second, namespace=NS)
    c.manager.step()
    active = c.active(app="web")
    assert len(active) == 3  # replacements exist while the old pods still terminate
    assert {first, second}.isdisjoint(p["metadata"]["name"] for p in active)
    assert len(c.pods(app="web")) == 5
    c.run()
    assert len(c.pods(app="web")) == 3


@pytest.mark.parametrize(
    ("surge", "unavailable", "min_ready"),
    [(1, 0, 0), (0, 1, 0), ("25%", "25%", 0), (2, 1, 10), ("50%", 0, 0)],
)
def test_rolling_update_stays_within_max_surge_and_max_unavailable_at_every_pass(
    surge: int | str, unavailable: int | str, min_ready: int
) -> None:
    c = Cluster()
    c.add_nodes(3)
    replicas = 6
    strategy = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }
    _web(c, replicas, strategy=strategy, min_ready=min_ready)
    c.run()
    c.clock.advance(min_ready)
    c.run()
    (old_rs,) = _sets(c)
    max_surge = {1: 1, 0: 0, "25%": 2, 2: 2, "50%": 3}[surge]
    max_unavailable = {1: 1, 0: 0, "25%": 1}[unavailable]
    _set_image(c, "nginx:1.16")
    seen = {"surged": 0, "dipped": 0}

    def check() -> None:
        active = len(c.active(app="web"))
        available = len(c.available(min_ready, app="web"))
        assert active <= replicas + max_surge
        assert available >= replicas - max_unavailable
        seen["surged"] = max(seen["surged"], active - replicas)
        seen["dipped"] = max(seen["dipped"], replicas - available)

    passes = c.run(check)
    assert passes > 3
    assert (seen["surged"], seen["dipped"]) == (max_surge, max_unavailable)  # limits are used
    sets = {rs["metadata"]["name"]: rs for rs in _sets(c)}
    new_rs = next(rs for name, rs in sets.items() if name != old_rs["metadata"]["name"])
    assert sets[old_rs["metadata"]["name"]]["spec"]["replicas"] == 0
    assert new_rs["metadata"]["annotations"][REVISION] == "2"
    pods = c.pods(app="web")
    assert len(pods) == replicas
    assert {p["metadata"]["labels"][HASH] for p in pods} == {new_rs["metadata"]["labels"][HASH]}
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.16"}
    status = c.store.get("deployments.apps", "web", namespace=NS)["status"]
    assert status["updatedReplicas"] == status["availableReplicas"] == replicas
    assert status["observedGeneration"] == 2


def test_recreate_stops_every_old_pod_before_starting_new_ones() -> None:
    c = Cluster()
    c.add_nodes(2)
    _web(c, 4, strategy={"type": "Recreate"})
    c.run()
    (old_rs,) = _sets(c)
    old_hash = old_rs["metadata"]["labels"][HASH]
    _set_image(c, "nginx:1.16")

    def check() -> None:
        hashes = {p["metadata"]["labels"][HASH] for p in c.pods(app="web")}
        assert len(hashes) <= 1, "old and new pods coexist"

    c.run(check)
    pods = c.pods(app="web")
    assert len(pods) == 4
    assert old_hash not in {p["metadata"]["labels"][HASH] for p in pods}


def test_rollback_reuses_the_old_replicaset_with_the_next_revision() -> None:
    c = Cluster()
    c.add_nodes(2)
    _web(c, 2)
    c.run()
    (first,) = _sets(c)
    _set_image(c, "nginx:1.16")
    c.run()
    _set_image(c, "nginx:1.15")
    c.run()
    sets = _sets(c)
    assert len(sets) == 2
    back = c.store.get("replicasets.apps", first["metadata"]["name"], namespace=NS)
    assert back["metadata"]["annotations"][REVISION] == "3"
    assert back["spec"]["replicas"] == 2


def test_old_replicasets_beyond_the_revision_history_limit_are_deleted() -> None:
    c = Cluster()
    c.add_nodes(2)
    c.store.create(
        "deployments.apps",
        {**deployment("web", 1)}
        | {"spec": {**deployment("web", 1)["spec"], "revisionHistoryLimit": 1}},
        namespace=NS,
    )
    c.run()
    for tag in ("1.16", "1.17", "1.18"):
        _set_image(c, f"nginx:{tag}")
        c.run()
    revisions = sorted(int(rs["metadata"]["annotations"][REVISION]) for rs in _sets(c))
    assert revisions == [3, 4]


def test_progress_deadline_is_reported_when_pods_never_become_ready() -> None:
    c = Cluster()
    c.add_nodes(1)
    spec = deployment("web", 2)
    spec["spec"]["progressDeadlineSeconds"] = 120
    c.store.create("deployments.apps", spec, namespace=NS)
    c.run()
    c.kubelet.hold_images.add("nginx:broken")
    _set_image(c, "nginx:broken")
    c.manager.settle()
    progressing = c.store.get("deployments.apps", "web", namespace=NS)["status"]["conditions"]
    assert {x["type"]: x["reason"] for x in progressing}["Progressing"] == "ReplicaSetUpdated"
    c.clock.advance(119)
    c.manager.settle()
    c.clock.advance(1)
    c.manager.settle()
    conds = {
        x["type"]: x
        for x in c.store.get("deployments.apps", "web", namespace=NS)["status"]["conditions"]
    }
    assert conds["Progressing"]["status"] == "False"
    assert conds["Progressing"]["reason"] == "ProgressDeadlineExceeded"
    assert conds["Available"]["status"] == "True"  # the old pods still serve
