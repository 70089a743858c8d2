"""A node group from AWS's 2019 template in the AWS twin, over real HTTP with boto3: how it
is created, and the stack update that moves it from its launch configuration to a launch
template, in place as CloudFormation does it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ekstwin.aws import AwsTwin
from ekstwin.clock import VirtualClock
from ekstwin.scenario import load
from ekstwin.templates import aws_2019_nodegroup
from ekstwin.world import build_aws
from tests.twin.nodegroup_2019 import (
    GROUP,
    LAUNCH_TEMPLATE,
    change_set_parameters,
    launch_template_body,
)

pytestmark = pytest.mark.integration

STACK = "staging-workers"
AL2 = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended/image_id"
PAUSE_SECONDS = 5 * 60  # the template's PauseTime


class Twin:
    """The AWS side of the Staging scenario (its node group is from the 2019 template)."""

    def __init__(self) -> None:
        self.scenario = load("staging")
        self.clock = VirtualClock(speed=1.0)
        self.twin = AwsTwin(self.clock, region=self.scenario.region)
        self.url = self.twin.start()
        with self.twin.lock:
            build_aws(self.scenario, self.twin)
        self.cfn = self.client("cloudformation")
        self.asg = self.client("autoscaling")
        self.ec2 = self.client("ec2")

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.scenario.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stack(self) -> dict[str, Any]:
        found: dict[str, Any] = self.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        return found

    def group(self) -> dict[str, Any]:
        (group,) = self.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
        return dict(group)

    def members(self) -> dict[str, dict[str, Any]]:
        """DescribeAutoScalingInstances by instance ID."""
        listed = self.asg.describe_auto_scaling_instances()["AutoScalingInstances"]
        return {i["InstanceId"]: i for i in listed}

    def images(self, ids: list[str]) -> dict[str, str]:
        reservations = self.ec2.describe_instances(InstanceIds=ids)["Reservations"]
        return {i["InstanceId"]: i["ImageId"] for r in reservations for i in r["Instances"]}

    def change_set(self, name: str, body: str | None, **changed: str) -> list[tuple[str, str]]:
        """Create an UPDATE change set (``body``, or the stack's template) keeping every
        parameter but ``changed``; its (action, logical id) changes."""
        keys = [p["ParameterKey"] for p in self.stack()["Parameters"]]
        template: dict[str, Any] = (
            {"TemplateBody": body} if body is not None else {"UsePreviousTemplate": True}
        )
        self.cfn.create_change_set(
            StackName=STACK,
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            Capabilities=["CAPABILITY_IAM"],
            Parameters=change_set_parameters(keys, changed),
            **template,
        )
        described = self.cfn.describe_change_set(StackName=STACK, ChangeSetName=name)
        assert described["ExecutionStatus"] == "AVAILABLE", described
        return sorted(
            (c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
            for c in described["Changes"]
        )

    def later(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.clock.run_due()


@pytest.fixture
def twin() -> Iterator[Twin]:
    made = Twin()
    yield made
    made.twin.stop()


def test_2019_group_is_the_shipped_template_with_a_2019_setup(twin: Twin) -> None:
    assert twin.cfn.get_template(StackName=STACK)["TemplateBody"] == aws_2019_nodegroup()
    stack = twin.stack()
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p for p in stack["Parameters"]}
    image = params["NodeImageIdSSMParam"]
    assert image["ParameterValue"] == AL2.format("1.12")
    assert image["ResolvedValue"] == twin.twin.ami_for("1.12")
    assert params["ClusterName"]["ParameterValue"] == "staging"
    assert params["NodeGroupName"]["ParameterValue"] == "workers"
    assert params["NodeInstanceType"]["ParameterValue"] == "r5.xlarge"
    key = params["KeyName"]["ParameterValue"]
    assert [k["KeyName"] for k in twin.ec2.describe_key_pairs()["KeyPairs"]] == [key]
    cluster = twin.client("eks").describe_cluster(name="staging")["cluster"]
    plane = params["ClusterControlPlaneSecurityGroup"]["ParameterValue"]
    assert cluster["resourcesVpcConfig"]["securityGroupIds"] == [plane]

    group = twin.group()
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (1, 2, 4)
    assert group["LaunchConfigurationName"].startswith(f"{STACK}-NodeLaunchConfig-")
    assert "LaunchTemplate" not in group
    assert {i["AvailabilityZone"] for i in group["Instances"]} == {
        "ap-northeast-1a",
        "ap-northeast-1c",
    }
    resources = twin.cfn.describe_stack_resources(StackName=STACK)["StackResources"]
    kinds = {r["ResourceType"] for r in resources}
    assert {"AWS::EC2::SecurityGroupEgress", "AWS::EC2::SecurityGroupIngress"} <= kinds
    for resource in resources:  # rules included: their physical ID is the rule ID
        assert resource["PhysicalResourceId"], resource


def test_change_set_moves_the_group_to_a_launch_template_in_place(twin: Twin) -> None:
    before = twin.group()
    config = before["LaunchConfigurationName"]
    running = sorted(i["InstanceId"] for i in before["Instances"])
    changes = twin.change_set("to-lt", launch_template_body())
    assert changes == [
        ("Add", LAUNCH_TEMPLATE),
        ("Modify", GROUP),
        ("Remove", "NodeLaunchConfig"),
    ]
    twin.cfn.execute_change_set(StackName=STACK, ChangeSetName="to-lt")
    assert twin.stack()["StackStatus"] == "UPDATE_COMPLETE"

    group = twin.group()
    assert group["AutoScalingGroupName"] == before["AutoScalingGroupName"]  # in place
    assert "LaunchConfigurationName" not in group
    template = group["LaunchTemplate"]
    assert template["Version"] == "1"
    assert sorted(i["InstanceId"] for i in group["Instances"]) == running
    for member in [*group["Instances"], *twin.members().values()]:
        assert member["LaunchConfigurationName"] == config  # what they were launched from
        assert "LaunchTemplate" not in member
    configs = twin.asg.describe_launch_configurations()["LaunchConfigurations"]
    assert configs == []  # deleted in the cleanup phase
    events = [
        e["ResourceStatus"]
        for e in twin.cfn.describe_stack_events(StackName=STACK)["StackEvents"]
        if e["LogicalResourceId"] == STACK
    ]
    assert events[:2] == ["UPDATE_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"]
    data = twin.ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["ImageId"] == twin.twin.ami_for("1.12")
    assert data["InstanceType"] == "r5.xlarge"

    # A new AMI through the same template: version 2; nothing replaced without a rolling
    # policy; a scale-out launches version 2 and reports it.
    twin.change_set("ami", None, NodeImageIdSSMParam=AL2.format("1.13"))
    twin.cfn.execute_change_set(StackName=STACK, ChangeSetName="ami")
    assert twin.stack()["StackStatus"] == "UPDATE_COMPLETE"
    assert twin.group()["LaunchTemplate"]["Version"] == "2"
    twin.asg.set_desired_capacity(
        AutoScalingGroupName=group["AutoScalingGroupName"], DesiredCapacity=3
    )
    members = twin.members()
    (new,) = set(members) - set(running)
    assert members[new]["LaunchTemplate"] == {**template, "Version": "2"}
    assert "LaunchConfigurationName" not in members[new]
    images = twin.images(list(members))
    assert images[new] == twin.twin.ami_for("1.13")
    assert {images[i] for i in running} == {twin.twin.ami_for("1.12")}
    reservations = twin.ec2.describe_instances(InstanceIds=[new])["Reservations"]
    launched = reservations[0]["Instances"][0]
    tags = {t["Key"]: t["Value"] for t in launched["Tags"]}
    assert tags["aws:ec2launchtemplate:version"] == "2"
    assert tags["kubernetes.io/cluster/staging"] == "owned"  # it joins the cluster
    stack = twin.stack()
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert [g["GroupId"] for g in launched["SecurityGroups"]] == [outputs["NodeSecurityGroup"]]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert launched["KeyName"] == params["KeyName"]


def test_rolling_update_policy_replaces_the_configurations_instances(twin: Twin) -> None:
    before = twin.group()
    old = sorted(i["InstanceId"] for i in before["Instances"])
    twin.change_set("to-lt", launch_template_body(rolling=True))
    twin.cfn.execute_change_set(StackName=STACK, ChangeSetName="to-lt")
    assert twin.stack()["StackStatus"] == "UPDATE_IN_PROGRESS"
    twin.later(1)
    # MinInstancesInService is the desired capacity: each replacement launches first.
    assert len(twin.members()) == 2 and len(set(twin.members()) & set(old)) == 1
    assert twin.asg.describe_launch_configurations()["LaunchConfigurations"] != []
    twin.later(PAUSE_SECONDS)
    twin.later(PAUSE_SECONDS)
    assert twin.stack()["StackStatus"] == "UPDATE_COMPLETE"
    group = twin.group()
    assert group["AutoScalingGroupName"] == before["AutoScalingGroupName"]
    assert not set(twin.members()) & set(old)
    for member in twin.members().values():
        assert member["LaunchTemplate"]["Version"] == "1"
        assert "LaunchConfigurationName" not in member
    assert twin.asg.describe_launch_configurations()["LaunchConfigurations"] == []


def test_parameter_only_change_set_still_rolls_a_new_launch_configuration(twin: Twin) -> None:
    before = twin.group()
    old = sorted(i["InstanceId"] for i in before["Instances"])
    assert twin.change_set("ami", None, NodeImageIdSSMParam=AL2.format("1.13")) == [
        ("Modify", GROUP),
        ("Modify", "NodeLaunchConfig"),
    ]
    twin.cfn.execute_change_set(StackName=STACK, ChangeSetName="ami")
    for _ in range(3):
        twin.later(PAUSE_SECONDS)
    assert twin.stack()["StackStatus"] == "UPDATE_COMPLETE"
    group = twin.group()
    assert group["AutoScalingGroupName"] == before["AutoScalingGroupName"]
    assert group["LaunchConfigurationName"] != before["LaunchConfigurationName"]
    members = twin.members()
    assert not set(members) & set(old)
    assert {m["LaunchConfigurationName"] for m in members.values()} == {
        group["LaunchConfigurationName"]
    }
    assert set(twin.images(list(members)).values()) == {twin.twin.ami_for("1.13")}


def test_launch_template_naming_groups_twice_fails_the_launch(twin: Twin) -> None:
    twin.change_set("to-lt", launch_template_body(instance_groups=True))
    twin.cfn.execute_change_set(StackName=STACK, ChangeSetName="to-lt")
    assert twin.stack()["StackStatus"] == "UPDATE_COMPLETE"
    name = twin.group()["AutoScalingGroupName"]
    twin.asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3)
    assert len(twin.members()) == 2
    latest = twin.asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"][0]
    assert latest["StatusCode"] == "Failed"
    assert "Network interfaces and an instance-level security groups" in latest["StatusMessage"]
