"""`upgrader plan` adopts stacks created from AWS's 2019 templates (DESIGN §9).

The 2019 node-group template (LaunchConfiguration, NodeImageIdSSMParam, an ASG under
AutoScalingRollingUpdate) and the refarch control-plane template (ClusterVersion with
AllowedValues) are created in the Staging sandbox over HTTP, then planned through the
command line: parameters change through change sets that are never executed, the user's
template is kept, and CloudFormation's own rolling update is spelled out.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.planner.parameters import check_allowed_values
from upgrader.sandbox import control

pytestmark = pytest.mark.integration

SSM = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended/image_id"
NODEGROUP_TEMPLATE = "amazon-eks-ami/amazon-eks-nodegroup.yaml"
CLUSTER_TEMPLATE = "amazon-eks-refarch-cloudformation/cloudformation/cluster.yaml"
LEGACY = "staging-legacy"
READY_TIMEOUT_SECONDS = 30.0


class Legacy(SandboxClients):
    """The Staging sandbox plus a node group stack made from AWS's 2019 template."""

    def __init__(self, running: control.Running, upstream: Path) -> None:
        super().__init__(running)
        self.upstream = upstream
        self.vpc_id: str = self.ec2.describe_vpcs(
            Filters=[{"Name": "tag:Name", "Values": ["staging-vpc"]}]
        )["Vpcs"][0]["VpcId"]
        self.subnet_ids: dict[str, str] = {}
        for subnet in self.ec2.describe_subnets(
            Filters=[{"Name": "tag:Name", "Values": ["private-a", "private-c"]}]
        )["Subnets"]:
            name = next(t["Value"] for t in subnet["Tags"] if t["Key"] == "Name")
            self.subnet_ids[name] = subnet["SubnetId"]
        group = self.ec2.create_security_group(
            GroupName="legacy-control-plane",
            Description="2019 control plane",
            VpcId=self.vpc_id,
        )["GroupId"]
        self.ec2.create_key_pair(KeyName="legacy")
        self.cfn.create_stack(
            StackName=LEGACY,
            TemplateBody=(upstream / NODEGROUP_TEMPLATE).read_text(),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=_parameters(
                ClusterName="staging",
                ClusterControlPlaneSecurityGroup=group,
                NodeGroupName="legacy",
                NodeImageIdSSMParam=SSM.format("1.12"),
                NodeInstanceType="r5.xlarge",
                NodeAutoScalingGroupMinSize="1",
                NodeAutoScalingGroupDesiredCapacity="1",
                NodeAutoScalingGroupMaxSize="2",
                KeyName="legacy",
                VpcId=self.vpc_id,
                Subnets=f"{self.subnet_ids['private-a']},{self.subnet_ids['private-c']}",
            ),
        )
        self.created(LEGACY)
        (self.instance_id,) = self.legacy_instances()
        self.node = self.ready_node(self.instance_id)

    def config(self, tmp: Path, **changes: Any) -> Path:
        """The sandbox's upgrader.yaml with staging-legacy added, then ``changes`` applied."""
        raw = yaml.safe_load(self.running.config.read_text())
        raw["stacks"]["nodegroups"].append(LEGACY)
        raw.update(changes)
        path = tmp / "upgrader.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    def plan(
        self, tmp: Path, config: Path, *extra: str
    ) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
        out, runbook = tmp / "plan.json", tmp / "runbook.md"
        args = ["plan", "-c", str(config), "--out", str(out), "--runbook", str(runbook), *extra]
        return self.upgrader(*args, cwd=tmp), out, runbook

    def created(self, name: str) -> dict[str, Any]:
        """Wait for stack ``name`` to be created; its DescribeStacks entry."""
        stack = self.settled_stack(name, READY_TIMEOUT_SECONDS)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        return stack

    def create_cluster_stack(self, name: str, cluster: str, version: str) -> dict[str, Any]:
        """A control-plane stack from the refarch 2019 cluster.yaml; its DescribeStacks."""
        self.cfn.create_stack(
            StackName=name,
            TemplateBody=(self.upstream / CLUSTER_TEMPLATE).read_text(),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=_parameters(
                ClusterName=cluster,
                ClusterVersion=version,
                VpcId=self.vpc_id,
                SubnetIds=",".join(self.subnet_ids.values()),
            ),
        )
        return self.created(name)

    def legacy_asg(self) -> str:
        resources = self.cfn.describe_stack_resources(StackName=LEGACY)["StackResources"]
        return str(
            next(
                r["PhysicalResourceId"]
                for r in resources
                if r.get("LogicalResourceId") == "NodeGroup"
            )
        )

    def legacy_instances(self) -> list[str]:
        groups = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[self.legacy_asg()])
        (group,) = groups["AutoScalingGroups"]
        return [i["InstanceId"] for i in group["Instances"]]

    def ready_node(self, instance_id: str) -> str:
        """Wait until the Node of ``instance_id`` is Ready; its name."""

        def ready() -> str:
            for node in self.core.list_node().items:
                if not (node.spec.provider_id or "").endswith("/" + instance_id):
                    continue
                conditions = node.status.conditions or []
                if any(c.type == "Ready" and c.status == "True" for c in conditions):
                    return str(node.metadata.name)
            return ""

        return wait_for(ready, f"a Ready node for {instance_id}", READY_TIMEOUT_SECONDS)


def _parameters(**values: str) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory, upstream: Path) -> Iterator[Legacy]:
    yield from sandbox(tmp_path_factory, "staging", lambda running: Legacy(running, upstream))


@dataclass(frozen=True)
class LegacyPlan:
    result: subprocess.CompletedProcess[str]
    plan: dict[str, Any]
    runbook: str
    template_before: str
    stack_before: dict[str, Any]


@pytest.fixture(scope="module")
def legacy_plan(legacy: Legacy, tmp_path_factory: pytest.TempPathFactory) -> LegacyPlan:
    """`upgrader plan` with staging-legacy added to the sandbox's config (run once)."""
    cfn = legacy.cfn
    template_before = cfn.get_template(StackName=LEGACY)["TemplateBody"]
    stack_before = cfn.describe_stacks(StackName=LEGACY)["Stacks"][0]
    tmp = tmp_path_factory.mktemp("legacy-plan")
    result, out, runbook = legacy.plan(tmp, legacy.config(tmp))
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return LegacyPlan(
        result, json.loads(out.read_text()), runbook.read_text(), template_before, stack_before
    )


def _change_sets(cfn: Any, stack: str) -> list[dict[str, Any]]:
    return list(cfn.list_change_sets(StackName=stack)["Summaries"])


def test_2019_nodegroup_gets_only_its_ami_through_an_unexecuted_change_set(
    legacy: Legacy, legacy_plan: LegacyPlan
) -> None:
    cfn = legacy.cfn
    template_before, stack_before = legacy_plan.template_before, legacy_plan.stack_before
    plan = legacy_plan.plan
    assert plan["findings"] == [] and not plan["blocked"]
    steps = {s["id"]: s for s in plan["steps"]}

    stack_step = steps["nodegroup-stack-legacy"]
    params = stack_step["params"]
    assert params["stack"] == LEGACY
    assert params["parameters"] == {"NodeImageIdSSMParam": SSM.format("1.13")}
    assert params["update_policy"] == (
        "AutoScalingRollingUpdate on NodeGroup: executing this change set makes CloudFormation "
        "replace the group's nodes itself, 1 at a time, keeping 1 "
        "(NodeAutoScalingGroupDesiredCapacity) in service and pausing PT5M between batches, "
        "WITHOUT cordoning or draining them (pods die with their node, PodDisruptionBudgets "
        "are ignored)"
    )
    change_set = params["change_set"]
    assert change_set["status"] == "CREATE_COMPLETE"
    assert change_set["stack"] == LEGACY

    # Created on staging-legacy, never executed, and the user's template kept.
    (summary,) = _change_sets(cfn, LEGACY)
    assert summary["ChangeSetName"] == change_set["name"]
    assert (summary["Status"], summary["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    described = cfn.describe_change_set(StackName=LEGACY, ChangeSetName=change_set["name"])
    sent = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert sent["NodeImageIdSSMParam"] == SSM.format("1.13")
    assert sent["NodeImageId"] == ""  # the SSM path stays in charge of the AMI
    stack_after = cfn.describe_stacks(StackName=LEGACY)["Stacks"][0]
    assert stack_after["StackStatus"] == "CREATE_COMPLETE"
    assert stack_after["Parameters"] == stack_before["Parameters"]
    assert cfn.get_template(StackName=LEGACY)["TemplateBody"] == template_before
    assert template_before == (legacy.upstream / NODEGROUP_TEMPLATE).read_text()

    # The legacy node is rolled (drained) by upgrader like the scenario's own group.
    roll = steps["nodegroup-roll-legacy"]
    assert roll["params"]["kind"] == "self-managed"
    assert [i for wave in roll["params"]["waves"] for i in wave] == [legacy.instance_id]
    assert list(steps).index("nodegroup-roll-legacy") == list(steps).index(stack_step["id"]) + 1
    legacy_row = next(g for g in plan["context"]["nodegroups"] if g["name"] == "legacy")
    assert legacy_row["image_to"] == SSM.format("1.13")

    text = legacy_plan.runbook
    assert params["update_policy"] in text
    assert change_set["name"] in text
    assert (
        "`AutoScalingRollingUpdate` terminates instances in batches without cordoning or"
        " draining them"
    ) in text
    assert "drains old nodes through the Eviction API" in text


def test_runbook_does_not_deny_cloudformation_replacing_legacy_nodes(
    legacy_plan: LegacyPlan,
) -> None:
    section = legacy_plan.runbook.split("Updates stack `staging-legacy`", 1)[1][:1500]
    assert "No node is replaced by CloudFormation here" not in section
    assert "CloudFormation replaces the group's nodes itself during this stack update" in section
    assert "termination lifecycle hook `upgrader-drain`" in section


def test_refarch_control_plane_gets_cluster_version_through_a_change_set(
    legacy: Legacy, tmp_path: Path
) -> None:
    cfn = legacy.cfn
    legacy.create_cluster_stack("legacy-eks", "legacy", "1.12")
    template_before = cfn.get_template(StackName="legacy-eks")["TemplateBody"]
    assert legacy.eks.describe_cluster(name="legacy")["cluster"]["version"] == "1.12"
    config = legacy.config(
        tmp_path, cluster="legacy", stacks={"control_plane": "legacy-eks", "nodegroups": [LEGACY]}
    )

    result, out, _ = legacy.plan(tmp_path, config)
    assert result.returncode == 0, result.stdout + result.stderr
    plan = json.loads(out.read_text())
    step = next(s for s in plan["steps"] if s["kind"] == "control-plane")
    params = step["params"]
    assert (params["stack"], params["parameter"]) == ("legacy-eks", "ClusterVersion")
    assert (params["from"], params["to"]) == ("1.12", "1.13")
    assert params["change_set"]["status"] == "CREATE_COMPLETE"
    described = cfn.describe_change_set(
        StackName="legacy-eks", ChangeSetName=params["change_set"]["name"]
    )
    assert described["ExecutionStatus"] == "AVAILABLE"
    sent = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert sent["ClusterVersion"] == "1.13" and sent["ClusterName"] == "legacy"
    assert cfn.describe_stacks(StackName="legacy-eks")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    assert cfn.get_template(StackName="legacy-eks")["TemplateBody"] == template_before
    assert legacy.eks.describe_cluster(name="legacy")["cluster"]["version"] == "1.12"


def test_version_beyond_the_templates_allowed_values_exits_2_naming_the_limit(
    legacy: Legacy, tmp_path: Path
) -> None:
    legacy.create_cluster_stack("legacy13-eks", "legacy13", "1.13")
    config = legacy.config(
        tmp_path,
        cluster="legacy13",
        stacks={"control_plane": "legacy13-eks", "nodegroups": []},
    )
    before = len(legacy.aws_requests())

    result, out, _ = legacy.plan(tmp_path, config, "--to", "1.14")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "stack legacy13-eks" in result.stderr
    assert "ClusterVersion=1.14" in result.stderr
    assert "AllowedValues for ClusterVersion are 1.10, 1.11, 1.12, 1.13, latest" in result.stderr
    assert "fix:" in result.stderr
    assert not out.exists()
    assert not [c for c in legacy.aws_requests()[before:] if c["mutating"]]
    assert _change_sets(legacy.cfn, "legacy13-eks") == []


def test_allowed_values_are_read_as_cloudformation_reads_them(upstream: Path) -> None:
    body = (upstream / CLUSTER_TEMPLATE).read_text().replace('"1.10"', "1.10")  # unquoted
    stack = Stack(
        name="eks",
        stack_id="arn:aws:cloudformation:ap-northeast-1:123456789012:stack/eks/1",
        status="CREATE_COMPLETE",
        parameters=(("ClusterVersion", "1.12"),),
        resources=(),
        template_body=body,
    )
    check_allowed_values(stack, {"ClusterVersion": "1.10"})  # "1.10", not the float 1.1
    check_allowed_values(stack, {"ClusterName": "anything"})  # no AllowedValues
    with pytest.raises(BadInputError, match=r"AllowedValues for ClusterVersion are 1\.10, 1\.11"):
        check_allowed_values(stack, {"ClusterVersion": "1.14"})
