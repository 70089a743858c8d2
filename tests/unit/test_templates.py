"""The reader of the user's templates (upgrader.planner.templates): AWS's 2019 templates
and the project's own builders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.stack_lint import check_eks_versions
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import dump_template, load_template
from upgrader.planner.templates import NO_TEMPLATE, Expr, adopt, read
from upgrader_stacks.control_plane import control_plane_template
from upgrader_stacks.managed import managed_nodegroup_template
from upgrader_stacks.render import render
from upgrader_stacks.self_managed import self_managed_nodegroup_template
from upgrader_stacks.specs import ControlPlaneSpec, ManagedNodegroupSpec, SelfManagedNodegroupSpec

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
    assert policy.max_batch_size == Expr("1")
    assert policy.min_instances_in_service == Expr(
        "Ref NodeAutoScalingGroupDesiredCapacity", "NodeAutoScalingGroupDesiredCapacity"
    )
    assert policy.pause_time == Expr("PT5M")
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


def test_2019_node_group_needs_a_launch_template_migration(upstream: Path) -> None:
    report = adopt((upstream / NODEGROUP_2019).read_text())
    assert [g.resource for g in report.on_launch_configuration] == ["NodeGroup"]
    spec = report.parameter("NodeInstanceType")
    assert spec is not None and spec.default == "t3.medium"
    assert "r5.xlarge" in spec.allowed_values
    assert [p.name for p in report.parameters][:3] == [
        "BootstrapArguments",
        "ClusterControlPlaneSecurityGroup",
        "ClusterName",
    ]
    assert report.parameter("Nope") is None


def test_version_refs_are_kept_even_when_the_template_does_not_declare_them() -> None:
    report = adopt(
        "Resources:\n  Ng:\n    Type: AWS::EKS::Nodegroup\n"
        "    Properties: {Version: !Ref KubernetesVersion}\n"
    )
    (source,) = report.managed_nodegroups
    assert (source.parameter, source.refs) == (None, ("KubernetesVersion",))


def _stack(body: str) -> Stack:
    arn = "arn:aws:cloudformation:r:1:stack/s/1"
    return Stack(
        name="s", stack_id=arn, status="X", parameters=(), resources=(), template_body=body
    )


def test_read_tolerates_a_stack_without_template_and_names_a_broken_one() -> None:
    assert read(_stack("")) is NO_TEMPLATE
    with pytest.raises(BadInputError, match="template of stack s: is not valid YAML"):
        read(_stack("Resources: ["))


def test_floats_keep_their_text_and_templates_round_trip(upstream: Path) -> None:
    loaded = load_template("A: 1.10\nB: [1.13, 7, true, '2010-09-09', !Select [0, !GetAZs '']]\n")
    assert str(loaded["A"]) == "1.10" and loaded["A"] == 1.1
    assert dump_template(loaded) == (
        "A: 1.10\n"
        "B:\n"
        "  - 1.13\n"
        "  - 7\n"
        "  - true\n"
        "  - '2010-09-09'\n"
        "  - Fn::Select:\n"
        "      - 0\n"
        "      - Fn::GetAZs: ''\n"
    )
    for path in (NODEGROUP_2019, CLUSTER_2019):
        template = load_template((upstream / path).read_text())
        dumped = dump_template(template)
        assert load_template(dumped) == template
        assert dump_template(load_template(dumped)) == dumped
        assert "&id" not in dumped and "*id" not in dumped  # no YAML aliases
