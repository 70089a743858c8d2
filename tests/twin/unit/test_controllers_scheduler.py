"""Scheduler: fit (ENI max pods, requests), cordon, taints, affinity, spreading, messages."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.twin.unit.test_controllers_base import (
    NS,
    ZONES,
    Cluster,
    bare_pod,
    deployment,
)


def _node_of(c: Cluster, name: str) -> str | None:
    node: str | None = c.store.get("pods", name, namespace=NS)["spec"].get("nodeName")
    return node


def _scheduled(c: Cluster, name: str) -> dict[str, str]:
    pod = c.store.get("pods", name, namespace=NS)
    (cond,) = [x for x in pod["status"]["conditions"] if x["type"] == "PodScheduled"]
    return dict(cond)


def test_binds_up_to_the_eni_max_pods_of_each_node_and_reports_the_rest() -> None:
    c = Cluster()
    nodes = c.add_nodes(2)
    for i in range(120):
        c.store.create("pods", bare_pod(f"p{i:03}"), namespace=NS)
    c.manager.settle()
    per_node = Counter(p["spec"].get("nodeName") for p in c.pods())
    assert per_node == {nodes[0]: 58, nodes[1]: 58, None: 4}
    pending = [p for p in c.pods() if not p["spec"].get("nodeName")]
    assert all(p["status"]["phase"] == "Pending" for p in pending)
    cond = _scheduled(c, pending[0]["metadata"]["name"])
    assert cond["status"] == "False"
    assert cond["reason"] == "Unschedulable"
    assert cond["message"] == "0/2 nodes are available: 2 Too many pods."
    assert len(c.events("FailedScheduling")) == 4
    assert len(c.events("Scheduled")) == 116


def test_real_style_message_counts_each_node_under_its_first_failing_filter() -> None:
    c = Cluster()
    c.add_node("n1", pods=1)
    c.add_node("n2", pods=1)
    c.add_node("n3")
    c.store.create("pods", bare_pod("a", nodeName="n1"), namespace=NS)
    c.store.create("pods", bare_pod("b", nodeName="n2"), namespace=NS)
    c.patch_node("n3", {"spec": {"unschedulable": True}})
    c.store.create("pods", bare_pod("waiting"), namespace=NS)
    c.manager.settle()
    expected = "0/3 nodes are available: 1 node(s) were unschedulable, 2 Too many pods."
    assert _scheduled(c, "waiting")["message"] == expected
    (event,) = c.events("FailedScheduling")
    assert (event["message"], event["type"], event["count"]) == (expected, "Warning", 1)
    assert event["involvedObject"]["name"] == "waiting"


def test_failed_scheduling_repeats_count_up_after_the_retry_interval() -> None:
    c = Cluster()
    c.add_node("n1", pods=0)
    c.store.create("pods", bare_pod("waiting"), namespace=NS)
    c.manager.settle()
    c.manager.settle()
    assert c.events("FailedScheduling")[0]["count"] == 1
    c.clock.advance(61)
    c.manager.settle()
    (event,) = c.events("FailedScheduling")
    assert event["count"] == 2
    assert event["lastTimestamp"] > event["firstTimestamp"]


def test_pod_goes_where_it_fits_once_the_cluster_changes() -> None:
    c = Cluster()
    c.add_node("n1")
    c.patch_node("n1", {"spec": {"unschedulable": True}})
    c.store.create("pods", bare_pod("p"), namespace=NS)
    c.manager.settle()
    assert _node_of(c, "p") is None
    c.patch_node("n1", {"spec": {"unschedulable": False}})
    c.manager.settle()
    assert _node_of(c, "p") == "n1"
    assert _scheduled(c, "p")["status"] == "True"
    assert c.store.get("pods", "p", namespace=NS)["status"]["phase"] == "Running"  # fake kubelet
    (event,) = c.events("Scheduled")
    assert event["message"] == "Successfully assigned app/p to n1"


def test_cpu_and_memory_requests_must_fit_allocatable() -> None:
    c = Cluster()
    c.add_node("n1", cpu="2", memory="1Gi")
    for i in range(3):
        pod = bare_pod(f"p{i}")
        pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "900m"}}
        c.store.create("pods", pod, namespace=NS)
    big = bare_pod("big")
    big["spec"]["containers"][0]["resources"] = {"requests": {"memory": "2Gi"}}
    c.store.create("pods", big, namespace=NS)
    c.manager.settle()
    assert [_node_of(c, f"p{i}") for i in range(3)] == ["n1", "n1", None]
    assert _scheduled(c, "p2")["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    assert _scheduled(c, "big")["message"] == "0/1 nodes are available: 1 Insufficient memory."


def test_cordoned_not_ready_and_tainted_nodes_are_skipped() -> None:
    c = Cluster()
    c.add_node("cordoned")
    c.patch_node("cordoned", {"spec": {"unschedulable": True}})
    c.add_node("down", ready=False)
    c.add_node("tainted", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    c.add_node("ok")
    for i in range(5):
        c.store.create("pods", bare_pod(f"p{i}"), namespace=NS)
    c.manager.settle()
    assert {_node_of(c, f"p{i}") for i in range(5)} == {"ok"}


def test_tolerations_open_tainted_and_cordoned_nodes() -> None:
    c = Cluster()
    c.add_node("tainted", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    c.add_node("cordoned")
    c.patch_node("cordoned", {"spec": {"unschedulable": True}})
    db = {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
    c.store.create("pods", bare_pod("db", tolerations=[db]), namespace=NS)
    cordon = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}
    c.store.create("pods", bare_pod("any", tolerations=[cordon]), namespace=NS)
    wrong = {**db, "value": "cache"}
    c.store.create("pods", bare_pod("wrong", tolerations=[wrong]), namespace=NS)
    c.manager.settle()
    assert _node_of(c, "db") == "tainted"
    assert _node_of(c, "any") == "cordoned"
    assert _scheduled(c, "wrong")["message"] == (
        "0/2 nodes are available: 1 node(s) had taints that the pod didn't tolerate, "
        "1 node(s) were unschedulable."
    )


@pytest.mark.parametrize(
    ("version", "taint", "affinity", "not_ready"),
    [
        (
            "1.12",
            "node(s) had taints that the pod didn't tolerate",
            "node(s) didn't match node selector",
            "node(s) were not ready",
        ),
        (
            "1.19",
            "node(s) had taint {dedicated: db}, that the pod didn't tolerate",
            "node(s) didn't match node selector",
            "node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate",
        ),
        (
            "1.29",
            "node(s) had untolerated taint {dedicated: db}",
            "node(s) didn't match Pod's node affinity/selector",
            "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
        ),
    ],
)
def test_reasons_are_worded_as_the_cluster_version_words_them(
    version: str, taint: str, affinity: str, not_ready: str
) -> None:
    c = Cluster(version)
    c.add_node("tainted", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    c.add_node("other", labels={"role": "web"})
    c.add_node("down", ready=False)
    c.store.create("pods", bare_pod("p", nodeSelector={"role": "db"}), namespace=NS)
    c.manager.settle()
    parts = sorted(f"1 {r}" for r in (taint, affinity, not_ready))
    assert _scheduled(c, "p")["message"] == f"0/3 nodes are available: {', '.join(parts)}."


def test_node_selector_and_required_affinity_pick_the_node() -> None:
    c = Cluster()
    c.add_nodes(6)
    zone_b = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "topology.kubernetes.io/zone",
                                "operator": "In",
                                "values": [ZONES[1]],
                            },
                        ]
                    }
                ]
            }
        }
    }
    not_a = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "topology.kubernetes.io/zone",
                                "operator": "NotIn",
                                "values": [ZONES[0], ZONES[2]],
                            },
                            {"key": "kubernetes.io/hostname", "operator": "Exists"},
                            {"key": "gpu", "operator": "DoesNotExist"},
                        ]
                    }
                ]
            }
        }
    }
    by_name = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchFields": [
                            {
                                "key": "metadata.name",
                                "operator": "In",
                                "values": ["ip-10-0-5-10.ec2.internal"],
                            },
                        ]
                    }
                ]
            }
        }
    }
    c.store.create("pods", bare_pod("b", affinity=zone_b), namespace=NS)
    c.store.create("pods", bare_pod("not-a", affinity=not_a), namespace=NS)
    c.store.create("pods", bare_pod("named", affinity=by_name), namespace=NS)
    selector = {"kubernetes.io/hostname": "ip-10-0-2-10.ec2.internal"}
    c.store.create("pods", bare_pod("sel", nodeSelector=selector), namespace=NS)
    c.manager.settle()
    zone_of = {
        n["metadata"]["name"]: n["metadata"]["labels"]["topology.kubernetes.io/zone"]
        for n in c.store.list("nodes")
    }
    assert zone_of[_node_of(c, "b") or ""] == ZONES[1]
    assert zone_of[_node_of(c, "not-a") or ""] == ZONES[1]
    assert _node_of(c, "named") == "ip-10-0-5-10.ec2.internal"
    assert _node_of(c, "sel") == "ip-10-0-2-10.ec2.internal"


def test_pods_of_one_owner_spread_across_zones_before_nodes() -> None:
    c = Cluster()
    c.add_node("a1", ZONES[0])
    c.add_node("a2", ZONES[0])
    c.add_node("b1", ZONES[1])
    c.store.create("deployments.apps", deployment("web", 4), namespace=NS)
    c.run()
    web = Counter(p["spec"]["nodeName"] for p in c.pods(app="web"))
    assert web == {"a1": 1, "a2": 1, "b1": 2}  # 2 per zone, not 3 + 1 by node load


def test_pods_spread_over_the_nodes_of_a_zone_and_other_owners_do_not_count() -> None:
    c = Cluster()
    nodes = c.add_nodes(6)  # two nodes per zone
    for i in range(5):
        c.store.create("pods", bare_pod(f"busy{i}", nodeName=nodes[0]), namespace=NS)
    c.store.create("deployments.apps", deployment("web", 6), namespace=NS)
    c.run()
    web = Counter(p["spec"]["nodeName"] for p in c.pods(app="web"))
    assert web == dict.fromkeys(nodes, 1)


def test_terminating_pods_still_hold_their_slot_and_pods_of_other_schedulers_wait() -> None:
    c = Cluster()
    c.add_node("n1", pods=1)
    c.store.create("pods", bare_pod("old", nodeName="n1"), namespace=NS)
    c.manager.settle()
    c.store.delete("pods", "old", namespace=NS)  # 30 s grace: terminating
    c.store.create("pods", bare_pod("new"), namespace=NS)
    c.store.create("pods", bare_pod("custom", schedulerName="other"), namespace=NS)
    c.manager.settle()
    assert _node_of(c, "new") is None
    c.clock.advance(30)
    c.manager.settle()
    assert _node_of(c, "new") == "n1"
    custom = c.store.get("pods", "custom", namespace=NS)
    assert custom["spec"].get("nodeName") is None
    assert "conditions" not in custom["status"]


def test_no_nodes_at_all() -> None:
    c = Cluster()
    c.store.create("pods", bare_pod("p"), namespace=NS)
    c.manager.settle()
    assert _scheduled(c, "p")["message"] == "no nodes available to schedule pods"
