"""EKS add-ons and insights answer like AWS (boto3 and the AWS CLI over real HTTP)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from moto.eks.models import eks_backends

from ekstwin.aws import eks_insights
from ekstwin.aws.state import require
from tests.twin.integration.test_aws_fidelity_ssm_eks import aws_cli
from tests.twin.integration.test_aws_twin import NODE_ROLE, ROLE, World

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = World()
    yield made
    made.twin.stop()


def make_cluster(world: World, name: str, version: str) -> None:
    a, b = world.subnets()
    world.client("eks").create_cluster(
        name=name, version=version, roleArn=ROLE, resourcesVpcConfig={"subnetIds": [a, b]}
    )


def test_addon_versions_come_from_the_catalog(world: World) -> None:
    eks = world.client("eks")
    found = eks.describe_addon_versions(kubernetesVersion="1.29", addonName="vpc-cni")["addons"]
    assert [a["addonName"] for a in found] == ["vpc-cni"]
    assert found[0]["type"] == "networking"
    versions = {v["addonVersion"]: v["compatibilities"] for v in found[0]["addonVersions"]}
    assert versions["v1.20.1-eksbuild.1"] == [
        {"clusterVersion": "1.29", "platformVersions": ["*"], "defaultVersion": True}
    ]
    proxy = eks.describe_addon_versions(kubernetesVersion="1.29", addonName="kube-proxy")
    only = proxy["addons"][0]["addonVersions"]
    assert [v["addonVersion"] for v in only] == ["v1.29.15-eksbuild.16"]
    every = eks.describe_addon_versions(kubernetesVersion="1.30")["addons"]
    assert {a["addonName"] for a in every} == {
        "vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver",
    }  # fmt: skip
    for addon in every:
        defaults = [
            v["addonVersion"]
            for v in addon["addonVersions"]
            if v["compatibilities"][0]["defaultVersion"]
        ]
        assert len(defaults) == 1, addon["addonName"]
    assert eks.describe_addon_versions(addonName="nope")["addons"] == []


def test_addon_lifecycle_is_a_series_of_updates(world: World) -> None:
    eks = world.client("eks")
    make_cluster(world, "addons", "1.29")
    assert eks.list_addons(clusterName="addons")["addons"] == []
    made = eks.create_addon(clusterName="addons", addonName="coredns", resolveConflicts="OVERWRITE")
    assert made["addon"]["status"] == "CREATING"
    assert made["addon"]["addonVersion"] == "v1.11.4-eksbuild.24"
    assert eks.list_addons(clusterName="addons")["addons"] == ["coredns"]
    created = eks.list_updates(name="addons", addonName="coredns")["updateIds"]
    assert len(created) == 1
    world.later(61)
    assert eks.describe_addon(clusterName="addons", addonName="coredns")["addon"]["status"] == (
        "ACTIVE"
    )
    with pytest.raises(ClientError) as again:
        eks.create_addon(clusterName="addons", addonName="coredns")
    assert again.value.response["Error"]["Code"] == "ResourceInUseException"

    update = eks.update_addon(
        clusterName="addons",
        addonName="coredns",
        addonVersion="v1.11.4-eksbuild.24",
        resolveConflicts="PRESERVE",
        configurationValues='{"replicaCount": 3}',
    )["update"]
    assert update["type"] == "AddonUpdate"
    assert update["status"] == "InProgress"
    assert {p["type"]: p["value"] for p in update["params"]} == {
        "AddonVersion": "v1.11.4-eksbuild.24",
        "ResolveConflicts": "PRESERVE",
        "ConfigurationValues": '{"replicaCount": 3}',
    }
    addon = eks.describe_addon(clusterName="addons", addonName="coredns")["addon"]
    assert addon["status"] == "UPDATING"
    assert addon["configurationValues"] == '{"replicaCount": 3}'
    # cluster updates do not list add-on updates
    assert eks.list_updates(name="addons")["updateIds"] == []
    world.later(61)
    done = eks.describe_update(name="addons", updateId=update["id"], addonName="coredns")
    assert done["update"]["status"] == "Successful"
    assert eks.describe_addon(clusterName="addons", addonName="coredns")["addon"]["status"] == (
        "ACTIVE"
    )

    assert eks.delete_addon(clusterName="addons", addonName="coredns")["addon"]["status"] == (
        "DELETING"
    )
    world.later(61)
    assert eks.list_addons(clusterName="addons")["addons"] == []
    assert len(eks.list_updates(name="addons", addonName="coredns")["updateIds"]) == 3
    with pytest.raises(ClientError) as gone:
        eks.describe_addon(clusterName="addons", addonName="coredns")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_incompatible_versions_and_bad_configuration_are_refused(world: World) -> None:
    eks = world.client("eks")
    make_cluster(world, "strict", "1.29")
    with pytest.raises(ClientError) as old:
        eks.create_addon(
            clusterName="strict", addonName="kube-proxy", addonVersion="v1.24.17-eksbuild.19"
        )
    assert old.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "not supported in 1.29" in old.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unknown:
        eks.create_addon(
            clusterName="strict",
            addonName="vpc-cni",
            configurationValues=json.dumps({"env": {"WARM_IP_TARGET": 5}, "bogus": 1}),
        )
    assert unknown.value.response["Error"]["Code"] == "InvalidParameterException"
    assert unknown.value.response["Error"]["Message"] == (
        "ConfigurationValue provided in request is not supported: Json schema validation "
        "failed with error: [$.env.WARM_IP_TARGET: integer found, string expected, "
        "$.bogus: is not defined in the schema and the schema does not allow additional "
        "properties]"
    )
    ok = eks.create_addon(
        clusterName="strict",
        addonName="vpc-cni",
        configurationValues="env:\n  ENABLE_PREFIX_DELEGATION: 'true'\n",
    )
    assert ok["addon"]["addonVersion"] == "v1.20.1-eksbuild.1"
    with pytest.raises(ClientError) as busy:
        eks.update_addon(clusterName="strict", addonName="vpc-cni")
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"


def test_configuration_schema_is_json_schema(world: World) -> None:
    eks = world.client("eks")
    found = eks.describe_addon_configuration(addonName="vpc-cni", addonVersion="v1.20.1-eksbuild.1")
    schema = json.loads(found["configurationSchema"])
    assert schema["additionalProperties"] is False
    assert "WARM_IP_TARGET" in schema["properties"]["env"]["properties"]
    with pytest.raises(ClientError) as missing:
        eks.describe_addon_configuration(addonName="vpc-cni", addonVersion="v0.0.1")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_deprecated_api_insight_follows_reported_usage(world: World) -> None:
    eks = world.client("eks")
    make_cluster(world, "insightful", "1.28")
    listed = eks.list_insights(
        clusterName="insightful",
        filter={"categories": ["UPGRADE_READINESS"], "kubernetesVersions": ["1.29"]},
    )["insights"]
    names = {i["name"]: i for i in listed}
    assert set(names) == {"Deprecated APIs removed in Kubernetes v1.29", "Kubelet version skew"}
    deprecated = names["Deprecated APIs removed in Kubernetes v1.29"]
    assert deprecated["insightStatus"]["status"] == "PASSING"
    with world.twin.lock:
        eks_insights.report_deprecated_api_usage(
            "insightful", "flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", requests=7
        )
    insight = eks.describe_insight(clusterName="insightful", id=deprecated["id"])["insight"]
    assert insight["insightStatus"]["status"] == "ERROR"
    assert insight["recommendation"].endswith("before upgrading to Kubernetes v1.29.")
    detail = insight["categorySpecificSummary"]["deprecationDetails"][0]
    assert detail["usage"] == "/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas"
    assert detail["replacedWith"] == "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas"
    assert detail["clientStats"][0]["numberOfRequestsLast30Days"] == 7
    assert (
        eks.list_insights(clusterName="insightful", filter={"kubernetesVersions": ["1.30"]})[
            "insights"
        ]
        == []
    )


def test_kubelet_skew_insight_follows_the_skew_policy(world: World) -> None:
    eks = world.client("eks")
    a, b = world.subnets()
    eks.create_cluster(
        name="skewed", version="1.26", roleArn=ROLE, resourcesVpcConfig={"subnetIds": [a, b]}
    )
    eks.create_nodegroup(
        clusterName="skewed", nodegroupName="ng", nodeRole=NODE_ROLE, subnets=[a, b]
    )

    def skew() -> str:
        found = eks.list_insights(clusterName="skewed")["insights"]
        status: str = next(i for i in found if i["name"] == "Kubelet version skew")[
            "insightStatus"
        ]["status"]
        return status

    assert skew() == "PASSING"
    backend = eks_backends[require().account_id][require().region]
    cluster = backend.clusters["skewed"]
    with world.twin.lock:
        cluster.version = "1.27"
    assert skew() == "WARNING"  # nodes 1.26 under 1.27; 1.28 allows them 2 minors behind
    with world.twin.lock:
        cluster.version = "1.28"
    assert skew() == "WARNING"  # 1.29 allows 3 minors: 1.26 nodes would be 3 behind
    with world.twin.lock:
        cluster.nodegroups["ng"].version = "1.24"
    assert skew() == "ERROR"  # 4 behind 1.28 already
    with world.twin.lock:
        cluster.version = "1.26"
        cluster.nodegroups["ng"].version = "1.25"
    assert skew() == "WARNING"
    with world.twin.lock:
        cluster.nodegroups["ng"].version = "1.24"
    assert skew() == "ERROR"  # 1.27 allows 2 minors: 1.24 nodes would be 3 behind
    found = eks.list_insights(clusterName="skewed", filter={"statuses": ["ERROR"]})["insights"]
    insight = eks.describe_insight(clusterName="skewed", id=found[0]["id"])["insight"]
    assert insight["resources"][0]["arn"].endswith(
        "/ng/" + insight["resources"][0]["arn"].rsplit("/", 1)[-1]
    )
    assert insight["resources"][0]["insightStatus"]["status"] == "ERROR"


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli_reads_addons(world: World) -> None:
    make_cluster(world, "cli-addons", "1.30")
    world.client("eks").create_addon(clusterName="cli-addons", addonName="kube-proxy")
    listed = aws_cli(world, "eks", "list-addons", "--cluster-name", "cli-addons")
    assert listed == {"addons": ["kube-proxy"]}
    versions = aws_cli(
        world, "eks", "describe-addon-versions", "--kubernetes-version", "1.30",
        "--addon-name", "kube-proxy",
    )  # fmt: skip
    assert isinstance(versions, dict)
    assert versions["addons"][0]["addonVersions"][0]["addonVersion"] == "v1.30.14-eksbuild.28"
