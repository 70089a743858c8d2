"""EC2 and Auto Scaling answer like AWS where upgrade tools look (boto3 over real HTTP)."""

from __future__ import annotations

import base64
import itertools
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.twin.integration.test_aws_twin import World

pytestmark = pytest.mark.integration

USER_DATA = base64.b64encode(b"#!/bin/bash\n/etc/eks/bootstrap.sh demo\n").decode()
_names = itertools.count()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = World()
    yield made
    made.twin.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def template(world: World, minor: str = "1.13", **extra: Any) -> str:
    data = {"ImageId": world.twin.ami_for(minor), "InstanceType": "m5.large", **extra}
    made = world.client("ec2").create_launch_template(
        LaunchTemplateName=unique("lt"), LaunchTemplateData=data
    )
    return str(made["LaunchTemplate"]["LaunchTemplateId"])


def group(world: World, name: str, size: int, **source: Any) -> dict[str, Any]:
    a, b = world.subnets()
    world.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=0,
        MaxSize=10,
        DesiredCapacity=size,
        VPCZoneIdentifier=f"{a},{b}",
        **source,
    )
    return describe(world, name)


def describe(world: World, name: str) -> dict[str, Any]:
    found: dict[str, Any] = world.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[name]
    )["AutoScalingGroups"][0]
    return found


def ec2_state(world: World, instance_id: str) -> str:
    reservations = world.client("ec2").describe_instances(InstanceIds=[instance_id])
    return str(reservations["Reservations"][0]["Instances"][0]["State"]["Name"])


def still_answers(world: World) -> None:
    assert world.client("ec2").describe_regions()["Regions"]
    assert "AutoScalingGroups" in world.client("autoscaling").describe_auto_scaling_groups()


# item 2: bad requests get AWS's errors; failures inside the server stay 500s


def test_group_on_a_missing_template_or_version_is_a_validation_error(world: World) -> None:
    asg = world.client("autoscaling")
    lt = template(world)
    name = unique("bad")
    with pytest.raises(ClientError) as missing:
        group(world, name, 1, LaunchTemplate={"LaunchTemplateId": "lt-0123456789abcdef0"})
    assert missing.value.response["Error"]["Code"] == "ValidationError"
    assert "You must use a valid fully-formed launch template." in str(missing.value)
    with pytest.raises(ClientError, match="Could not find the specified version 9") as version:
        group(world, name, 1, LaunchTemplate={"LaunchTemplateId": lt, "Version": "9"})
    assert version.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError, match="with template name nope, does not exist"):
        group(world, name, 1, LaunchTemplate={"LaunchTemplateName": "nope"})

    group(world, name, 2, LaunchTemplate={"LaunchTemplateId": lt, "Version": "1"})
    with pytest.raises(ClientError, match="Could not find the specified version 7") as update:
        asg.update_auto_scaling_group(
            AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": lt, "Version": "7"}
        )
    assert update.value.response["Error"]["Code"] == "ValidationError"
    assert describe(world, name)["LaunchTemplate"]["Version"] == "1"  # nothing changed
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3)
    assert len(describe(world, name)["Instances"]) == 3
    still_answers(world)


def test_template_ec2_refuses_is_a_failed_scaling_activity(world: World) -> None:
    lt = template(world, InstanceType="m5.huge-not-a-type")
    name = unique("refused")
    found = group(world, name, 1, LaunchTemplate={"LaunchTemplateId": lt})
    assert found["Instances"] == []
    activity = world.client("autoscaling").describe_scaling_activities(AutoScalingGroupName=name)[
        "Activities"
    ][0]
    assert activity["StatusCode"] == "Failed"
    assert activity["StatusMessage"].endswith("Launching EC2 instance failed.")
    still_answers(world)


def post(world: World, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(world.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


SIGNED = "AWS4-HMAC-SHA256 Credential=testing/20190601/us-west-2/{}/aws4_request, Signature=x"


def test_malformed_calls_get_errors_and_the_twin_keeps_serving(world: World) -> None:
    asg = world.client("autoscaling")
    with pytest.raises(ClientError):
        asg.update_auto_scaling_group(AutoScalingGroupName="no-such-group", MinSize=1)
    with pytest.raises(ClientError):
        world.client("ec2").create_launch_template_version(
            LaunchTemplateId="lt-0123456789abcdef0", LaunchTemplateData={}
        )
    with pytest.raises(ClientError) as no_template:
        world.client("ec2").create_launch_template_version(LaunchTemplateData={})
    assert no_template.value.response["Error"]["Code"] == "MissingParameter"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for service, body in (
        ("autoscaling", b"Action=CreateAutoScalingGroup&Version=2011-01-01"),
        ("autoscaling", b"Action=SetDesiredCapacity&Version=2011-01-01&DesiredCapacity=x"),
        ("ec2", b"Action=TerminateInstances&Version=2016-11-15"),
        ("ec2", b"Action=CreateLaunchTemplateVersion&Version=2016-11-15&SourceVersion=1"),
    ):
        status, text = post(world, body, {**form, "Authorization": SIGNED.format(service)})
        assert 400 <= status < 600, (body, status)
        assert text.lstrip()[:1] == b"<", text  # an AWS-shaped XML error, never HTML
    status, text = post(
        world,
        b"{not json",
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonSSM.GetParameter",
            "Authorization": SIGNED.format("ssm"),
        },
    )
    assert 400 <= status < 600 and text.lstrip()[:1] == b"{", text
    still_answers(world)


# item 1: launch template versions


def test_new_version_inherits_from_its_source_and_launches_with_user_data(world: World) -> None:
    ec2, asg = world.client("ec2"), world.client("autoscaling")
    lt = template(world, KeyName="ops", UserData=USER_DATA, SecurityGroupIds=[])
    made = ec2.create_launch_template_version(
        LaunchTemplateId=lt,
        SourceVersion="1",
        LaunchTemplateData={"ImageId": world.twin.ami_for("1.14")},
    )["LaunchTemplateVersion"]
    assert made["VersionNumber"] == 2
    described = ec2.describe_launch_template_versions(LaunchTemplateId=lt, Versions=["2"])
    data = described["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["ImageId"] == world.twin.ami_for("1.14")
    assert (data["InstanceType"], data["KeyName"], data["UserData"]) == (
        "m5.large",
        "ops",
        USER_DATA,
    )
    plain = ec2.create_launch_template_version(
        LaunchTemplateId=lt, LaunchTemplateData={"ImageId": world.twin.ami_for("1.14")}
    )["LaunchTemplateVersion"]
    assert "UserData" not in plain["LaunchTemplateData"]  # no SourceVersion: only what's given
    with pytest.raises(ClientError, match="version 42"):
        ec2.create_launch_template_version(
            LaunchTemplateId=lt, SourceVersion="42", LaunchTemplateData={}
        )

    name = unique("userdata")
    group(world, name, 2, LaunchTemplate={"LaunchTemplateId": lt, "Version": "2"})
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3)
    instances = describe(world, name)["Instances"]
    assert [i["LaunchTemplate"]["Version"] for i in instances] == ["2", "2", "2"]
    reservations = ec2.describe_instances(InstanceIds=[i["InstanceId"] for i in instances])
    images = {i["ImageId"] for r in reservations["Reservations"] for i in r["Instances"]}
    assert images == {world.twin.ami_for("1.14")}


# item 4: one launch source per group


def test_template_to_configuration_and_back(world: World) -> None:
    asg = world.client("autoscaling")
    lt = template(world)
    name = unique("switch")
    group(world, name, 2, LaunchTemplate={"LaunchTemplateId": lt, "Version": "$Latest"})
    asg.create_launch_configuration(
        LaunchConfigurationName=f"{name}-lc",
        ImageId=world.twin.ami_for("1.14"),
        InstanceType="m5.large",
    )
    asg.update_auto_scaling_group(
        AutoScalingGroupName=name, LaunchConfigurationName=f"{name}-lc", DesiredCapacity=3
    )
    found = describe(world, name)
    assert found["LaunchConfigurationName"] == f"{name}-lc"
    assert "LaunchTemplate" not in found and "MixedInstancesPolicy" not in found
    sources = [
        (i.get("LaunchTemplate"), i.get("LaunchConfigurationName")) for i in found["Instances"]
    ]
    for kept, config in sources[:2]:  # launched from the template: still report it
        assert (kept["LaunchTemplateId"], kept["Version"], config) == (lt, "1", None)
    assert sources[2] == (None, f"{name}-lc")  # launched from the configuration

    asg.update_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": lt}, DesiredCapacity=4
    )
    found = describe(world, name)
    assert "LaunchConfigurationName" not in found
    assert found["LaunchTemplate"]["LaunchTemplateId"] == lt
    last = found["Instances"][-1]
    assert last["LaunchTemplate"]["LaunchTemplateId"] == lt
    assert "LaunchConfigurationName" not in last
    assert found["Instances"][2]["LaunchConfigurationName"] == f"{name}-lc"
    with pytest.raises(ClientError, match="Launch configuration name not found"):
        asg.update_auto_scaling_group(AutoScalingGroupName=name, LaunchConfigurationName="nope")


# item 5: shutting-down before terminated


def test_terminated_instances_shut_down_first(world: World) -> None:
    ec2 = world.client("ec2")
    a, _ = world.subnets()
    free = world.twin.subnet_free(a)
    run = ec2.run_instances(ImageId=world.twin.ami_for("1.13"), MinCount=1, MaxCount=1, SubnetId=a)
    instance = run["Instances"][0]["InstanceId"]
    assert world.twin.subnet_free(a) == free - 1
    answer = ec2.terminate_instances(InstanceIds=[instance])["TerminatingInstances"][0]
    assert answer["CurrentState"]["Name"] == "shutting-down"
    assert answer["PreviousState"]["Name"] == "running"
    assert ec2_state(world, instance) == "shutting-down"
    assert world.twin.subnet_free(a) == free - 1  # still holds its address
    again = ec2.terminate_instances(InstanceIds=[instance])["TerminatingInstances"][0]
    assert again["CurrentState"]["Name"] == "shutting-down"
    world.later(60)
    assert ec2_state(world, instance) == "terminated"
    assert world.twin.subnet_free(a) == free


def test_scale_in_instances_shut_down_then_terminate(world: World) -> None:
    name = unique("shrink")
    group(world, name, 2, LaunchTemplate={"LaunchTemplateId": template(world)})
    world.client("autoscaling").set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
    ids = {i.instance_id: i.state for i in world.twin.instances() if i.asg_name == name}
    assert sorted(ids.values()) == ["running", "shutting-down"]
    world.later(60)
    ids = {i.instance_id: i.state for i in world.twin.instances() if i.asg_name == name}
    assert sorted(ids.values()) == ["running", "terminated"]


# item 6: scale-in by termination policy and zone balance


def launched(world: World, name: str, *counts: int) -> list[str]:
    """Scale the group up in steps (a minute apart); the instance IDs in launch order."""
    asg = world.client("autoscaling")
    for count in counts:
        asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=count)
        world.later(60)
    views = [i for i in world.twin.instances() if i.asg_name == name and i.state == "running"]
    return [v.instance_id for v in sorted(views, key=lambda v: v.launch_time)]


def survivors(world: World, name: str) -> set[str]:
    return {i["InstanceId"] for i in describe(world, name)["Instances"]}


@pytest.mark.parametrize(
    ("policy", "gone"), [("OldestInstance", [0, 1]), ("NewestInstance", [2, 3])]
)
def test_scale_in_follows_the_policy_within_zone_balance(
    world: World, policy: str, gone: list[int]
) -> None:
    asg = world.client("autoscaling")
    name = unique(policy.lower())
    group(world, name, 0, LaunchTemplate={"LaunchTemplateId": template(world)})
    order = launched(world, name, 2, 4)  # two per zone, the first pair oldest
    asg.update_auto_scaling_group(
        AutoScalingGroupName=name, TerminationPolicies=[policy], DesiredCapacity=2
    )
    assert describe(world, name)["TerminationPolicies"] == [policy]
    assert survivors(world, name) == set(order) - {order[i] for i in gone}


def test_scale_in_balances_zones_first(world: World) -> None:
    asg = world.client("autoscaling")
    name = unique("balance")
    found = group(world, name, 0, LaunchTemplate={"LaunchTemplateId": template(world)})
    order = launched(world, name, 3)  # zones a, b, a
    zones = {i.instance_id: i.az for i in world.twin.instances() if i.asg_name == name}
    assert found["TerminationPolicies"] == ["Default"]
    asg.update_auto_scaling_group(
        AutoScalingGroupName=name, TerminationPolicies=["NewestInstance"], DesiredCapacity=2
    )
    left = survivors(world, name)
    assert len(left) == 2 and len({zones[i] for i in left}) == 2  # one per zone
    assert order[1] in left  # the only instance of its zone stays, though the newest


def test_default_policy_takes_the_oldest_launch_source_and_spares_protected(
    world: World,
) -> None:
    ec2, asg = world.client("ec2"), world.client("autoscaling")
    lt = template(world)
    name = unique("default")
    group(world, name, 0, LaunchTemplate={"LaunchTemplateId": lt, "Version": "$Latest"})
    first = launched(world, name, 2)
    ec2.create_launch_template_version(
        LaunchTemplateId=lt,
        SourceVersion="1",
        LaunchTemplateData={"ImageId": world.twin.ami_for("1.14")},
    )
    newer = [i for i in launched(world, name, 4) if i not in first]
    asg.set_instance_protection(
        AutoScalingGroupName=name, InstanceIds=[first[0]], ProtectedFromScaleIn=True
    )
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=2)
    left = survivors(world, name)
    assert first[0] in left  # protected
    assert first[1] not in left  # the other version-1 instance went first
    assert len(left) == 2 and len(left & set(newer)) == 1
    with pytest.raises(ClientError, match="not supported"):
        asg.update_auto_scaling_group(AutoScalingGroupName=name, TerminationPolicies=["Nope"])


# item 3: CreateLaunchConfiguration(InstanceId=…)


def test_launch_configuration_from_an_instance(world: World) -> None:
    ec2, asg = world.client("ec2"), world.client("autoscaling")
    a, _ = world.subnets()
    vpc = ec2.describe_subnets(SubnetIds=[a])["Subnets"][0]["VpcId"]
    sg = world.twin.create_security_group(vpc, unique("nodes"), "nodes")
    key = world.twin.create_key_pair(unique("ops"))
    instance = ec2.run_instances(
        ImageId=world.twin.ami_for("1.13"),
        InstanceType="t3.medium",
        KeyName=key,
        SecurityGroupIds=[sg],
        MinCount=1,
        MaxCount=1,
        SubnetId=a,
    )["Instances"][0]["InstanceId"]
    asg.create_launch_configuration(LaunchConfigurationName=unique("copy"), InstanceId=instance)
    asg.create_launch_configuration(
        LaunchConfigurationName="copy-overridden", InstanceId=instance, InstanceType="m5.large"
    )
    configs = {
        c["LaunchConfigurationName"]: c
        for c in asg.describe_launch_configurations()["LaunchConfigurations"]
    }
    copied = next(c for n, c in configs.items() if n.startswith("copy-") and n != "copy-overridden")
    assert (copied["ImageId"], copied["InstanceType"], copied["KeyName"]) == (
        world.twin.ami_for("1.13"),
        "t3.medium",
        key,
    )
    assert copied["SecurityGroups"] == [sg]
    overridden = configs["copy-overridden"]
    assert (overridden["InstanceType"], overridden["ImageId"]) == (
        "m5.large",
        world.twin.ami_for("1.13"),
    )
    with pytest.raises(ClientError, match="Invalid instance id"):
        asg.create_launch_configuration(LaunchConfigurationName="x", InstanceId="i-0000000000")
