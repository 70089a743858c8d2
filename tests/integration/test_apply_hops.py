"""One plan, one apply, three hops on the twin: Modern at 1.29 (a managed and a
self-managed group) to 1.32. The managed group follows the control plane at every hop,
the self-managed group rolls once (kubelet skew 3 from 1.28), apply resumes across a
hop boundary, and a later hop is checked against the live cluster before it starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[2] / "twin" / "ekstwin" / "scenarios" / "modern.yaml"
PDBS = "/apis/policy/v1/poddisruptionbudgets"
HOPS = ("1.30", "1.31", "1.32")


@pytest.fixture
def modern29(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scenario = yaml.safe_load(SHIPPED.read_text())
    scenario.update(name="modern29", kubernetes="1.29")
    scenario["target"] = {"kubernetes": "1.32", "cni": "v1.20.1"}
    path = tmp_path_factory.mktemp("scenario") / "modern29.yaml"
    path.write_text(yaml.safe_dump(scenario))
    yield from sandbox(tmp_path_factory, str(path), Cluster)


def _self_managed_ids(c: Cluster) -> set[str]:
    groups = c.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    memory = [g for g in groups if "memory" in g["AutoScalingGroupName"]]
    return {i["InstanceId"] for g in memory for i in g["Instances"]}


def _at_hop_boundary(event: dict[str, Any]) -> bool:
    return event["kind"] == "step" and event.get("step") == "control-plane@1.31"


def test_three_hops_in_one_apply_resumed_across_a_hop(modern29: Cluster) -> None:
    c = modern29
    memory_before = _self_managed_ids(c)
    _, _, watcher = c.planned(PDBS)
    plan = yaml.safe_load(c.plan_file.read_text())
    assert [h["kubernetes"] for h in plan["hops"]] == list(HOPS)
    stacks = [h["nodegroup_stacks"] for h in plan["hops"]]
    assert stacks == [["modern29-general"]] * 2 + [["modern29-general", "modern29-memory"]]

    code, events, _ = c.apply(_at_hop_boundary)  # killed once the first hop is done
    assert code != 0 and c.journal()["done"][-1] == "nodegroup-roll-general@1.30"
    assert c.eks.describe_cluster(name="modern29")["cluster"]["version"] == "1.30"

    code, events, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert events[0]["message"].startswith("resuming after")
    hop_starts = [e["message"] for e in events if e["kind"] == "start"][1:]
    assert hop_starts == ["hop to Kubernetes 1.31: 4 step(s)", "hop to Kubernetes 1.32: 7 step(s)"]

    assert c.eks.describe_cluster(name="modern29")["cluster"]["version"] == "1.32"
    managed = c.eks.describe_nodegroup(clusterName="modern29", nodegroupName="general")
    assert managed["nodegroup"]["version"] == "1.32"
    # the managed group followed every hop; the self-managed group was replaced once
    assert len(c.eks.list_updates(name="modern29", nodegroupName="general")["updateIds"]) == 3
    assert len(c.eks.list_updates(name="modern29")["updateIds"]) == 3
    terminated = [
        r for r in c.aws_requests() if r["action"] == "TerminateInstanceInAutoScalingGroup"
    ]
    assert len(terminated) == len(memory_before) == 3
    assert not _self_managed_ids(c) & memory_before
    for node in c.core.list_node().items:
        assert node.status.node_info.kubelet_version.startswith("v1.32.")
    ds = c.apps.read_namespaced_daemon_set("aws-node", "kube-system")
    assert ds.spec.template.spec.containers[0].image.endswith(":v1.20.1")
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    assert c.journal()["complete"]


def test_a_later_hop_that_is_not_what_was_predicted_stops_with_exit_5(modern29: Cluster) -> None:
    c = modern29
    c.plan()
    code, _, _ = c.apply(_at_hop_boundary)
    assert code != 0
    # someone changes kube-proxy between the hops: the next hop would start elsewhere
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "kube-proxy", "image": ""}]}}}}
    ds = c.apps.read_namespaced_daemon_set("kube-proxy", "kube-system")
    image = ds.spec.template.spec.containers[0].image.rsplit(":", 1)[0] + ":v1.30.0-eksbuild.1"
    patch["spec"]["template"]["spec"]["containers"][0]["image"] = image
    c.apps.patch_namespaced_daemon_set("kube-proxy", "kube-system", patch)
    code, _, stderr = c.apply()
    assert code == 5, stderr
    assert "hop to 1.31" in stderr and "kube-proxy@1.31" in stderr and "Traceback" not in stderr
    assert c.eks.describe_cluster(name="modern29")["cluster"]["version"] == "1.30"


# odd spacing and key order: what the user wrote must reach EKS unchanged at every update
CNI_VALUES = '{"env": {"WARM_ENI_TARGET":"1",  "WARM_PREFIX_TARGET": "1"}}'


def test_managed_addons_follow_every_hop_with_their_configuration_values(
    modern29: Cluster,
) -> None:
    c = modern29
    offered = c.eks.describe_addon_versions(addonName="vpc-cni", kubernetesVersion="1.29")
    oldest = offered["addons"][0]["addonVersions"][-1]["addonVersion"]  # newest first
    c.eks.create_addon(
        clusterName="modern29",
        addonName="vpc-cni",
        addonVersion=oldest,
        configurationValues=CNI_VALUES,
    )
    for name in ("kube-proxy", "coredns"):
        c.eks.create_addon(clusterName="modern29", addonName=name)
    for name in ("vpc-cni", "kube-proxy", "coredns"):
        waiter = c.eks.get_waiter("addon_active")
        waiter.wait(clusterName="modern29", addonName=name, WaiterConfig={"Delay": 1})
    _, _, watcher = c.planned(PDBS)
    plan = yaml.safe_load(c.plan_file.read_text())
    managed = [s for s in plan["steps"] if s["kind"] == "managed-addon"]
    assert {s["params"]["addon"] for s in managed} >= {"vpc-cni", "kube-proxy"}
    assert not [s for s in plan["steps"] if s["kind"] in ("cni", "kube-proxy", "coredns")]
    cni = [s for s in managed if s["params"]["addon"] == "vpc-cni"]
    assert all(s["params"]["configuration_values"] == CNI_VALUES for s in cni)

    code, _, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert c.eks.describe_cluster(name="modern29")["cluster"]["version"] == "1.32"
    for step in managed:
        name = step["params"]["addon"]
        addon = c.eks.describe_addon(clusterName="modern29", addonName=name)["addon"]
        final = [s for s in managed if s["params"]["addon"] == name][-1]["params"]["to"]
        assert addon["addonVersion"] == final and addon["status"] == "ACTIVE"
        if name == "vpc-cni":
            assert addon["configurationValues"] == CNI_VALUES
    updates = [r for r in c.aws_requests() if r["action"] == "UpdateAddon"]
    assert len(updates) == len(managed)
    ds = c.apps.read_namespaced_daemon_set("aws-node", "kube-system")
    assert ds.spec.template.spec.containers[0].image.endswith(":" + plan["to"]["cni"])
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
