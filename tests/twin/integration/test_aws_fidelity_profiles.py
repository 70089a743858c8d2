"""An Auto Scaling group's instances carry their launch source's IAM instance profile, and a
launch configuration made from an instance derives it and the user data (AWS: everything
but the block device mapping), as eksupgrade's self-managed roll relies on."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.twin.integration.test_aws_fidelity_asg import describe, group, unique
from tests.twin.integration.test_aws_twin import World

pytestmark = pytest.mark.integration

USER_DATA = "#!/bin/bash\n/etc/eks/bootstrap.sh staging\n"  # boto3 base64-encodes it


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = World()
    yield made
    made.twin.stop()


def _profile(world: World) -> str:
    iam = world.client("iam")
    name = unique("nodes")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    made = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return str(made["Arn"])


def _profiles(world: World, name: str) -> list[str | None]:
    ids = [i["InstanceId"] for i in describe(world, name)["Instances"]]
    reservations = world.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
    return [
        i.get("IamInstanceProfile", {}).get("Arn") for r in reservations for i in r["Instances"]
    ]


def test_instances_carry_the_profile_of_their_launch_configuration_or_template(
    world: World,
) -> None:
    asg, ec2 = world.client("autoscaling"), world.client("ec2")
    arn = _profile(world)
    config = unique("lc")
    asg.create_launch_configuration(
        LaunchConfigurationName=config,
        ImageId=world.twin.ami_for("1.13"),
        InstanceType="m5.large",
        IamInstanceProfile=arn.rsplit("/", 1)[1],  # by name, as the 2019 template does
        UserData=USER_DATA,
    )
    by_config = unique("g")
    group(world, by_config, 2, LaunchConfigurationName=config)
    assert _profiles(world, by_config) == [arn, arn]

    template = ec2.create_launch_template(
        LaunchTemplateName=unique("lt"),
        LaunchTemplateData={
            "ImageId": world.twin.ami_for("1.13"),
            "InstanceType": "m5.large",
            "IamInstanceProfile": {"Arn": arn},
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    by_template = unique("g")
    group(world, by_template, 1, LaunchTemplate={"LaunchTemplateId": template})
    assert _profiles(world, by_template) == [arn]


def test_a_launch_configuration_from_an_instance_keeps_its_profile_and_user_data(
    world: World,
) -> None:
    asg = world.client("autoscaling")
    arn = _profile(world)
    config = unique("lc")
    asg.create_launch_configuration(
        LaunchConfigurationName=config,
        ImageId=world.twin.ami_for("1.12"),
        InstanceType="m5.large",
        IamInstanceProfile=arn,
        UserData=USER_DATA,
    )
    name = unique("g")
    (member,) = group(world, name, 1, LaunchConfigurationName=config)["Instances"]

    copy = unique("copy")
    asg.create_launch_configuration(
        LaunchConfigurationName=copy,
        InstanceId=member["InstanceId"],
        ImageId=world.twin.ami_for("1.13"),
    )
    (made,) = asg.describe_launch_configurations(LaunchConfigurationNames=[copy])[
        "LaunchConfigurations"
    ]
    assert (made["ImageId"], made["IamInstanceProfile"]) == (world.twin.ami_for("1.13"), arn)
    assert base64.b64decode(made["UserData"]).decode() == USER_DATA
