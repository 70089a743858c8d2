"""The AWS CLI (its own botocore, its own venv in CI) makes the EKS, EC2, Auto Scaling,
CloudFormation and SSM calls upgrader makes, against the Staging twin, and reads what
boto3 and the Kubernetes API see."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox

AWS = shutil.which("aws")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed (.ci/run installs it)"),
]
AL2 = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended/image_id"


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "staging")


def aws(live: SandboxClients, *args: str) -> Any:
    """``aws ARGS --output json`` with nothing but the sandbox's env file for credentials."""
    assert AWS is not None
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(live.running.directory),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **{k: v for k, v in live.env.items() if k.startswith("AWS_")},
    }
    done = subprocess.run(
        [AWS, *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (args, done.stderr)
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_eks_describe_cluster_and_updates(staging: SandboxClients) -> None:
    cluster = aws(staging, "eks", "describe-cluster", "--name", "staging")["cluster"]
    assert cluster["version"] == "1.12" and cluster["status"] == "ACTIVE"
    pem = base64.b64decode(cluster["certificateAuthority"]["data"]).decode()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert cluster["endpoint"] == staging.api.configuration.host
    assert aws(staging, "eks", "list-updates", "--name", "staging")["updateIds"] == []
    assert aws(staging, "eks", "list-nodegroups", "--cluster-name", "staging")["nodegroups"] == []


def test_ec2_instances_subnets_and_enis_agree_with_the_cluster(staging: SandboxClients) -> None:
    reservations = aws(
        staging,
        "ec2",
        "describe-instances",
        "--filters",
        "Name=tag:kubernetes.io/cluster/staging,Values=owned",
        "Name=instance-state-name,Values=running",
    )["Reservations"]
    instances = {i["InstanceId"]: i for r in reservations for i in r["Instances"]}
    nodes = {n.spec.provider_id.rsplit("/", 1)[1]: n for n in staging.core.list_node().items}
    assert set(instances) == set(nodes)
    for instance_id, instance in instances.items():
        assert instance["PrivateDnsName"] == nodes[instance_id].metadata.name
    enis = aws(
        staging,
        "ec2",
        "describe-network-interfaces",
        "--filters",
        "Name=description,Values=aws-K8S-*",
    )["NetworkInterfaces"]
    assert {e["Attachment"]["InstanceId"] for e in enis} == set(instances)
    subnets = aws(staging, "ec2", "describe-subnets")["Subnets"]
    named = {t["Value"]: s for s in subnets for t in s.get("Tags", []) if t["Key"] == "Name"}
    assert {"private-a", "private-c"} <= set(named)
    boto_free = {
        s["SubnetId"]: s["AvailableIpAddressCount"]
        for s in staging.ec2.describe_subnets()["Subnets"]
    }
    assert {s["SubnetId"]: s["AvailableIpAddressCount"] for s in subnets} == boto_free
    types = aws(staging, "ec2", "describe-instance-types", "--instance-types", "r5.xlarge")
    network = types["InstanceTypes"][0]["NetworkInfo"]
    assert (network["MaximumNetworkInterfaces"], network["Ipv4AddressesPerInterface"]) == (4, 15)


def test_autoscaling_reads_and_the_writes_a_roll_makes(staging: SandboxClients) -> None:
    (group,) = aws(staging, "autoscaling", "describe-auto-scaling-groups")["AutoScalingGroups"]
    name = group["AutoScalingGroupName"]
    assert group["DesiredCapacity"] == len(group["Instances"]) == 2
    one = group["Instances"][0]["InstanceId"]
    seen = aws(staging, "autoscaling", "describe-auto-scaling-instances", "--instance-ids", one)
    assert seen["AutoScalingInstances"][0]["AutoScalingGroupName"] == name

    aws(staging, "autoscaling", "suspend-processes", "--auto-scaling-group-name", name,
        "--scaling-processes", "AZRebalance", "ReplaceUnhealthy")  # fmt: skip
    aws(staging, "autoscaling", "put-lifecycle-hook", "--auto-scaling-group-name", name,
        "--lifecycle-hook-name", "drain", "--lifecycle-transition",
        "autoscaling:EC2_INSTANCE_TERMINATING", "--heartbeat-timeout", "600")  # fmt: skip
    (group,) = staging.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ]
    assert {p["ProcessName"] for p in group["SuspendedProcesses"]} == {
        "AZRebalance",
        "ReplaceUnhealthy",
    }
    hooks = staging.asg.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"]
    assert [h["LifecycleHookName"] for h in hooks] == ["drain"]
    aws(staging, "autoscaling", "delete-lifecycle-hook", "--auto-scaling-group-name", name,
        "--lifecycle-hook-name", "drain")  # fmt: skip
    aws(staging, "autoscaling", "resume-processes", "--auto-scaling-group-name", name)
    (group,) = staging.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"
    ]
    assert group["SuspendedProcesses"] == []


def test_cloudformation_change_set_and_ssm(staging: SandboxClients) -> None:
    stacks = aws(staging, "cloudformation", "describe-stacks")["Stacks"]
    assert {s["StackName"]: s["StackStatus"] for s in stacks} == {
        "staging-eks": "CREATE_COMPLETE",
        "staging-workers": "CREATE_COMPLETE",
    }
    resources = aws(
        staging, "cloudformation", "list-stack-resources", "--stack-name", "staging-eks"
    )["StackResourceSummaries"]
    assert "AWS::EKS::Cluster" in {r["ResourceType"] for r in resources}
    template = aws(staging, "cloudformation", "get-template", "--stack-name", "staging-workers")
    assert "NodeLaunchConfig" in json.dumps(template["TemplateBody"])

    image = aws(staging, "ssm", "get-parameters", "--names", AL2.format("1.13"))["Parameters"]
    assert image[0]["Value"].startswith("ami-")
    aws(staging, "cloudformation", "create-change-set", "--stack-name", "staging-workers",
        "--change-set-name", "cli-ami", "--use-previous-template", "--parameters",
        f"ParameterKey=NodeImageIdSSMParam,ParameterValue={AL2.format('1.13')}",
        *[f"ParameterKey={k},UsePreviousValue=true" for k in _other_parameters(staging)],
        "--capabilities", "CAPABILITY_IAM")  # fmt: skip
    staging_sets = aws(
        staging, "cloudformation", "list-change-sets", "--stack-name", "staging-workers"
    )["Summaries"]
    assert [s["ChangeSetName"] for s in staging_sets] == ["cli-ami"]
    described = _settled_change_set(staging)
    changes = {c["ResourceChange"]["LogicalResourceId"]: c for c in described["Changes"]}
    launch_config = changes["NodeLaunchConfig"]["ResourceChange"]
    assert launch_config["Action"] == "Modify" and launch_config["Replacement"] == "True"
    assert {d["CausingEntity"] for d in launch_config["Details"]} >= {"NodeImageIdSSMParam"}
    aws(staging, "cloudformation", "delete-change-set", "--stack-name", "staging-workers",
        "--change-set-name", "cli-ami")  # fmt: skip
    assert not aws(
        staging, "cloudformation", "list-change-sets", "--stack-name", "staging-workers"
    )["Summaries"]


def _other_parameters(live: SandboxClients) -> list[str]:
    (stack,) = live.cfn.describe_stacks(StackName="staging-workers")["Stacks"]
    return [
        p["ParameterKey"] for p in stack["Parameters"] if p["ParameterKey"] != "NodeImageIdSSMParam"
    ]


def _settled_change_set(live: SandboxClients) -> dict[str, Any]:
    for _ in range(100):
        found: dict[str, Any] = aws(
            live, "cloudformation", "describe-change-set", "--stack-name", "staging-workers",
            "--change-set-name", "cli-ami",
        )  # fmt: skip
        if found["Status"] not in {"CREATE_PENDING", "CREATE_IN_PROGRESS"}:
            assert found["Status"] == "CREATE_COMPLETE", found
            return found
    raise AssertionError("the change set never settled")
