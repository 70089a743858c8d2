"""``discover`` on the twin reports EKS managed add-ons (configurationValues byte for byte),
Fargate profiles and Karpenter NodePools/EC2NodeClasses served through CRDs, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.adapters.discover import discover
from upgrader.config import load
from upgrader.model.state import ClusterState
from upgrader.planner.context import addon_rows
from upgrader.sandbox import control

pytestmark = pytest.mark.integration

# odd spacing, key order and a YAML document: what the user wrote must come back unchanged
CNI_VALUES = (
    '{"env": {"WARM_PREFIX_TARGET":"1",  "WARM_ENI_TARGET": "1"},\n "enableNetworkPolicy":"true"}'
)
COREDNS_VALUES = "replicaCount: 3\nnodeSelector:\n  role: system\n"


def _crd(group: str, version: str, kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Cluster",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


class Modern(SandboxClients):
    def __init__(self, running: control.Running) -> None:
        super().__init__(running)
        name = load(running.config).cluster
        self.eks.create_addon(clusterName=name, addonName="vpc-cni", configurationValues=CNI_VALUES)
        self.eks.create_addon(clusterName=name, addonName="kube-proxy")
        self.eks.create_addon(
            clusterName=name, addonName="coredns", configurationValues=COREDNS_VALUES
        )
        subnets = self.eks.describe_cluster(name=name)["cluster"]["resourcesVpcConfig"]["subnetIds"]
        self.eks.create_fargate_profile(
            fargateProfileName="batch",
            clusterName=name,
            podExecutionRoleArn="arn:aws:iam::123456789012:role/fargate",
            subnets=subnets[:2],
            selectors=[{"namespace": "jobs", "labels": {"tier": "batch"}}],
        )
        for crd in (
            _crd("karpenter.sh", "v1", "NodePool", "nodepools"),
            _crd("karpenter.k8s.aws", "v1", "EC2NodeClass", "ec2nodeclasses"),
        ):
            self.kube_request(
                "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd
            )
        self.kube_request(
            "POST",
            "/apis/karpenter.k8s.aws/v1/ec2nodeclasses",
            {
                "apiVersion": "karpenter.k8s.aws/v1",
                "kind": "EC2NodeClass",
                "metadata": {"name": "default"},
                "spec": {"amiSelectorTerms": [{"alias": "al2023@latest"}]},
            },
        )
        self.kube_request(
            "POST",
            "/apis/karpenter.sh/v1/nodepools",
            {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodePool",
                "metadata": {"name": "default"},
                "spec": {
                    "template": {"spec": {"nodeClassRef": {"group": "karpenter.k8s.aws",
                                                            "kind": "EC2NodeClass",
                                                            "name": "default"}}},
                    "disruption": {"budgets": [{"nodes": "20%"}]},
                },
            },
        )  # fmt: skip
        self.config = load(running.config)

    def discover(self) -> ClusterState:
        with self.environment():
            return discover(self.config)


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Modern]:
    yield from sandbox(tmp_path_factory, "modern", Modern)


@pytest.fixture(scope="module")
def calls(modern: Modern) -> tuple[ClusterState, list[dict[str, Any]], list[dict[str, Any]]]:
    aws_before, kube_before = len(modern.aws_requests()), len(modern.kube_requests())
    state = modern.discover()
    return state, modern.aws_requests()[aws_before:], modern.kube_requests()[kube_before:]


def test_managed_addons_with_their_configuration_values_unchanged(
    calls: tuple[ClusterState, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    state = calls[0]
    found = {a.name: a for a in state.addons}
    assert sorted(found) == ["coredns", "kube-proxy", "vpc-cni"]
    assert found["vpc-cni"].configuration_values == CNI_VALUES
    assert found["coredns"].configuration_values == COREDNS_VALUES
    assert found["kube-proxy"].configuration_values is None
    assert found["vpc-cni"].version.endswith("-eksbuild.1")
    assert all(a.stack is None for a in found.values())  # none is declared in a stack


def test_fargate_profiles_and_karpenter_objects(
    calls: tuple[ClusterState, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    state = calls[0]
    (profile,) = state.fargate_profiles
    assert profile.name == "batch"
    assert [s.shown for s in profile.selectors] == ["jobs (tier=batch)"]
    assert len(profile.subnet_ids) == 2
    assert [(p.name, p.api_version, p.node_class, p.budgets) for p in state.nodepools] == [
        ("default", "karpenter.sh/v1", "default", ("20%",))
    ]
    (nodeclass,) = state.nodeclasses
    assert nodeclass.ami_selectors == ("alias=al2023@latest",) and nodeclass.follows_control_plane


def test_discovery_makes_no_write_call(
    calls: tuple[ClusterState, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    _, aws_calls, kube_calls = calls
    actions = {c["action"] for c in aws_calls}
    assert {
        "ListAddons",
        "DescribeAddon",
        "ListFargateProfiles",
        "DescribeFargateProfile",
    } <= actions
    assert [c["action"] for c in aws_calls if c["mutating"]] == []
    assert {c["method"] for c in kube_calls} == {"GET"}


def test_plan_context_lists_the_managed_addons(
    calls: tuple[ClusterState, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    rows = {r.name: r for r in addon_rows(calls[0])}
    assert [(n, r.managed, r.configured) for n, r in sorted(rows.items())] == [
        ("coredns", True, True),
        ("kube-proxy", True, False),
        ("vpc-cni", True, True),
    ]
