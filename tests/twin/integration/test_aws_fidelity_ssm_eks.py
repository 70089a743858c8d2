"""SSM public parameters and EKS answer like AWS (boto3 and the AWS CLI over real HTTP)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from cryptography import x509

from ekstwin.aws import AwsTwin
from tests.twin.integration.test_aws_twin import NODE_ROLE, ROLE, World, cluster_template

pytestmark = pytest.mark.integration

BASE = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended"
AL2023 = "/aws/service/eks/optimized-ami/{}/amazon-linux-2023/x86_64/standard/recommended"


class PlainWorld(World):
    """A twin started without a sandbox CA (as upgrade tools meet EKS)."""

    def __init__(self) -> None:
        super().__init__()
        self.twin.stop()
        self.twin = AwsTwin(self.clock, region="us-west-2", kube_endpoint="https://127.0.0.1:1")
        self.url = self.twin.start()
        self.twin.seed_eks_amis()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = PlainWorld()
    yield made
    made.twin.stop()


def test_recommended_parameters_as_aws_names_them(world: World) -> None:
    ssm = world.client("ssm")
    base = BASE.format("1.13")
    image = world.twin.ami_for("1.13")
    document = json.loads(ssm.get_parameter(Name=base)["Parameter"]["Value"])
    assert document == {
        "schema_version": "3",
        "image_id": image,
        "image_name": "amazon-eks-node-1.13-v20240101",
        "release_version": document["release_version"],
    }
    assert document["release_version"].startswith("1.13.")
    children = {
        p["Name"].rsplit("/", 1)[-1]: p["Value"]
        for p in ssm.get_parameters_by_path(Path=base)["Parameters"]
    }
    assert children["image_id"] == image
    assert children["image_name"] == document["image_name"]
    assert children["release_version"] == document["release_version"]
    named = ssm.get_parameter(Name=f"{base}/image_id")["Parameter"]
    assert named["ARN"] == f"arn:aws:ssm:us-west-2::parameter{base}/image_id"
    assert named["DataType"] == "aws:ec2:image"
    everything = ssm.get_parameters_by_path(
        Path="/aws/service/eks/optimized-ami/1.13", Recursive=True
    )["Parameters"]
    assert {f"{base}/image_id", base} <= {p["Name"] for p in everything}
    new = json.loads(ssm.get_parameter(Name=AL2023.format("1.30"))["Parameter"]["Value"])
    assert (
        new["image_id"]
        == ssm.get_parameter(Name=f"{AL2023.format('1.30')}/image_id")["Parameter"]["Value"]
    )
    assert new["image_id"] != world.twin.ami_for("1.13")


def test_own_parameters_keep_the_account_in_their_arn(world: World) -> None:
    ssm = world.client("ssm")
    ssm.put_parameter(Name="/mine/value", Value="x", Type="String")
    arn = ssm.get_parameter(Name="/mine/value")["Parameter"]["ARN"]
    assert arn == "arn:aws:ssm:us-west-2:123456789012:parameter/mine/value"


def test_cluster_ca_is_a_real_certificate(world: World) -> None:
    eks = world.client("eks")
    a, b = world.subnets()
    eks.create_cluster(name="ca", roleArn=ROLE, resourcesVpcConfig={"subnetIds": [a, b]})
    data = eks.describe_cluster(name="ca")["cluster"]["certificateAuthority"]["data"]
    pem = base64.b64decode(data)
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    certificate = x509.load_pem_x509_certificate(pem)
    assert certificate.subject == certificate.issuer  # self-signed CA
    basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca


def test_cluster_version_update_waits_for_nodegroups_and_other_updates(world: World) -> None:
    eks = world.client("eks")
    a, b = world.subnets()
    eks.create_cluster(
        name="gated", version="1.12", roleArn=ROLE, resourcesVpcConfig={"subnetIds": [a, b]}
    )
    eks.create_nodegroup(
        clusterName="gated", nodegroupName="ng", nodeRole=NODE_ROLE, subnets=[a, b]
    )
    eks.update_cluster_version(name="gated", version="1.13")
    with pytest.raises(ClientError) as busy:
        eks.update_cluster_version(name="gated", version="1.13")
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"
    assert "currently has update" in str(busy.value)
    world.later(41 * 60)
    assert eks.describe_cluster(name="gated")["cluster"]["version"] == "1.13"
    with pytest.raises(ClientError) as behind:
        eks.update_cluster_version(name="gated", version="1.14")
    assert behind.value.response["Error"]["Code"] == "InvalidParameterException"
    assert behind.value.response["Error"]["Message"] == (
        "Nodegroups ng must be updated to match cluster version 1.13 before updating "
        "cluster version"
    )
    with pytest.raises(ClientError, match="Unsupported Kubernetes minor version update"):
        eks.update_cluster_version(name="gated", version="1.15")
    # (a node group made through the API has no Auto Scaling group in the twin to update)
    eks.delete_nodegroup(clusterName="gated", nodegroupName="ng")
    assert eks.update_cluster_version(name="gated", version="1.14")["update"]["status"] == (
        "InProgress"
    )


def test_stack_version_change_fails_while_a_nodegroup_is_behind(world: World) -> None:
    cfn, eks = world.client("cloudformation"), world.client("eks")
    subnets = world.subnets()
    body = json.dumps(cluster_template("stacked", subnets))
    params = [{"ParameterKey": "Version", "ParameterValue": "1.12"}]
    cfn.create_stack(StackName="stacked", TemplateBody=body, Parameters=params)
    eks.create_nodegroup(
        clusterName="stacked", nodegroupName="old", nodeRole=NODE_ROLE, subnets=list(subnets),
        version="1.12",
    )  # fmt: skip
    eks.update_cluster_version(name="stacked", version="1.13")
    world.later(41 * 60)
    params = [{"ParameterKey": "Version", "ParameterValue": "1.14"}]
    cfn.update_stack(StackName="stacked", TemplateBody=body, Parameters=params)
    stack = cfn.describe_stacks(StackName="stacked")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cfn.describe_stack_events(StackName="stacked")["StackEvents"]
    ]
    assert any("must be updated to match cluster version 1.13" in r for r in reasons)
    assert eks.describe_cluster(name="stacked")["cluster"]["version"] == "1.13"


def aws_cli(world: World, *args: str) -> object:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        ["aws", "--endpoint-url", world.url, "--output", "json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli_reads_the_twin(world: World) -> None:
    name = f"{BASE.format('1.13')}/image_id"
    found = aws_cli(world, "ssm", "get-parameter", "--name", name)
    assert isinstance(found, dict)
    assert found["Parameter"]["Value"] == world.twin.ami_for("1.13")
    a, b = world.subnets()
    world.client("ec2").create_launch_template(
        LaunchTemplateName="cli", LaunchTemplateData={"ImageId": world.twin.ami_for("1.13")}
    )
    world.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="cli",
        MinSize=1,
        MaxSize=2,
        LaunchTemplate={"LaunchTemplateName": "cli"},
        VPCZoneIdentifier=f"{a},{b}",
    )
    groups = aws_cli(
        world, "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "cli"
    )
    assert isinstance(groups, dict)
    only = groups["AutoScalingGroups"][0]
    assert only["LaunchTemplate"]["LaunchTemplateName"] == "cli"
    assert len(only["Instances"]) == 1
