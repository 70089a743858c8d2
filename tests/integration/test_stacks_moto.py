"""The self-managed node group template deployed into a plain moto server over HTTP."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from moto.ssm.models import Parameter, ssm_backends

from upgrader.catalog.versions import catalog
from upgrader_stacks.render import render
from upgrader_stacks.self_managed import self_managed_nodegroup_template
from upgrader_stacks.specs import SelfManagedNodegroupSpec

pytestmark = pytest.mark.integration

REGION = "us-west-2"
AMI = "ami-0eks112aaaaaaaaaa"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's account for the "testing" credentials


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def seed_ami_parameter(name: str, value: str) -> None:
    """EKS AMI parameters are reserved names: put_parameter refuses them, as AWS does."""
    ssm_backends[DEFAULT_ACCOUNT_ID][REGION]._parameters[name].append(
        Parameter(
            account_id=DEFAULT_ACCOUNT_ID,
            name=name,
            value=value,
            parameter_type="String",
            description=None,
            allowed_pattern=None,
            keyid=None,
            last_modified_date=datetime.now(UTC),
            version=1,
            data_type="aws:ec2:image",
        )
    )


@pytest.mark.integration
def test_self_managed_stack_launches_nodes_from_the_catalog_ami(endpoint: str) -> None:
    ec2 = client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
        for cidr, az in (("10.0.0.0/24", "us-west-2a"), ("10.0.1.0/24", "us-west-2b"))
    )
    seed_ami_parameter(catalog().kubernetes("1.12").ami_ssm_parameter(), AMI)
    spec = SelfManagedNodegroupSpec(
        cluster_name="staging",
        nodegroup_name="workers",
        kubernetes_version="1.12",
        vpc_id=vpc,
        subnet_ids=subnets,
        instance_type="r5.xlarge",
        min_size=2,
        desired_size=2,
        max_size=4,
        max_pods=58,
    )
    cfn = client(endpoint, "cloudformation")
    cfn.create_stack(
        StackName="staging-workers",
        TemplateBody=render(self_managed_nodegroup_template(spec)),
        Capabilities=["CAPABILITY_IAM"],
        # moto 5.2.5 does not split the Default of a List<...> parameter; AWS does.
        Parameters=[{"ParameterKey": "Subnets", "ParameterValue": ",".join(subnets)}],
    )
    cfn.get_waiter("stack_create_complete").wait(
        StackName="staging-workers", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName="staging-workers")["Stacks"][0]["Outputs"]
    }
    asg = client(endpoint, "autoscaling")
    (group,) = asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["NodeAutoScalingGroup"]]
    )["AutoScalingGroups"]
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (2, 2, 4)
    assert group["LaunchTemplate"]["LaunchTemplateId"] == outputs["NodeLaunchTemplate"]
    assert "LaunchConfigurationName" not in group
    tags = {t["Key"]: t["Value"] for t in group["Tags"]}
    assert tags["Name"] == "staging-workers-Node"
    assert tags["kubernetes.io/cluster/staging"] == "owned"

    ids = [i["InstanceId"] for i in group["Instances"]]
    assert len(ids) == 2
    reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert {i["ImageId"] for i in instances} == {AMI}
    assert {i["InstanceType"] for i in instances} == {"r5.xlarge"}
    assert {i["SubnetId"] for i in instances} <= set(subnets)
    assert asg.describe_launch_configurations()["LaunchConfigurations"] == []

    (version,) = ec2.describe_launch_template_versions(
        LaunchTemplateId=outputs["NodeLaunchTemplate"]
    )["LaunchTemplateVersions"]
    user_data = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    assert (
        "/etc/eks/bootstrap.sh staging --use-max-pods false --kubelet-extra-args '--max-pods=58'"
        in user_data
    )
