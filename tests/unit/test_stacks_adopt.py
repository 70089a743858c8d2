"""Adopting existing stacks: AWS's 2019 templates and the project's own builders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stack_lint import check_eks_versions
from upgrader.errors import BadInputError
from upgrader_stacks import (
    ControlPlaneSpec,
    ManagedNodegroupSpec,
    SelfManagedNodegroupSpec,
    adopt,
    control_plane_template,
    managed_nodegroup_template,
    render,
    self_managed_nodegroup_template,
)
from upgrader_stacks.cfn_yaml import load_template

NODEGROUP_2019 = "amazon-eks-ami/amazon-eks-nodegroup.yaml"
CLUSTER_2019 = "amazon-eks-refarch-cloudformation/cloudformation/cluster.yaml"


def test_2019_node_group_ami_parameters_and_launch_configuration(upstream: Path) -> None:
    report = adopt((upstream / NODEGROUP_2019).read_text())
    assert report.clusters == ()
    assert report.managed_nodegroups == ()
    (group,) = report.self_managed_groups
    assert group.resource == "NodeGroup"
    assert (group.launch, group.launch_resource) == ("launch-configuration", "NodeLaunchConfig")
    assert group.image_id_parameter == "NodeImageId"
    assert group.image_ssm_parameter == "NodeImageIdSSMParam"
    assert group.image_ssm_default == (
        "/aws/service/eks/optimized-ami/1.14/amazon-linux-2/recommended/image_id"
    )
    assert group.desired_capacity == "Ref NodeAutoScalingGroupDesiredCapacity"


def test_2019_node_group_rolling_update_would_replace_nodes_without_draining(
    upstream: Path,
) -> None:
    (group,) = adopt((upstream / NODEGROUP_2019).read_text()).self_managed_groups
    policy = group.update_policy
    assert policy.rolling_update
    assert policy.max_batch_size == "1"
    assert policy.min_instances_in_service == "Ref NodeAutoScalingGroupDesiredCapacity"
    assert policy.pause_time == "PT5M"
    assert not policy.ignore_unmodified_group_sizes
    assert "1 at a time" in policy.consequence
    assert "WITHOUT draining" in policy.consequence


def test_2019_node_group_warnings_name_the_launch_configuration_and_the_rolling_update(
    upstream: Path,
) -> None:
    warnings = adopt((upstream / NODEGROUP_2019).read_text()).warnings
    assert len(warnings) == 2
    assert "launch configuration" in warnings[0]
    assert "launch template" in warnings[0]
    assert "WITHOUT draining" in warnings[1]


def test_2019_cluster_version_parameter_and_its_limits(upstream: Path) -> None:
    report = adopt((upstream / CLUSTER_2019).read_text())
    (cluster,) = report.clusters
    assert (cluster.resource, cluster.parameter, cluster.default) == (
        "EKSCluster",
        "ClusterVersion",
        "latest",
    )
    assert cluster.allowed_values == ("1.10", "1.11", "1.12", "1.13", "latest")
    assert cluster.literals == ("1.13",)  # the "latest" branch of Fn::If
    assert cluster.accepts("1.13")
    assert not cluster.accepts("1.14")
    assert report.self_managed_groups == ()
    assert any("AllowedValues" in w and "template change" in w for w in report.warnings)
    assert any("literal 1.13" in w for w in report.warnings)


def test_own_templates_need_no_template_change() -> None:
    subnets = ("subnet-0a1b2c3d4e5f60718",)
    plane = adopt(
        render(
            control_plane_template(
                ControlPlaneSpec(cluster_name="c", kubernetes_version="1.12", subnet_ids=subnets)
            )
        )
    )
    assert plane.warnings == ()
    assert plane.clusters[0].parameter == "KubernetesVersion"
    assert plane.clusters[0].accepts("1.35")

    nodes = adopt(
        render(
            self_managed_nodegroup_template(
                SelfManagedNodegroupSpec(
                    cluster_name="c",
                    nodegroup_name="n",
                    kubernetes_version="1.12",
                    vpc_id="vpc-0123456789abcdef0",
                    subnet_ids=subnets,
                    instance_type="m5.large",
                    min_size=1,
                    desired_size=1,
                    max_size=2,
                )
            )
        )
    )
    assert nodes.warnings == ()
    (group,) = nodes.self_managed_groups
    assert group.launch == "launch-template"
    assert group.launch_template_version == "GetAtt NodeLaunchTemplate.LatestVersionNumber"
    assert not group.update_policy.rolling_update
    assert group.update_policy.ignore_unmodified_group_sizes
    assert "running nodes stay" in group.update_policy.consequence

    managed = adopt(
        render(
            managed_nodegroup_template(
                ManagedNodegroupSpec(
                    cluster_name="c",
                    nodegroup_name="m",
                    kubernetes_version="1.30",
                    subnet_ids=subnets,
                    instance_type="m5.large",
                    min_size=1,
                    desired_size=1,
                    max_size=2,
                )
            )
        )
    )
    (source,) = managed.managed_nodegroups
    assert source.accepts("1.32")
    assert not source.accepts("1.33")  # amazon-linux-2 AMIs end at 1.32
    assert len(managed.warnings) == 1
    assert "AllowedValues" in managed.warnings[0]


def test_pinned_launch_template_version_and_hard_coded_ami_are_reported() -> None:
    body = """
Resources:
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData: {ImageId: ami-0123456789abcdef0, InstanceType: m5.large}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      LaunchTemplate: {LaunchTemplateId: !Ref Lt, Version: "3"}
      MinSize: "1"
      MaxSize: "2"
    UpdatePolicy:
      AutoScalingReplacingUpdate: {WillReplace: true}
"""
    report = adopt(body)
    (group,) = report.self_managed_groups
    assert group.image_literals == ("ami-0123456789abcdef0",)
    assert group.update_policy.replacing_update
    assert len(report.warnings) == 3
    assert "new Auto Scaling group" in report.warnings[0]
    assert "AMI is not a parameter" in report.warnings[1]
    assert "pins launch template version 3" in report.warnings[2]


@pytest.mark.parametrize("body", ["Resources: [", "just text", "Parameters: {}"])
def test_unreadable_templates_are_bad_input(body: str) -> None:
    with pytest.raises(BadInputError, match="stack template"):
        adopt(body)


def test_short_tags_load_in_their_long_form() -> None:
    loaded = load_template(
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "A: !GetAtt Role.Arn\n"
        "B: !Sub '${AWS::StackName}-x'\n"
        "C: !If [Cond, !Ref P, !Ref 'AWS::NoValue']\n"
        "D: !Base64 {'Fn::Sub': 'x'}\n"
        "E: !Condition Cond\n"
    )
    assert loaded == {
        "AWSTemplateFormatVersion": "2010-09-09",
        "A": {"Fn::GetAtt": ["Role", "Arn"]},
        "B": {"Fn::Sub": "${AWS::StackName}-x"},
        "C": {"Fn::If": ["Cond", {"Ref": "P"}, {"Ref": "AWS::NoValue"}]},
        "D": {"Fn::Base64": {"Fn::Sub": "x"}},
        "E": {"Condition": "Cond"},
    }


def test_check_eks_versions_reads_the_2019_cluster_yaml(upstream: Path) -> None:
    problems = check_eks_versions((upstream / CLUSTER_2019).read_text())
    flagged = [p.split(": ", 1)[1].split(" is not")[0] for p in problems]
    assert flagged == ["'latest'", "'1.10'", "'1.11'", "'latest'", "1.13"]
