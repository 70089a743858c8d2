"""Fargate on the twin: pods of a profile's namespace run one per Fargate node (tainted, no
DaemonSet pod, an address from an ENI of the profile's subnets); a plan of two hops
restarts their Deployment after each control-plane step, so every Fargate kubelet follows
the control plane, and the old Fargate nodes and their ENIs go away."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[2] / "twin" / "ekstwin" / "scenarios" / "modern.yaml"
FARGATE = "eks.amazonaws.com/compute-type=fargate"


@pytest.fixture
def fargate30(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scenario = yaml.safe_load(SHIPPED.read_text())
    scenario.update(name="fargate30", kubernetes="1.30")
    scenario["target"] = {"kubernetes": "1.32", "cni": "v1.20.1"}
    scenario["workloads"].append(
        {"namespace": "batch", "name": "runner", "replicas": 2, "pdb": {"max_unavailable": 1}}
    )
    scenario["fargate"] = [
        {
            "name": "batch",
            "namespaces": ["batch"],
            "subnets": ["modern-private-a", "modern-private-b"],
        }
    ]
    path = tmp_path_factory.mktemp("scenario") / "fargate30.yaml"
    path.write_text(yaml.safe_dump(scenario))
    yield from sandbox(tmp_path_factory, str(path), Cluster)


def _fargate(c: Cluster) -> dict[str, str]:
    return {
        n.metadata.name: n.status.node_info.kubelet_version
        for n in c.core.list_node(label_selector=FARGATE).items
    }


def _fargate_enis(c: Cluster) -> int:
    enis = c.ec2.describe_network_interfaces()["NetworkInterfaces"]
    return len([e for e in enis if e.get("Description", "").startswith("[Fargate]")])


def test_fargate_pods_follow_every_hop(fargate30: Cluster) -> None:
    c = fargate30
    before = _fargate(c)
    assert len(before) == 2 and all(v.startswith("v1.30.") for v in before.values())
    pods = c.core.list_namespaced_pod("batch").items
    assert {p.spec.node_name for p in pods} == set(before)
    assert {p.spec.scheduler_name for p in pods} == {"fargate-scheduler"}
    assert {p.status.pod_ip for p in pods} == {
        n.status.addresses[0].address for n in c.core.list_node(label_selector=FARGATE).items
    }
    for node in c.core.list_node(label_selector=FARGATE).items:
        assert [t.key for t in node.spec.taints] == ["eks.amazonaws.com/compute-type"]
    system = c.core.list_namespaced_pod("kube-system").items
    assert not [p for p in system if p.spec.node_name in before]  # no DaemonSet pod there
    assert _fargate_enis(c) == 2

    c.plan()
    plan = json.loads(c.plan_file.read_text())
    restarts = [s for s in plan["steps"] if s["kind"] == "fargate-restart"]
    assert [s["id"] for s in restarts] == ["fargate-restart@1.31", "fargate-restart@1.32"]
    assert restarts[0]["params"]["workloads"] == ["Deployment batch/runner"]
    ids = [s["id"] for s in plan["steps"]]
    assert ids.index("fargate-restart@1.31") < ids.index("control-plane@1.32")

    code, _, stderr = c.apply()
    assert code == 0, stderr
    after = _fargate(c)
    assert len(after) == 2 and not set(after) & set(before)
    assert all(v.startswith("v1.32.") for v in after.values()), after
    assert _fargate_enis(c) == 2  # the old pods' ENIs were deleted with their nodes
    patches = [
        r
        for r in c.kube_requests()
        if r["method"] == "PATCH"
        and r.get("path", "").endswith("/namespaces/batch/deployments/runner")
    ]
    assert len(patches) == 2  # one restart per hop
    running = [p for p in c.core.list_namespaced_pod("batch").items if p.status.phase == "Running"]
    assert len(running) == 2
