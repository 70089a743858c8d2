"""`upgrader plan` and `upgrader stacks render` on stacks created from AWS's 2019 templates
(DESIGN §9).

The 2019 node-group template (LaunchConfiguration, NodeImageIdSSMParam, an ASG under
AutoScalingRollingUpdate) and the refarch control-plane template (ClusterVersion with
AllowedValues) are created in the Staging sandbox over HTTP, then planned through the
command line. Change sets are created, never executed: the control plane's changes a
parameter on the user's template; the node group's carries the launch-template migration
(AWS no longer creates launch configurations) with the new AMI parameter.
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
from tests.support.stack_lint import lint
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import load_template
from upgrader.planner.parameters import check_allowed_values
from upgrader.sandbox import control
from upgrader_stacks.migrate import migrate

pytestmark = pytest.mark.integration

SSM = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended/image_id"
NODEGROUP_TEMPLATE = "amazon-eks-ami/amazon-eks-nodegroup.yaml"
CLUSTER_TEMPLATE = "amazon-eks-refarch-cloudformation/cloudformation/cluster.yaml"
LEGACY = "staging-legacy"
READY_TIMEOUT_SECONDS = 30.0
PLAN_WRITES = frozenset({"CreateChangeSet", "DeleteChangeSet"})
# The user's own cfn-lint warnings on resources the migration keeps verbatim.
USER_WARNINGS = frozenset({"W3005", "W3687"})


class Legacy(SandboxClients):
    """The Staging sandbox plus a node group stack made from AWS's 2019 template (or from
    ``template``, a body with the same parameters)."""

    def __init__(
        self, running: control.Running, upstream: Path, template: str | None = None
    ) -> None:
        super().__init__(running)
        self.upstream = upstream
        self.template = template or (upstream / NODEGROUP_TEMPLATE).read_text()
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
            TemplateBody=self.template,
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

    def mutating_since(self, before: int) -> list[str]:
        """The mutating AWS actions logged after the first ``before`` requests."""
        return [r["action"] for r in self.aws_requests()[before:] if r["mutating"]]

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
    writes: list[str]  # the mutating AWS actions of the plan run


@pytest.fixture(scope="module")
def legacy_plan(legacy: Legacy, tmp_path_factory: pytest.TempPathFactory) -> LegacyPlan:
    """`upgrader plan` with staging-legacy added to the sandbox's config (run once)."""
    cfn = legacy.cfn
    template_before = cfn.get_template(StackName=LEGACY)["TemplateBody"]
    stack_before = cfn.describe_stacks(StackName=LEGACY)["Stacks"][0]
    tmp = tmp_path_factory.mktemp("legacy-plan")
    before = len(legacy.aws_requests())
    result, out, runbook = legacy.plan(tmp, legacy.config(tmp))
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return LegacyPlan(
        result,
        json.loads(out.read_text()),
        runbook.read_text(),
        template_before,
        stack_before,
        legacy.mutating_since(before),
    )


def _change_sets(cfn: Any, stack: str) -> list[dict[str, Any]]:
    return list(cfn.list_change_sets(StackName=stack)["Summaries"])


def _legacy_stack(legacy: Legacy, template: str) -> Stack:
    raw = legacy.cfn.describe_stacks(StackName=LEGACY)["Stacks"][0]
    return Stack(
        name=LEGACY,
        stack_id=raw["StackId"],
        status=raw["StackStatus"],
        parameters=tuple(
            sorted((p["ParameterKey"], p["ParameterValue"]) for p in raw["Parameters"])
        ),
        resources=(),
        template_body=template,
    )


def test_2019_nodegroup_change_set_migrates_it_to_a_launch_template(
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
    # the new template has no AutoScalingRollingUpdate: CloudFormation replaces no node
    assert params["update_policy"] == "none"
    template = params["template"]
    assert template["body"] == migrate(_legacy_stack(legacy, template_before))
    assert "NodeGroup launches from launch configuration NodeLaunchConfig" in template["reason"]
    assert "+    Type: AWS::EC2::LaunchTemplate" in template["diff"].splitlines()
    change_set = params["change_set"]
    assert change_set["status"] == "CREATE_COMPLETE"
    assert change_set["stack"] == LEGACY
    changes = {(c["action"], c["logical_id"], c["type"]) for c in change_set["changes"]}
    assert changes == {
        ("Remove", "NodeLaunchConfig", "AWS::AutoScaling::LaunchConfiguration"),
        ("Add", "NodeLaunchTemplate", "AWS::EC2::LaunchTemplate"),
        ("Modify", "NodeGroup", "AWS::AutoScaling::AutoScalingGroup"),
    }

    # Created on staging-legacy, never executed; the stack keeps its template until apply.
    (summary,) = _change_sets(cfn, LEGACY)
    assert summary["ChangeSetName"] == change_set["name"]
    assert (summary["Status"], summary["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    described = cfn.describe_change_set(StackName=LEGACY, ChangeSetName=change_set["name"])
    described_changes = {
        (c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
        for c in described["Changes"]
    }
    assert described_changes == {(a, logical) for a, logical, _ in changes}
    sent = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert sent["NodeImageIdSSMParam"] == SSM.format("1.13")
    assert sent["NodeImageId"] == ""  # the SSM path stays in charge of the AMI
    assert sent["KeyName"] == "legacy"  # every other parameter keeps its value
    stack_after = cfn.describe_stacks(StackName=LEGACY)["Stacks"][0]
    assert stack_after["StackStatus"] == "CREATE_COMPLETE"
    assert stack_after["Parameters"] == stack_before["Parameters"]
    assert cfn.get_template(StackName=LEGACY)["TemplateBody"] == template_before
    assert template_before == (legacy.upstream / NODEGROUP_TEMPLATE).read_text()

    # The plan's only AWS writes are its own change sets.
    assert legacy_plan.writes and set(legacy_plan.writes) <= PLAN_WRITES, legacy_plan.writes
    assert "CreateChangeSet" in legacy_plan.writes

    # The legacy node is rolled (drained) by upgrader like the scenario's own group.
    roll = steps["nodegroup-roll-legacy"]
    assert roll["params"]["kind"] == "self-managed"
    assert [i for wave in roll["params"]["waves"] for i in wave] == [legacy.instance_id]
    assert list(steps).index("nodegroup-roll-legacy") == list(steps).index(stack_step["id"]) + 1
    legacy_row = next(g for g in plan["context"]["nodegroups"] if g["name"] == "legacy")
    assert legacy_row["image_to"] == SSM.format("1.13")


def test_runbook_shows_the_template_change_and_no_cloudformation_roll(
    legacy_plan: LegacyPlan,
) -> None:
    text = legacy_plan.runbook
    section = text.split("Updates stack `staging-legacy`", 1)[1].split("\n### ", 1)[0]
    assert "the launch configuration becomes a launch template (diff below)" in section
    assert "**Template change** (the change set carries a new template):" in section
    diff = section.split("```diff\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert diff[:2] == [f"--- {LEGACY} (current template)", f"+++ {LEGACY} (change set template)"]
    assert "-    Type: AWS::AutoScaling::LaunchConfiguration" in diff
    assert "-      AutoScalingRollingUpdate:" in diff
    assert "+      AutoScalingScheduledAction:" in diff
    assert "| Remove | NodeLaunchConfig | AWS::AutoScaling::LaunchConfiguration |" in section
    assert "| Add | NodeLaunchTemplate | AWS::EC2::LaunchTemplate |" in section
    assert "No node is replaced by CloudFormation here" in section
    assert "termination lifecycle hook" not in section
    assert f"get-template --region ap-northeast-1 --stack-name {LEGACY}" in section
    assert "drains old nodes through the Eviction API" in text


def test_stacks_render_writes_the_templates_upgrader_would_own(
    legacy: Legacy, legacy_plan: LegacyPlan, tmp_path: Path
) -> None:
    before = len(legacy.aws_requests())
    out = tmp_path / "rendered"
    result = legacy.upgrader(
        "stacks", "render", "-c", str(legacy.config(tmp_path)), "-o", str(out),
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert legacy.mutating_since(before) == []  # discovery only
    rows = json.loads(result.stdout)["stacks"]
    planned = {
        s["params"]["stack"]: s["params"]
        for s in legacy_plan.plan["steps"]
        if s["kind"] == "nodegroup-stack"
    }
    # the scenario's own group is on upgrader's launch template or on AWS's 2019 template
    workers = "migration" if "template" in planned["staging-workers"] else "builder"
    assert [(r["stack"], r["kind"], r["source"]) for r in rows] == [
        ("staging-eks", "control-plane", "builder"),
        ("staging-workers", "self-managed", workers),
        (LEGACY, "self-managed", "migration"),
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{r['stack']}.yaml" for r in rows)
    for row in rows:
        body = Path(row["path"]).read_text()
        findings = lint(body)
        if row["source"] == "migration":  # exactly what the plan's change set carries
            assert body == planned[row["stack"]]["template"]["body"], row["stack"]
            findings = [f for f in findings if f.rule not in USER_WARNINGS]
        assert [str(f) for f in findings] == [], row["stack"]
    plane = load_template((out / "staging-eks.yaml").read_text())
    assert plane["Parameters"]["KubernetesVersion"]["Default"] == "1.13"
    if workers == "builder":
        params = load_template((out / "staging-workers.yaml").read_text())["Parameters"]
        assert params["NodeImageIdSSMParam"]["Default"] == SSM.format("1.13")
        assert params["VpcId"]["Default"] == legacy.vpc_id

    text = legacy.upgrader(
        "stacks", "render", "-c", str(legacy.config(tmp_path)), "-o", str(out), "--to", "1.14",
        cwd=tmp_path,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[:2] == ["| stack | kind | source | path |", "|---|---|---|---|"]
    assert f"| {LEGACY} | self-managed | migration | {out / LEGACY}.yaml |" in text.stdout
    plane = load_template((out / "staging-eks.yaml").read_text())
    assert plane["Parameters"]["KubernetesVersion"]["Default"] == "1.14"


def test_stacks_render_bad_input_exits_2_and_writes_nothing(legacy: Legacy, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    bad = legacy.config(tmp_path, stacks={"control_plane": "staging-eks", "nodegroups": ["nope"]})
    result = legacy.upgrader("stacks", "render", "-c", str(bad), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "stack nope" in result.stderr and "fix:" in result.stderr
    assert not out.exists()
    version = legacy.upgrader(
        "stacks", "render", "-c", str(legacy.config(tmp_path)), "-o", str(out), "--to", "1.99",
        cwd=tmp_path,
    )  # fmt: skip
    assert version.returncode == 2 and "target.kubernetes" in version.stderr
    assert not out.exists()


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
