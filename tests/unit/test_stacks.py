"""Stack builders: structure, catalog-driven values, goldens, cfn-lint and the EKS version check.

Regenerate the goldens after an intended change with:
    UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_stacks.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack_lint import Finding, check_eks_versions, lint
from upgrader.catalog.versions import catalog
from upgrader.errors import BadInputError, VersionError
from upgrader_stacks.control_plane import control_plane_template
from upgrader_stacks.managed import managed_nodegroup_template
from upgrader_stacks.render import render
from upgrader_stacks.self_managed import self_managed_nodegroup_template
from upgrader_stacks.specs import ControlPlaneSpec, ManagedNodegroupSpec, SelfManagedNodegroupSpec

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "stacks"
REGEN = os.environ.get("UPGRADER_REGEN_GOLDEN") == "1"
SUBNETS = ("subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788")
VPC = "vpc-0123456789abcdef0"


def control_plane(version: str, groups: tuple[str, ...] = ()) -> ControlPlaneSpec:
    return ControlPlaneSpec(
        cluster_name="staging",
        kubernetes_version=version,
        subnet_ids=SUBNETS,
        security_group_ids=groups,
    )


def self_managed(version: str, **extra: Any) -> SelfManagedNodegroupSpec:
    return SelfManagedNodegroupSpec(
        cluster_name="staging",
        nodegroup_name="workers",
        kubernetes_version=version,
        vpc_id=VPC,
        subnet_ids=SUBNETS,
        instance_type="r5.xlarge",
        min_size=2,
        desired_size=2,
        max_size=4,
        **extra,
    )


def managed(version: str, **extra: Any) -> ManagedNodegroupSpec:
    return ManagedNodegroupSpec(
        cluster_name="staging",
        nodegroup_name="managed",
        kubernetes_version=version,
        subnet_ids=SUBNETS,
        instance_type="m5.large",
        min_size=1,
        desired_size=2,
        max_size=4,
        **extra,
    )


# Every builder with a few specs: old (1.12/1.14) and new (1.32, and AL2023-only 1.34).
CASES: dict[str, str] = {
    "control-plane-1.12": render(control_plane_template(control_plane("1.12"))),
    "control-plane-1.32": render(
        control_plane_template(control_plane("1.32", ("sg-0123456789abcdef0",)))
    ),
    "self-managed-1.12": render(
        self_managed_nodegroup_template(
            self_managed(
                "1.12", max_pods=58, control_plane_security_group_id="sg-0aaa1111bbbb2222c"
            )
        )
    ),
    "self-managed-1.34-al2023": render(self_managed_nodegroup_template(self_managed("1.34"))),
    "managed-1.14": render(managed_nodegroup_template(managed("1.14", labels=(("role", "web"),)))),
    "managed-1.34": render(managed_nodegroup_template(managed("1.34"))),
}


def resources_of(body: str, kind: str) -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(body)["Resources"]
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def only(body: str, kind: str) -> dict[str, Any]:
    (resource,) = resources_of(body, kind).values()
    found: dict[str, Any] = resource
    return found


# cfn-lint: once per template for the whole module (about half a second each).


@pytest.fixture(scope="module")
def lint_results() -> dict[str, list[Finding]]:
    return {name: lint(body) for name, body in CASES.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cfn_lint_reports_nothing(lint_results: dict[str, list[Finding]], name: str) -> None:
    assert [str(f) for f in lint_results[name]] == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_eks_version_is_known_to_the_catalog(name: str) -> None:
    assert check_eks_versions(CASES[name]) == []


def test_lint_reports_a_version_default_outside_allowed_values() -> None:
    body = json.loads(CASES["control-plane-1.12"])
    body["Parameters"]["KubernetesVersion"]["Default"] = "1.99"
    findings = lint(json.dumps(body))
    assert any(f.rule == "E2015" and f.severity == "error" for f in findings), findings


def test_check_eks_versions_rejects_unknown_default_allowed_value_and_literal() -> None:
    body = json.loads(CASES["control-plane-1.12"])
    body["Parameters"]["KubernetesVersion"]["AllowedValues"].append("1.99")
    problems = check_eks_versions(body)
    assert len(problems) == 1
    assert "AllowedValues: '1.99'" in problems[0]
    assert problems[0].startswith("Cluster (AWS::EKS::Cluster)")

    body = json.loads(CASES["managed-1.14"])
    body["Resources"]["Nodegroup"]["Properties"]["Version"] = "1.99"
    assert check_eks_versions(body) == [
        "Nodegroup (AWS::EKS::Nodegroup) Version literal: '1.99' is not a Kubernetes minor the "
        'version catalog knows (write it as a string like "1.13")'
    ]


def test_check_eks_versions_flags_yaml_floats_and_patch_versions() -> None:
    body = json.loads(CASES["control-plane-1.12"])
    body["Resources"]["Cluster"]["Properties"]["Version"] = {
        "Fn::If": ["HasSecurityGroupIds", 1.13, "1.13.2"]
    }
    problems = check_eks_versions(body)
    assert len(problems) == 2
    assert "Version literal: 1.13 is not" in problems[0]
    assert "Version literal: '1.13.2' is not" in problems[1]


# Goldens


GOLDEN_CASES = {
    "control_plane.json": "control-plane-1.12",
    "self_managed.json": "self-managed-1.12",
    "self_managed_al2023.json": "self-managed-1.34-al2023",
    "managed.json": "managed-1.14",
}


@pytest.mark.parametrize("file_name", sorted(GOLDEN_CASES))
def test_rendering_matches_golden(file_name: str) -> None:
    path = GOLDEN / file_name
    body = CASES[GOLDEN_CASES[file_name]]
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    assert path.read_text() == body, (
        f"{path} differs; if intended: UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_stacks.py"
    )


def test_rendering_is_byte_stable_across_builds() -> None:
    assert render(control_plane_template(control_plane("1.12"))) == CASES["control-plane-1.12"]
    assert (
        render(self_managed_nodegroup_template(self_managed("1.34")))
        == (CASES["self-managed-1.34-al2023"])
    )


# Control plane


def test_control_plane_version_is_a_parameter_allowing_every_catalog_minor() -> None:
    body = json.loads(CASES["control-plane-1.12"])
    parameter = body["Parameters"]["KubernetesVersion"]
    assert parameter["Default"] == "1.12"
    assert parameter["AllowedValues"] == [v.minor_str for v in catalog().kubernetes_versions()]
    cluster = only(CASES["control-plane-1.12"], "AWS::EKS::Cluster")
    assert cluster["Properties"]["Version"] == {"Ref": "KubernetesVersion"}
    assert cluster["Properties"]["Name"] == "staging"
    assert sorted(body["Outputs"]) == [
        "CertificateAuthorityData",
        "ClusterArn",
        "ClusterName",
        "Endpoint",
        "KubernetesVersion",
    ]
    assert body["Parameters"]["SubnetIds"]["Default"] == ",".join(SUBNETS)


def test_control_plane_role_is_assumed_by_eks_with_the_cluster_policy() -> None:
    role = only(CASES["control-plane-1.32"], "AWS::IAM::Role")["Properties"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": ["eks.amazonaws.com"]}
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonEKSClusterPolicy"}
    ]
    params = json.loads(CASES["control-plane-1.32"])["Parameters"]
    assert params["SecurityGroupIds"]["Default"] == "sg-0123456789abcdef0"


def test_unknown_kubernetes_version_is_refused_before_building() -> None:
    with pytest.raises(VersionError, match=r"1\.99"):
        control_plane("1.99")


# Self-managed node group


def test_self_managed_uses_a_launch_template_never_a_launch_configuration() -> None:
    body = CASES["self-managed-1.12"]
    assert resources_of(body, "AWS::AutoScaling::LaunchConfiguration") == {}
    asg = only(body, "AWS::AutoScaling::AutoScalingGroup")
    assert asg["Properties"]["LaunchTemplate"] == {
        "LaunchTemplateId": {"Ref": "NodeLaunchTemplate"},
        "Version": {"Fn::GetAtt": ["NodeLaunchTemplate", "LatestVersionNumber"]},
    }
    assert asg["Properties"]["VPCZoneIdentifier"] == {"Ref": "Subnets"}
    assert asg["Properties"]["DesiredCapacity"] == {"Ref": "NodeAutoScalingGroupDesiredCapacity"}


def test_self_managed_update_policy_leaves_rolling_to_the_upgrader() -> None:
    asg = only(CASES["self-managed-1.12"], "AWS::AutoScaling::AutoScalingGroup")
    assert asg["UpdatePolicy"] == {
        "AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": True}
    }


def test_self_managed_tags_propagate_name_and_cluster_ownership() -> None:
    asg = only(CASES["self-managed-1.12"], "AWS::AutoScaling::AutoScalingGroup")
    assert asg["Properties"]["Tags"] == [
        {
            "Key": "Name",
            "PropagateAtLaunch": True,
            "Value": {"Fn::Sub": "${ClusterName}-${NodeGroupName}-Node"},
        },
        {"Key": "kubernetes.io/cluster/staging", "PropagateAtLaunch": True, "Value": "owned"},
    ]


@pytest.mark.parametrize(
    ("case", "version", "family"),
    [("self-managed-1.12", "1.12", "amazon-linux-2"),
     ("self-managed-1.34-al2023", "1.34", "amazon-linux-2023")],
)  # fmt: skip
def test_self_managed_image_comes_from_the_catalog_ssm_path_or_the_override(
    case: str, version: str, family: str
) -> None:
    body = json.loads(CASES[case])
    ssm = body["Parameters"]["NodeImageIdSSMParam"]
    assert ssm["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert ssm["Default"] == catalog().kubernetes(version).ami_ssm_parameter(family)
    assert body["Parameters"]["NodeImageId"]["Default"] == ""
    data = only(CASES[case], "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == {
        "Fn::If": ["HasNodeImageId", {"Ref": "NodeImageId"}, {"Ref": "NodeImageIdSSMParam"}]
    }


def test_self_managed_al2_user_data_runs_bootstrap_with_max_pods() -> None:
    body = json.loads(CASES["self-managed-1.12"])
    data = only(CASES["self-managed-1.12"], "AWS::EC2::LaunchTemplate")["Properties"]
    script = data["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "/etc/eks/bootstrap.sh ${ClusterName} ${BootstrapArguments}" in script
    assert body["Parameters"]["BootstrapArguments"]["Default"] == (
        "--use-max-pods false --kubelet-extra-args '--max-pods=58'"
    )
    assert body["Parameters"]["ClusterName"]["Default"] == "staging"


def test_self_managed_al2023_user_data_is_a_nodeadm_node_config() -> None:
    body = json.loads(CASES["self-managed-1.34-al2023"])
    data = only(CASES["self-managed-1.34-al2023"], "AWS::EC2::LaunchTemplate")["Properties"]
    script = data["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "bootstrap.sh" not in script
    assert "kind: NodeConfig" in script
    assert "apiServerEndpoint: ${ClusterEndpoint}" in script
    assert "BootstrapArguments" not in body["Parameters"]
    with_pods = self_managed_nodegroup_template(self_managed("1.34", max_pods=110)).to_dict()
    lt = with_pods["Resources"]["NodeLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert "maxPods: 110" in lt["UserData"]["Fn::Base64"]["Fn::Sub"]


def test_self_managed_node_role_has_the_three_node_policies() -> None:
    role = only(CASES["self-managed-1.12"], "AWS::IAM::Role")["Properties"]
    names = [arn["Fn::Sub"].rsplit("/", 1)[1] for arn in role["ManagedPolicyArns"]]
    assert names == [
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    ]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": ["ec2.amazonaws.com"]
    }


def test_control_plane_security_group_rules_only_when_given() -> None:
    with_plane = resources_of(CASES["self-managed-1.12"], "AWS::EC2::SecurityGroupIngress")
    without = resources_of(CASES["self-managed-1.34-al2023"], "AWS::EC2::SecurityGroupIngress")
    assert len(with_plane) == 4
    assert list(without) == ["NodeSecurityGroupIngress"]


@pytest.mark.parametrize(
    ("sizes", "extra"),
    [((3, 2, 4), {}), ((0, 0, 0), {}), ((1, 2, 4), {"max_pods": 0}),
     ((1, 2, 4), {"ami_family": "amazon-linux-2023"})],
)  # fmt: skip
def test_bad_self_managed_specs_are_refused(
    sizes: tuple[int, int, int], extra: dict[str, Any]
) -> None:
    low, desired, high = sizes
    with pytest.raises(BadInputError):
        SelfManagedNodegroupSpec(
            cluster_name="c", nodegroup_name="n", kubernetes_version="1.12", vpc_id=VPC,
            subnet_ids=SUBNETS, instance_type="m5.large", min_size=low, desired_size=desired,
            max_size=high, **extra,
        )  # fmt: skip


# Managed node group


@pytest.mark.parametrize(
    ("version", "ami_type", "first", "last"),
    [("1.14", "AL2_x86_64", "1.14", "1.32"),
     ("1.32", "AL2_x86_64", "1.14", "1.32"),
     ("1.34", "AL2023_x86_64_STANDARD", "1.23", "1.35")],
)  # fmt: skip
def test_managed_ami_type_and_allowed_versions_follow_the_catalog(
    version: str, ami_type: str, first: str, last: str
) -> None:
    body = json.loads(render(managed_nodegroup_template(managed(version))))
    group = body["Resources"]["Nodegroup"]["Properties"]
    assert group["AmiType"] == ami_type
    assert group["Version"] == {"Ref": "KubernetesVersion"}
    allowed = body["Parameters"]["KubernetesVersion"]["AllowedValues"]
    assert (allowed[0], allowed[-1], body["Parameters"]["KubernetesVersion"]["Default"]) == (
        first,
        last,
        version,
    )


def test_managed_nodegroup_properties() -> None:
    group = only(CASES["managed-1.14"], "AWS::EKS::Nodegroup")["Properties"]
    assert group["ClusterName"] == "staging"
    assert group["NodegroupName"] == "managed"
    assert group["UpdateConfig"] == {"MaxUnavailable": 1}
    assert group["Labels"] == {"role": "web"}
    assert group["ScalingConfig"] == {
        "MinSize": {"Ref": "NodeGroupMinSize"},
        "DesiredSize": {"Ref": "NodeGroupDesiredSize"},
        "MaxSize": {"Ref": "NodeGroupMaxSize"},
    }
    assert group["NodeRole"] == {"Fn::GetAtt": ["NodeInstanceRole", "Arn"]}
    assert "ForceUpdateEnabled" not in group


@pytest.mark.parametrize(
    ("version", "extra", "message"),
    [("1.13", {}, "1.14 or later"),
     ("1.33", {"ami_family": "amazon-linux-2"}, "no amazon-linux-2 AMI"),
     ("1.20", {"max_unavailable": 0}, "never update")],
)  # fmt: skip
def test_bad_managed_specs_are_refused(version: str, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        managed(version, **extra)
