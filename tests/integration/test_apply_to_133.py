"""Issue 12's end to end: a 1.29 cluster with managed vpc-cni (its configurationValues
env), kube-proxy and CoreDNS, one managed and one self-managed node group on Amazon
Linux 2, taken to 1.33 by one plan and one apply on the twin.

Four control-plane hops; the managed group follows every hop (three version updates,
then its move to an AL2023 successor group, since AL2 AMIs end at 1.32); the
self-managed group rolls twice (kubelet skew 3 allows 1.29 nodes under a 1.32 control
plane, not 1.33) and moves to AL2023 at the second roll. Checked through boto3 and the
Kubernetes client only, with every pod and PodDisruptionBudget watched throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[2] / "twin" / "ekstwin" / "scenarios" / "modern.yaml"
PDBS = "/apis/policy/v1/poddisruptionbudgets"
HOPS = ["1.30", "1.31", "1.32", "1.33"]
# odd spacing and key order: what the user wrote must reach EKS unchanged at every update
CNI_VALUES = '{"env": {"WARM_ENI_TARGET":"1",  "WARM_PREFIX_TARGET": "1"}}'
ADDONS = ("vpc-cni", "kube-proxy", "coredns")


@pytest.fixture
def modern29(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scenario = yaml.safe_load(SHIPPED.read_text())
    scenario.update(name="to133", kubernetes="1.29")
    scenario["target"] = {"kubernetes": "1.33", "cni": "v1.20.1"}
    path = tmp_path_factory.mktemp("scenario") / "to133.yaml"
    path.write_text(yaml.safe_dump(scenario))
    yield from sandbox(tmp_path_factory, str(path), Cluster)


def _managed_addons(c: Cluster) -> None:
    offered = c.eks.describe_addon_versions(addonName="vpc-cni", kubernetesVersion="1.29")
    oldest = offered["addons"][0]["addonVersions"][-1]["addonVersion"]  # newest first
    c.eks.create_addon(
        clusterName="to133", addonName="vpc-cni", addonVersion=oldest,
        configurationValues=CNI_VALUES,
    )  # fmt: skip
    for name in ("kube-proxy", "coredns"):
        c.eks.create_addon(clusterName="to133", addonName=name)
    for name in ADDONS:
        waiter = c.eks.get_waiter("addon_active")
        waiter.wait(clusterName="to133", addonName=name, WaiterConfig={"Delay": 1})


def _self_managed_ids(c: Cluster) -> set[str]:
    groups = c.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    memory = [g for g in groups if "memory" in g["AutoScalingGroupName"]]
    return {i["InstanceId"] for g in memory for i in g["Instances"]}


def test_one_plan_one_apply_from_129_to_133(modern29: Cluster) -> None:
    c = modern29
    _managed_addons(c)
    memory_before = _self_managed_ids(c)
    _, _, watcher = c.planned(PDBS)
    plan = yaml.safe_load(c.plan_file.read_text())
    assert [h["kubernetes"] for h in plan["hops"]] == HOPS
    assert [h["nodegroup_stacks"] for h in plan["hops"]] == [["to133-general"]] * 2 + [
        ["to133-general", "to133-memory"]
    ] * 2
    assert not [s for s in plan["steps"] if s["kind"] in ("cni", "kube-proxy", "coredns")]
    moved = [s for s in plan["steps"] if s["params"].get("successor")]
    assert [s["id"] for s in moved] == ["nodegroup-roll-general@1.33"]

    code, _, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert c.journal()["complete"]

    # control plane at 1.33 after four in-place updates
    assert c.eks.describe_cluster(name="to133")["cluster"]["version"] == "1.33"
    assert len(c.eks.list_updates(name="to133")["updateIds"]) == 4

    # add-ons at versions EKS offers for 1.33, the user's configurationValues unchanged
    for name in ADDONS:
        addon = c.eks.describe_addon(clusterName="to133", addonName=name)["addon"]
        offered = c.eks.describe_addon_versions(addonName=name, kubernetesVersion="1.33")
        versions = {v["addonVersion"] for v in offered["addons"][0]["addonVersions"]}
        assert addon["status"] == "ACTIVE" and addon["addonVersion"] in versions, addon
    cni = c.eks.describe_addon(clusterName="to133", addonName="vpc-cni")["addon"]
    assert cni["configurationValues"] == CNI_VALUES

    # the managed group followed every hop: its nodes replaced in place at 1.30, 1.31 and
    # 1.32 (EKS's own roll), then drained into its AL2023 successor at 1.33
    assert c.eks.list_nodegroups(clusterName="to133")["nodegroups"] == ["general-al2023"]
    successor = c.eks.describe_nodegroup(clusterName="to133", nodegroupName="general-al2023")
    assert successor["nodegroup"]["amiType"] == "AL2023_x86_64_STANDARD"
    assert successor["nodegroup"]["version"] == "1.33"
    by_group: dict[str, list[str]] = {}
    for reservation in c.ec2.describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
            group = tags.get("eks:nodegroup-name")
            if group:
                by_group.setdefault(group, []).append(instance["State"]["Name"])
    assert sorted(by_group["general"]) == ["terminated"] * 4 * 3  # 3 nodes, 4 generations
    assert sorted(by_group["general-al2023"]) == ["running"] * 3

    # the self-managed group was replaced exactly twice
    terminated = [
        r for r in c.aws_requests() if r["action"] == "TerminateInstanceInAutoScalingGroup"
    ]
    assert len(terminated) == 2 * len(memory_before) == 6
    assert not _self_managed_ids(c) & memory_before

    # every node at 1.33 on Amazon Linux 2023; nothing stuck, no budget broken
    for node in c.core.list_node().items:
        info = node.status.node_info
        assert info.kubelet_version.startswith("v1.33."), node.metadata.name
        assert info.os_image.startswith("Amazon Linux 2023"), node.metadata.name
    pending = [
        p.metadata.name
        for p in c.core.list_pod_for_all_namespaces().items
        if p.status.phase != "Running"
    ]
    assert pending == []
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []


@pytest.fixture
def modern32(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scenario = yaml.safe_load(SHIPPED.read_text())
    scenario.update(name="move133", kubernetes="1.32")
    scenario["target"] = {"kubernetes": "1.33", "cni": "v1.20.1"}
    path = tmp_path_factory.mktemp("scenario") / "move133.yaml"
    path.write_text(yaml.safe_dump(scenario))
    yield from sandbox(tmp_path_factory, str(path), Cluster)


def _second_drain(event: dict[str, object]) -> bool:
    wave = event.get("wave")
    return (
        event["kind"] == "wave"
        and event.get("step") == "nodegroup-roll-general"
        and isinstance(wave, dict)
        and wave["k"] == 2
    )


def test_a_move_killed_mid_drain_resumes_and_retires_the_old_group(modern32: Cluster) -> None:
    c = modern32
    _, _, watcher = c.planned(PDBS)
    code, _, _ = c.apply(_second_drain)  # killed between two drains of the old group
    assert code != 0
    groups = c.eks.list_nodegroups(clusterName="move133")["nodegroups"]
    assert sorted(groups) == ["general", "general-al2023"]

    code, events, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert events[0]["message"].startswith("resuming after")
    assert c.eks.list_nodegroups(clusterName="move133")["nodegroups"] == ["general-al2023"]
    stack = c.cfn.describe_stack_resources(StackName="move133-general")["StackResources"]
    assert {r["LogicalResourceId"] for r in stack} == {"NodeInstanceRole", "NodegroupAL2023"}
    for node in c.core.list_node().items:
        assert not node.spec.unschedulable, node.metadata.name
        assert node.status.node_info.os_image.startswith("Amazon Linux 2023")
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
