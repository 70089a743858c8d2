"""The AWS twin over real HTTP with boto3: moto plus the extensions that make it act like AWS."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ekstwin.aws import AwsError, AwsTwin
from ekstwin.clock import VirtualClock

pytestmark = pytest.mark.integration

REGION = "us-west-2"
ROLE = "arn:aws:iam::123456789012:role/eks-service"
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-node"
AL2 = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended/image_id"


class World:
    """One twin per module, with recorded hooks and boto3 clients."""

    def __init__(self) -> None:
        self.clock = VirtualClock(speed=1.0)
        self.twin = AwsTwin(
            self.clock, region=REGION, kube_endpoint="https://127.0.0.1:6443", kube_ca_data="Q0E="
        )
        self.url = self.twin.start()
        self.twin.seed_eks_amis()
        self.versions: list[tuple[str, str]] = []
        self.nodegroups: list[tuple[str, str, str]] = []
        self.twin.hooks.cluster_version_changed.append(lambda c, v: self.versions.append((c, v)))
        self.twin.hooks.nodegroup_updated.append(lambda c, n, i: self.nodegroups.append((c, n, i)))
        self._subnet = 0

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def subnets(self, prefix: int = 24) -> tuple[str, str]:
        """Two fresh subnets in two zones (tests never share subnets)."""
        self._subnet += 1
        vpc = self.twin.create_vpc(f"10.{self._subnet}.0.0/16", f"vpc-{self._subnet}")
        a = self.twin.create_subnet(vpc, f"10.{self._subnet}.0.0/{prefix}", "us-west-2a", "a")
        b = self.twin.create_subnet(vpc, f"10.{self._subnet}.64.0/{prefix}", "us-west-2b", "b")
        return a, b

    def later(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.clock.run_due()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = World()
    yield made
    made.twin.stop()


def stack_status(world: World, name: str) -> str:
    status: str = world.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0][
        "StackStatus"
    ]
    return status


def cluster_template(name: str, subnets: tuple[str, str]) -> dict[str, Any]:
    return {
        "Parameters": {"Version": {"Type": "String"}},
        "Resources": {
            "Cluster": {
                "Type": "AWS::EKS::Cluster",
                "Properties": {
                    "Name": name,
                    "Version": {"Ref": "Version"},
                    "RoleArn": ROLE,
                    "ResourcesVpcConfig": {"SubnetIds": list(subnets)},
                },
            }
        },
        "Outputs": {
            key: {"Value": {"Fn::GetAtt": ["Cluster", key]}}
            for key in ("Arn", "Endpoint", "CertificateAuthorityData", "ClusterSecurityGroupId")
        },
    }


def version_param(version: str) -> list[dict[str, str]]:
    return [{"ParameterKey": "Version", "ParameterValue": version}]


def test_requests_are_logged_and_served(world: World) -> None:
    ec2 = world.client("ec2")
    ec2.describe_subnets()
    a, _ = world.subnets()
    ec2.create_network_interface(SubnetId=a, Description="logged")
    with urllib.request.urlopen(f"{world.url}/_sandbox/requests") as response:
        served = json.load(response)
    last = served[-1]
    assert isinstance(last.pop("time"), float)  # wall time, to order calls across clients
    assert last == {
        "service": "ec2",
        "action": "CreateNetworkInterface",
        "method": "POST",
        "path": "/",
        "status": 200,
        "mutating": True,
    }
    assert {"service": "ec2", "action": "DescribeSubnets", "mutating": False}.items() <= next(
        e for e in served if e["action"] == "DescribeSubnets"
    ).items()


def test_eks_amis_are_seeded_in_ssm_and_ec2(world: World) -> None:
    ssm, ec2 = world.client("ssm"), world.client("ec2")
    image = ssm.get_parameter(Name=AL2.format("1.13"))["Parameter"]["Value"]
    assert image == world.twin.ami_for("1.13")
    assert world.twin.kubernetes_minor_of_ami(image) == "1.13"
    found = ec2.describe_images(ImageIds=[image])["Images"][0]
    assert found["Name"] == "amazon-eks-node-1.13-v20240101"
    al2023 = (
        "/aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/standard/recommended/image_id"
    )
    assert ssm.get_parameter(Name=al2023)["Parameter"]["Value"] != image


def test_cluster_stack_creates_a_real_cluster_with_outputs(world: World) -> None:
    cfn, eks = world.client("cloudformation"), world.client("eks")
    subnets = world.subnets()
    cfn.create_stack(
        StackName="outputs",
        TemplateBody=json.dumps(cluster_template("outputs", subnets)),
        Parameters=version_param("1.12"),
    )
    stack = cfn.describe_stacks(StackName="outputs")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    cluster = eks.describe_cluster(name="outputs")["cluster"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert outputs["Endpoint"] == cluster["endpoint"] == "https://127.0.0.1:6443"
    assert outputs["CertificateAuthorityData"] == cluster["certificateAuthority"]["data"] == "Q0E="
    assert outputs["Arn"] == cluster["arn"]
    assert (
        outputs["ClusterSecurityGroupId"] == cluster["resourcesVpcConfig"]["clusterSecurityGroupId"]
    )
    assert (cluster["version"], cluster["status"]) == ("1.12", "ACTIVE")
    assert cluster["resourcesVpcConfig"]["subnetIds"] == list(subnets)
    resource = cfn.describe_stack_resource(StackName="outputs", LogicalResourceId="Cluster")
    assert resource["StackResourceDetail"]["PhysicalResourceId"] == "outputs"


def test_stack_update_that_skips_a_minor_fails_like_eks(world: World) -> None:
    cfn, eks = world.client("cloudformation"), world.client("eks")
    body = json.dumps(cluster_template("skipper", world.subnets()))
    cfn.create_stack(StackName="skipper", TemplateBody=body, Parameters=version_param("1.12"))
    cfn.update_stack(StackName="skipper", TemplateBody=body, Parameters=version_param("1.14"))
    assert stack_status(world, "skipper") == "UPDATE_ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cfn.describe_stack_events(StackName="skipper")["StackEvents"]
        if e["LogicalResourceId"] == "Cluster"
    ]
    assert "Unsupported Kubernetes minor version update from 1.12 to 1.14" in reasons
    assert eks.describe_cluster(name="skipper")["cluster"]["version"] == "1.12"
    params = cfn.describe_stacks(StackName="skipper")["Stacks"][0]["Parameters"]
    assert params == version_param("1.12")


def test_stack_update_of_version_takes_virtual_time(world: World) -> None:
    cfn, eks = world.client("cloudformation"), world.client("eks")
    body = json.dumps(cluster_template("stepper", world.subnets()))
    cfn.create_stack(StackName="stepper", TemplateBody=body, Parameters=version_param("1.12"))
    cfn.update_stack(StackName="stepper", TemplateBody=body, Parameters=version_param("1.13"))
    assert stack_status(world, "stepper") == "UPDATE_IN_PROGRESS"
    assert eks.describe_cluster(name="stepper")["cluster"]["status"] == "UPDATING"
    with pytest.raises(ClientError, match="UPDATE_IN_PROGRESS state and can not be updated"):
        cfn.update_stack(StackName="stepper", TemplateBody=body, Parameters=version_param("1.14"))
    world.later(39 * 60)
    assert eks.describe_cluster(name="stepper")["cluster"]["version"] == "1.12"
    world.later(2 * 60)
    cluster = eks.describe_cluster(name="stepper")["cluster"]
    assert (cluster["version"], cluster["status"]) == ("1.13", "ACTIVE")
    assert ("stepper", "1.13") in world.versions
    assert stack_status(world, "stepper") == "UPDATE_COMPLETE"
    with pytest.raises(ClientError, match="No updates are to be performed"):
        cfn.update_stack(StackName="stepper", TemplateBody=body, Parameters=version_param("1.13"))


def test_change_set_updates_the_cluster_version(world: World) -> None:
    cfn, eks = world.client("cloudformation"), world.client("eks")
    body = json.dumps(cluster_template("changer", world.subnets()))
    cfn.create_stack(StackName="changer", TemplateBody=body, Parameters=version_param("1.12"))
    cfn.create_change_set(
        StackName="changer",
        ChangeSetName="to-113",
        TemplateBody=body,
        Parameters=version_param("1.13"),
        ChangeSetType="UPDATE",
    )
    cfn.execute_change_set(ChangeSetName="to-113", StackName="changer")
    assert stack_status(world, "changer") == "UPDATE_IN_PROGRESS"
    world.later(40 * 60)
    assert eks.describe_cluster(name="changer")["cluster"]["version"] == "1.13"
    assert stack_status(world, "changer") == "UPDATE_COMPLETE"


def test_update_cluster_version_api(world: World) -> None:
    eks = world.client("eks")
    a, b = world.subnets()
    eks.create_cluster(
        name="api", version="1.12", roleArn=ROLE, resourcesVpcConfig={"subnetIds": [a, b]}
    )
    with pytest.raises(ClientError, match=r"from 1\.12 to 1\.14") as skipped:
        eks.update_cluster_version(name="api", version="1.14")
    assert skipped.value.response["Error"]["Code"] == "InvalidParameterException"
    update = eks.update_cluster_version(name="api", version="1.13")["update"]
    assert update["status"] == "InProgress"
    assert {"type": "Version", "value": "1.13"} in update["params"]
    with pytest.raises(ClientError) as busy:
        eks.update_cluster_version(name="api", version="1.13")
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
    assert busy.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    before = eks.describe_cluster(name="api")["cluster"]
    assert before["status"] == "UPDATING"
    world.later(40 * 60)
    after = eks.describe_cluster(name="api")["cluster"]
    done = eks.describe_update(name="api", updateId=update["id"])["update"]
    assert done["status"] == "Successful"
    assert (after["version"], after["status"]) == ("1.13", "ACTIVE")
    assert after["platformVersion"] != before["platformVersion"]
    assert eks.list_updates(name="api")["updateIds"] == [update["id"]]


def nodegroup_template(cluster: str, subnets: tuple[str, str]) -> dict[str, Any]:
    template = cluster_template(cluster, subnets)
    template["Resources"]["Workers"] = {
        "Type": "AWS::EKS::Nodegroup",
        "Properties": {
            "ClusterName": {"Ref": "Cluster"},
            "NodegroupName": "workers",
            "NodeRole": NODE_ROLE,
            "Subnets": list(subnets),
            "InstanceTypes": ["r5.xlarge"],
            "Version": {"Ref": "Version"},
            "ScalingConfig": {"MinSize": 2, "MaxSize": 4, "DesiredSize": 2},
        },
    }
    return template


def test_managed_nodegroup_has_a_real_asg_and_updates_via_hooks(world: World) -> None:
    cfn, eks, asg = world.client("cloudformation"), world.client("eks"), world.client("autoscaling")
    ec2 = world.client("ec2")
    body = json.dumps(nodegroup_template("managed", world.subnets()))
    cfn.create_stack(StackName="managed", TemplateBody=body, Parameters=version_param("1.12"))
    nodegroup = eks.describe_nodegroup(clusterName="managed", nodegroupName="workers")["nodegroup"]
    group_name = nodegroup["resources"]["autoScalingGroups"][0]["name"]
    assert group_name.startswith("eks-workers-")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])[
        "AutoScalingGroups"
    ][0]
    ids = [i["InstanceId"] for i in group["Instances"]]
    instances = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    tags = [{t["Key"]: t["Value"] for t in i["Tags"]} for r in instances for i in r["Instances"]]
    assert len(ids) == 2
    assert {i["AvailabilityZone"] for i in group["Instances"]} == {"us-west-2a", "us-west-2b"}
    for tag in tags:
        assert tag["eks:cluster-name"] == "managed"
        assert tag["eks:nodegroup-name"] == "workers"
        assert tag["kubernetes.io/cluster/managed"] == "owned"
    images = {i["ImageId"] for r in instances for i in r["Instances"]}
    assert images == {world.twin.ami_for("1.12")}

    cfn.update_stack(StackName="managed", TemplateBody=body, Parameters=version_param("1.13"))
    world.later(40 * 60)  # the control plane first; the nodegroup waits for it
    assert ("managed", "workers", world.twin.ami_for("1.13")) in world.nodegroups
    nodegroup = eks.describe_nodegroup(clusterName="managed", nodegroupName="workers")["nodegroup"]
    assert (nodegroup["status"], nodegroup["version"]) == ("UPDATING", "1.13")
    template = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])[
        "AutoScalingGroups"
    ][0]["LaunchTemplate"]
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])
    newest = max(versions["LaunchTemplateVersions"], key=lambda v: v["VersionNumber"])
    assert str(newest["VersionNumber"]) == template["Version"] == "2"
    assert newest["LaunchTemplateData"]["ImageId"] == world.twin.ami_for("1.13")
    assert stack_status(world, "managed") == "UPDATE_IN_PROGRESS"
    world.twin.finish_nodegroup_update("managed", "workers")
    assert (
        eks.describe_nodegroup(clusterName="managed", nodegroupName="workers")["nodegroup"][
            "status"
        ]
        == "ACTIVE"
    )
    assert stack_status(world, "managed") == "UPDATE_COMPLETE"


def asg_template(subnets: tuple[str, str], policy: dict[str, Any] | None) -> dict[str, Any]:
    group: dict[str, Any] = {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        "Properties": {
            "MinSize": {"Ref": "Min"},
            "MaxSize": "6",
            "DesiredCapacity": {"Ref": "Desired"},
            "VPCZoneIdentifier": list(subnets),
            "LaunchTemplate": {
                "LaunchTemplateId": {"Ref": "Lt"},
                "Version": {"Fn::GetAtt": ["Lt", "LatestVersionNumber"]},
            },
        },
    }
    if policy is not None:
        group["UpdatePolicy"] = policy
    return {
        "Parameters": {
            "Ami": {
                "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                "Default": AL2.format("1.12"),
            },
            "Min": {"Type": "String", "Default": "2"},
            "Desired": {"Type": "String", "Default": "2"},
        },
        "Resources": {
            "Lt": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {"ImageId": {"Ref": "Ami"}, "InstanceType": "m5.large"}
                },
            },
            "Asg": group,
        },
        "Outputs": {"Group": {"Value": {"Ref": "Asg"}}},
    }


def group_of(world: World, stack: str) -> dict[str, Any]:
    cfn, asg = world.client("cloudformation"), world.client("autoscaling")
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    name = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "Group")
    group: dict[str, Any] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ][0]
    return group


def running_images(world: World, group: dict[str, Any]) -> list[str]:
    ids = [i["InstanceId"] for i in group["Instances"]]
    reservations = world.client("ec2").describe_instances(InstanceIds=ids)["Reservations"]
    return sorted(i["ImageId"] for r in reservations for i in r["Instances"])


def new_ami(version: str) -> list[dict[str, str]]:
    return [{"ParameterKey": "Ami", "ParameterValue": AL2.format(version)}]


def test_rolling_update_replaces_in_batches_over_virtual_time(world: World) -> None:
    cfn = world.client("cloudformation")
    policy = {
        "AutoScalingRollingUpdate": {
            "MaxBatchSize": 1,
            "MinInstancesInService": 1,
            "PauseTime": "PT5M",
        }
    }
    body = json.dumps(asg_template(world.subnets(), policy))
    cfn.create_stack(StackName="rolling", TemplateBody=body)
    name = group_of(world, "rolling")["AutoScalingGroupName"]
    old, new = world.twin.ami_for("1.12"), world.twin.ami_for("1.13")
    cfn.update_stack(StackName="rolling", TemplateBody=body, Parameters=new_ami("1.13"))
    group = group_of(world, "rolling")
    assert group["AutoScalingGroupName"] == name  # updated in place, not replaced
    assert group["LaunchTemplate"]["Version"] == "2"
    assert stack_status(world, "rolling") == "UPDATE_IN_PROGRESS"
    world.later(1)
    assert running_images(world, group_of(world, "rolling")) == [old, new]
    assert stack_status(world, "rolling") == "UPDATE_IN_PROGRESS"
    world.later(5 * 60)
    assert running_images(world, group_of(world, "rolling")) == [new, new]
    world.later(5 * 60)
    assert stack_status(world, "rolling") == "UPDATE_COMPLETE"
    terminated = [i for i in world.twin.instances() if i.asg_name == name and i.state != "running"]
    assert [i.image_id for i in terminated] == [old, old]


def test_without_rolling_policy_nothing_is_replaced_but_version_follows(world: World) -> None:
    cfn = world.client("cloudformation")
    body = json.dumps(asg_template(world.subnets(), None))
    cfn.create_stack(StackName="plain", TemplateBody=body)
    cfn.update_stack(StackName="plain", TemplateBody=body, Parameters=new_ami("1.13"))
    assert stack_status(world, "plain") == "UPDATE_COMPLETE"
    group = group_of(world, "plain")
    assert group["LaunchTemplate"]["Version"] == "2"
    old = world.twin.ami_for("1.12")
    assert running_images(world, group) == [old, old]
    world.client("autoscaling").set_desired_capacity(
        AutoScalingGroupName=group["AutoScalingGroupName"], DesiredCapacity=3
    )
    assert running_images(world, group_of(world, "plain")) == sorted(
        [old, old, world.twin.ami_for("1.13")]
    )


def test_scheduled_action_policy_keeps_live_sizes(world: World) -> None:
    cfn, asg = world.client("cloudformation"), world.client("autoscaling")
    policy = {"AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": "true"}}
    body = json.dumps(asg_template(world.subnets(), policy))
    cfn.create_stack(StackName="sized", TemplateBody=body)
    name = group_of(world, "sized")["AutoScalingGroupName"]
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=4)
    cfn.update_stack(StackName="sized", TemplateBody=body, Parameters=new_ami("1.13"))
    assert group_of(world, "sized")["DesiredCapacity"] == 4
    cfn.update_stack(
        StackName="sized",
        TemplateBody=body,
        Parameters=[*new_ami("1.13"), {"ParameterKey": "Desired", "ParameterValue": "3"}],
    )
    assert group_of(world, "sized")["DesiredCapacity"] == 3


def test_launch_configuration_name_cascades_to_the_group(world: World) -> None:
    cfn = world.client("cloudformation")
    a, b = world.subnets()
    template = {
        "Parameters": {"Ami": {"Type": "String", "Default": world.twin.ami_for("1.12")}},
        "Resources": {
            "Lc": {
                "Type": "AWS::AutoScaling::LaunchConfiguration",
                "Properties": {"ImageId": {"Ref": "Ami"}, "InstanceType": "m5.large"},
            },
            "Asg": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {
                    "MinSize": "1",
                    "MaxSize": "2",
                    "VPCZoneIdentifier": [a, b],
                    "LaunchConfigurationName": {"Ref": "Lc"},
                },
            },
        },
        "Outputs": {"Group": {"Value": {"Ref": "Asg"}}, "Lc": {"Value": {"Ref": "Lc"}}},
    }
    body = json.dumps(template)
    cfn.create_stack(StackName="lc", TemplateBody=body)
    first = group_of(world, "lc")["LaunchConfigurationName"]
    cfn.update_stack(
        StackName="lc",
        TemplateBody=body,
        Parameters=[{"ParameterKey": "Ami", "ParameterValue": world.twin.ami_for("1.13")}],
    )
    outputs = cfn.describe_stacks(StackName="lc")["Stacks"][0]["Outputs"]
    current = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "Lc")
    assert current != first
    assert group_of(world, "lc")["LaunchConfigurationName"] == current


def test_subnet_addresses_limits_and_release(world: World) -> None:
    ec2 = world.client("ec2")
    a, _ = world.subnets(prefix=28)  # 16 - 5 = 11 usable
    assert world.twin.subnet_free(a) == 11
    with pytest.raises(ClientError) as full:
        ec2.run_instances(
            ImageId=world.twin.ami_for("1.13"), MinCount=12, MaxCount=12, SubnetId=a,
            InstanceType="t3.medium",
        )  # fmt: skip
    assert full.value.response["Error"]["Code"] == "InsufficientFreeAddressesInSubnet"
    assert f"subnet '{a}'" in full.value.response["Error"]["Message"]
    instance = ec2.run_instances(
        ImageId=world.twin.ami_for("1.13"), MinCount=1, MaxCount=1, SubnetId=a,
        InstanceType="t3.medium",
    )["Instances"][0]["InstanceId"]  # fmt: skip
    eni = ec2.create_network_interface(SubnetId=a, Description=f"aws-K8S-{instance}")
    eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=eni_id, InstanceId=instance, DeviceIndex=1)
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni_id, SecondaryPrivateIpAddressCount=5)
    with pytest.raises(ClientError, match="Number of private addresses will exceed limit"):
        ec2.assign_private_ip_addresses(NetworkInterfaceId=eni_id, SecondaryPrivateIpAddressCount=1)
    spare = [
        ec2.create_network_interface(SubnetId=a)["NetworkInterface"]["NetworkInterfaceId"]
        for _ in range(2)
    ]
    ec2.attach_network_interface(NetworkInterfaceId=spare[0], InstanceId=instance, DeviceIndex=2)
    with pytest.raises(ClientError, match=r"Interface count 4 exceeds the limit for t3\.medium"):
        ec2.attach_network_interface(
            NetworkInterfaceId=spare[1], InstanceId=instance, DeviceIndex=3
        )
    assert world.twin.subnet_free(a) == 11 - 1 - 6 - 2
    with pytest.raises(ClientError, match="does not have enough free addresses") as no_room:
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=spare[1], SecondaryPrivateIpAddressCount=3
        )
    assert no_room.value.response["Error"]["Code"] == "InsufficientFreeAddressesInSubnet"
    subnet = ec2.describe_subnets(SubnetIds=[a])["Subnets"][0]
    assert subnet["AvailableIpAddressCount"] == 2
    ec2.terminate_instances(InstanceIds=[instance])
    world.later(60)  # shutting-down, then terminated
    left = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [a]}])
    statuses = {n["NetworkInterfaceId"]: n["Status"] for n in left["NetworkInterfaces"]}
    assert statuses == {eni_id: "available", spare[0]: "available", spare[1]: "available"}
    assert world.twin.subnet_free(a) == 11 - 6 - 1 - 1


def test_asg_launches_what_fits_and_records_the_failure(world: World) -> None:
    asg, ec2 = world.client("autoscaling"), world.client("ec2")
    a, b = world.subnets(prefix=28)
    world.twin.take_addresses(a, 10)
    world.twin.take_addresses(b, 10)
    template = ec2.create_launch_template(
        LaunchTemplateName="tight",
        LaunchTemplateData={"ImageId": world.twin.ami_for("1.13"), "InstanceType": "m5.large"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg.create_auto_scaling_group(
        AutoScalingGroupName="tight",
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=3,
        VPCZoneIdentifier=f"{a},{b}",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "$Latest"},
    )
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["tight"])["AutoScalingGroups"][
        0
    ]
    assert len(group["Instances"]) == 2
    activities = asg.describe_scaling_activities(AutoScalingGroupName="tight")["Activities"]
    failed = [x for x in activities if x["StatusCode"] == "Failed"]
    assert len(failed) == 1
    assert "There are not enough free addresses in subnet" in failed[0]["StatusMessage"]
    assert world.twin.subnet_free(a) == world.twin.subnet_free(b) == 0


def test_ipamd_primitives(world: World) -> None:
    ec2 = world.client("ec2")
    a, _ = world.subnets()
    instance = ec2.run_instances(
        ImageId=world.twin.ami_for("1.13"), MinCount=1, MaxCount=1, SubnetId=a,
        InstanceType="m5.large",
    )["Instances"][0]["InstanceId"]  # fmt: skip
    free = world.twin.subnet_free(a)
    eni = world.twin.create_eni(a, f"aws-K8S-{instance}", secondary_ips=2)
    world.twin.attach_eni(eni, instance, 1)
    added = world.twin.assign_ips(eni, 3)
    assert len(added) == 3
    assert world.twin.subnet_free(a) == free - 6
    world.twin.unassign_ips(eni, added[:2])
    views = world.twin.enis_of(instance)
    assert [v.device_index for v in views] == [0, 1]
    assert views[1].eni_id == eni
    assert len(views[1].secondary_ips) == 3
    assert views[1].description == f"aws-K8S-{instance}"
    assert views[0].primary_ip == next(
        i.private_ip for i in world.twin.instances() if i.instance_id == instance
    )
    with pytest.raises(AwsError) as limit:
        world.twin.assign_ips(eni, 7)
    assert limit.value.code == "PrivateIpAddressLimitExceeded"
    with pytest.raises(AwsError) as busy:
        world.twin.delete_eni(eni)
    assert busy.value.code == "InvalidParameterValue"
    world.twin.detach_eni(eni)
    assert world.twin.enis_of(instance)[-1].device_index == 0
    world.twin.delete_eni(eni)
    assert world.twin.subnet_free(a) == free
    with pytest.raises(AwsError) as gone:
        world.twin.delete_eni(eni)
    assert gone.value.code == "InvalidNetworkInterfaceID.NotFound"
