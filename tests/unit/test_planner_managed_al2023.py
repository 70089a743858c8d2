"""A managed node group on Amazon Linux 2 planned to 1.33 (no AL2 AMI): blue/green in its
own stack. The stack step adds the successor group, the roll drains into it, the retire
step removes the old group; templates lint clean; a later hop rolls the successor; AMI001
blocks what upgrader cannot move; the renderer retargets every reference."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from tests.support.stack_lint import check_eks_versions, lint
from tests.unit.al2_states import al2
from tests.unit.cluster_states import config
from upgrader.model.aws import ManagedNodegroup, Stack
from upgrader.model.managed_ami import managed_move, successor_name, without_resource
from upgrader.model.plan import Plan, Severity
from upgrader.model.state import ClusterState
from upgrader.model.steps import NodegroupRollStep, NodegroupStackStep
from upgrader.pipeline.plan import rendered_templates
from upgrader.planner import make_plan
from upgrader.planner.hops import is_multi_hop
from upgrader.runbook import render
from upgrader_stacks.managed import managed_nodegroup_template
from upgrader_stacks.managed_al2023 import migrate_managed_al2023
from upgrader_stacks.render import render_yaml
from upgrader_stacks.specs import ManagedNodegroupSpec

GENERAL = "modern-general"


def managed_al2(minor: str = "1.32", **group: object) -> ClusterState:
    """Modern at ``minor`` on Amazon Linux 2, its managed group's stack made by ``stacks/``."""
    state = al2(minor)
    (mng,) = state.managed_nodegroups
    body = render_yaml(
        managed_nodegroup_template(
            ManagedNodegroupSpec(
                cluster_name=state.cluster.name,
                nodegroup_name=mng.name,
                kubernetes_version="1.29",
                subnet_ids=mng.subnet_ids,
                instance_type=mng.instance_types[0],
                min_size=mng.min_size,
                desired_size=mng.desired,
                max_size=mng.max_size,
                ami_family="amazon-linux-2",
            )
        )
    )
    stacks = tuple(replace(s, template_body=body) if s.name == GENERAL else s for s in state.stacks)
    moved = replace(mng, **{"ami_type": "AL2_x86_64", **group})  # type: ignore[arg-type]
    return replace(state, stacks=stacks, managed_nodegroups=(moved,))


def plan(state: ClusterState, target: str = "1.33") -> Plan:
    cfg = config(state, target=target)
    if is_multi_hop(state, cfg):
        return make_plan(state, cfg, render_hop=rendered_templates)
    return make_plan(state, cfg, templates=rendered_templates(state, cfg))


def general(p: Plan) -> list[NodegroupStackStep | NodegroupRollStep]:
    return [
        s
        for s in p.steps
        if isinstance(s, NodegroupStackStep | NodegroupRollStep) and s.stack == GENERAL
    ]


def test_to_1_33_the_group_moves_to_a_successor_in_three_steps() -> None:
    state = managed_al2()
    p = plan(state)
    assert not p.blocked, p.findings
    stack, roll, retire = general(p)
    assert [stack.id, roll.id, retire.id] == [
        "nodegroup-stack-general",
        "nodegroup-roll-general",
        "nodegroup-retire-general",
    ]
    assert isinstance(stack, NodegroupStackStep) and isinstance(retire, NodegroupStackStep)
    assert isinstance(roll, NodegroupRollStep)
    assert dict(stack.parameters) == {"KubernetesVersion": "1.33"}
    assert stack.template is not None and stack.retires is None
    body = yaml.safe_load(stack.template.body)
    old, new = body["Resources"]["Nodegroup"], body["Resources"]["NodegroupAL2023"]
    assert old["Properties"]["Version"] == "1.32"  # pinned where it runs
    assert old["Properties"]["AmiType"] == "AL2_x86_64"
    assert new["Properties"]["Version"] == {"Ref": "KubernetesVersion"}
    assert new["Properties"]["AmiType"] == "AL2023_x86_64_STANDARD"
    assert new["Properties"]["NodegroupName"] == "general-al2023"
    assert "1.33" in body["Parameters"]["KubernetesVersion"]["AllowedValues"]
    assert body["Outputs"]["NodegroupName"]["Value"] == {
        "Fn::GetAtt": ["NodegroupAL2023", "NodegroupName"]
    }
    assert "cannot change in place" in stack.template.reason
    # the successor launches the whole group at once: one wave of every old node
    assert roll.successor == "general-al2023"
    assert [len(w) for w in roll.waves] == [3]
    assert retire.retires == "general" and retire.template is not None
    final = yaml.safe_load(retire.template.body)
    assert set(final["Resources"]) == {"NodeInstanceRole", "NodegroupAL2023"}
    assert "-  Nodegroup:" in retire.template.diff
    for text in (stack.template.body, retire.template.body):
        assert [str(f) for f in lint(text) if f.severity != "informational"] == []
        assert check_eks_versions(text) == []
    assert rendered_templates(state, config(state, target="1.33")) == rendered_templates(
        state, config(state, target="1.33")
    )
    runbook = render(p)
    assert "Adds node group `general-al2023`" in runbook
    assert "kubectl cordon -l eks.amazonaws.com/nodegroup=general" in runbook
    assert "a deleted managed node group does not come back" in runbook


def test_a_hop_after_the_move_rolls_the_successor() -> None:
    state = managed_al2("1.32")
    p = plan(state, "1.34")
    assert not p.blocked, p.findings
    ids = [s.id for s in general(p)]
    assert ids == [
        "nodegroup-stack-general@1.33",
        "nodegroup-roll-general@1.33",
        "nodegroup-retire-general@1.33",
        "nodegroup-stack-general-al2023@1.34",
        "nodegroup-roll-general-al2023@1.34",
    ]
    later = general(p)[3]
    assert isinstance(later, NodegroupStackStep)
    assert dict(later.parameters) == {"KubernetesVersion": "1.34"} and later.template is None


def test_1_32_keeps_amazon_linux_2_and_al2023_groups_roll_in_place() -> None:
    kept = plan(managed_al2("1.31"), "1.32")
    assert not any(s.id.startswith("nodegroup-retire") for s in kept.steps)
    state = managed_al2(ami_type="AL2023_x86_64_STANDARD")
    old = state.stack(GENERAL)
    assert old is not None
    body = old.template_body.replace("AL2_x86_64", "AL2023_x86_64_STANDARD")
    stack = replace(old, template_body=body.replace("- '1.32'", "- '1.32'\n      - '1.33'"))
    state = replace(state, stacks=tuple(stack if s.name == GENERAL else s for s in state.stacks))
    p = plan(state)
    assert not p.blocked, p.findings
    stack_step, roll = general(p)
    assert isinstance(roll, NodegroupRollStep) and roll.successor is None
    assert isinstance(stack_step, NodegroupStackStep) and stack_step.template is None


@pytest.mark.parametrize(
    ("group", "why"),
    [
        ({"launch_template": True}, "launches from a launch template of yours"),
        ({"ami_type": "AL2_ARM_64_GPU"}, "has no Amazon Linux 2023 counterpart"),
    ],
)
def test_ami001_blocks_a_managed_group_upgrader_cannot_move(
    group: dict[str, object], why: str
) -> None:
    p = plan(managed_al2(**group))
    found = [f for f in p.findings if f.id == "AMI001"]
    assert [f.severity for f in found] == [Severity.BLOCKING] and p.blocked
    assert why in found[0].message and "general" in found[0].message
    assert not any(s.id.startswith("nodegroup-retire") for s in p.steps)


def test_the_renderer_points_every_reference_at_the_successor() -> None:
    body = """\
Parameters:
  Version: {Type: String, AllowedValues: ['1.31', '1.32']}
Resources:
  Workers:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: prod
      NodegroupName: workers
      NodeRole: arn:aws:iam::111111111111:role/nodes
      Subnets: [subnet-1]
      Version: !Ref Version
      ReleaseVersion: 1.32.0-20250101
  Alarm:
    Type: AWS::SNS::Topic
    DependsOn: Workers
    Properties:
      DisplayName: !Sub "${Workers.NodegroupName} in ${Workers}"
Outputs:
  Group: {Value: !Ref Workers}
"""
    stack = Stack(
        name="prod-workers",
        stack_id="arn:stack/prod-workers/1",
        status="UPDATE_COMPLETE",
        parameters=(("Version", "1.32"),),
        resources=(),
        template_body=body,
    )
    group = ManagedNodegroup(
        name="workers", version="1.32", release_version="1.32.0-20250101", status="ACTIVE",
        asg_names=(), subnet_ids=("subnet-1",), instance_types=("m5.large",), desired=2,
        min_size=1, max_size=3, ami_type="AL2_x86_64",
    )  # fmt: skip
    move = managed_move(stack, group, "1.33")
    assert move is not None and move.problem is None
    text = migrate_managed_al2023(stack, move, "1.32")
    assert text == migrate_managed_al2023(stack, move, "1.32")
    out = yaml.safe_load(text)
    new = out["Resources"]["WorkersAL2023"]["Properties"]
    assert "ReleaseVersion" not in new and new["NodegroupName"] == "workers-al2023"
    assert out["Resources"]["Workers"]["Properties"]["ReleaseVersion"] == "1.32.0-20250101"
    alarm = out["Resources"]["Alarm"]
    assert alarm["DependsOn"] == "WorkersAL2023"
    assert alarm["Properties"]["DisplayName"] == {
        "Fn::Sub": "${WorkersAL2023.NodegroupName} in ${WorkersAL2023}"
    }
    assert out["Outputs"]["Group"]["Value"] == {"Ref": "WorkersAL2023"}
    assert out["Parameters"]["Version"]["AllowedValues"][:3] == ["1.31", "1.32", "1.33"]
    final = without_resource(text, move.resource)
    assert "Workers:" not in final.replace("WorkersAL2023:", "")
    assert successor_name("x" * 63) == "x" * 56 + "-al2023"
