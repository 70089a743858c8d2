"""EKS add-ons declared in a stack (``AWS::EKS::Addon``): the plan moves them through a
change set on that stack setting the parameter their AddonVersion refers to (the same
versions as UpdateAddon would take, vpc-cni one minor per step), and refuses an
AddonVersion written into the template."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.cluster_states import config
from tests.unit.test_planner_managed_addons import CNI_VALUES, managed
from upgrader.errors import BadInputError
from upgrader.model.aws import StackResource
from upgrader.model.plan import loads
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonStackStep, ManagedAddonStep, StepKind
from upgrader.planner import make_plan
from upgrader.runbook import render
from upgrader.runbook.steps import step_guide

STACK = "modern-eks"
TEMPLATE = """\
Parameters:
  KubernetesVersion: {{Type: String}}
  VpcCniVersion: {{Type: String{allowed}}}
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Version: !Ref KubernetesVersion
  VpcCni:
    Type: AWS::EKS::Addon
    Properties:
      ClusterName: !Ref Cluster
      AddonName: vpc-cni
      AddonVersion: {version}
      ResolveConflicts: OVERWRITE
      ConfigurationValues: '{values}'
"""


def declared(
    defaults: dict[str, str], *, version: str = "!Ref VpcCniVersion", allowed: str = ""
) -> ClusterState:
    """vpc-cni declared in the control-plane stack, kube-proxy managed through the API."""
    state = managed(defaults, stack=STACK)
    body = TEMPLATE.format(version=version, allowed=allowed, values=CNI_VALUES)
    resource = StackResource(
        logical_id="VpcCni",
        resource_type="AWS::EKS::Addon",
        physical_id="modern|vpc-cni",
        status="CREATE_COMPLETE",
    )
    stacks = tuple(
        replace(
            s,
            template_body=body,
            parameters=(*s.parameters, ("VpcCniVersion", "v1.19.2-eksbuild.1")),
            resources=(*s.resources, resource),
        )
        if s.name == STACK
        else s
        for s in state.stacks
    )
    return replace(state, stacks=stacks)


def stack_steps(steps: tuple[object, ...]) -> list[ManagedAddonStackStep]:
    return [s for s in steps if isinstance(s, ManagedAddonStackStep)]


def test_an_addon_declared_in_a_stack_moves_through_a_change_set_on_it() -> None:
    state = declared({"1.30": "v1.19.2-eksbuild.5"})
    plan = make_plan(state, config(state, target="1.30"))
    (step,) = stack_steps(plan.steps)
    assert step.kind is StepKind.MANAGED_ADDON_STACK
    assert (step.addon, step.from_, step.to) == (
        "vpc-cni",
        "v1.19.2-eksbuild.1",
        "v1.19.2-eksbuild.5",
    )
    assert (step.stack, step.resource, step.parameter) == (STACK, "VpcCni", "VpcCniVersion")
    assert step.stack_parameters() == {"VpcCniVersion": "v1.19.2-eksbuild.5"}
    # the template's settings, and EKS's configurationValues as they are
    assert step.resolve_conflicts == "OVERWRITE" and step.configuration_values == CNI_VALUES
    assert step.gates == ("STK001", "VER001", "POD001") and step.change_set is None
    # kube-proxy, not declared in a stack, keeps UpdateAddon; the stack step follows the
    # control plane's (the same stack: its change set is made by apply)
    ids = [s.id for s in plan.steps]
    assert ids.index("control-plane") < ids.index(step.id)
    update = [s for s in plan.steps if type(s) is ManagedAddonStep]
    assert [s.addon for s in update] == ["kube-proxy"]
    assert plan.to.cni == "v1.19.2-eksbuild.5"
    # the plan file carries the new kind, and reads back the same
    again = loads(plan.dumps(), "plan.json")
    assert stack_steps(again.steps) == [step]


def test_vpc_cni_in_a_stack_moves_one_minor_per_change_set_across_hops() -> None:
    defaults = {"1.30": "v1.19.2-eksbuild.5", "1.31": "v1.20.1-eksbuild.3", "1.32": ""}
    state = declared({k: v for k, v in defaults.items() if v})
    plan = make_plan(state, config(state, target="1.32"))
    steps = [(s.id, s.from_, s.to, s.stack_parameters()) for s in stack_steps(plan.steps)]
    assert steps == [
        (
            "addon-vpc-cni-v1.19.2-eksbuild.5@1.30",
            "v1.19.2-eksbuild.1",
            "v1.19.2-eksbuild.5",
            {"VpcCniVersion": "v1.19.2-eksbuild.5"},
        ),
        (
            "addon-vpc-cni-v1.20.1-eksbuild.3@1.31",
            "v1.19.2-eksbuild.5",
            "v1.20.1-eksbuild.3",
            {"VpcCniVersion": "v1.20.1-eksbuild.3"},
        ),
        (
            "addon-vpc-cni-v1.21.1-eksbuild.1@1.32",
            "v1.20.1-eksbuild.3",
            "v1.21.1-eksbuild.1",
            {"VpcCniVersion": "v1.21.1-eksbuild.1"},
        ),
    ]
    assert plan.to.cni == "v1.21.1-eksbuild.1"
    assert not [s for s in plan.steps if type(s) is ManagedAddonStep and s.addon == "vpc-cni"]


def test_a_literal_addon_version_is_refused_naming_the_stack_resource_and_fix() -> None:
    state = declared({"1.30": "v1.19.2-eksbuild.5"}, version="v1.19.2-eksbuild.1")
    with pytest.raises(BadInputError) as caught:
        make_plan(state, config(state, target="1.30"))
    text = caught.value.render()
    assert "stack modern-eks" in text and "VpcCni" in text and "vpc-cni" in text
    assert "AddonVersion v1.19.2-eksbuild.1 written into the template" in text
    assert "make VpcCni's AddonVersion a parameter" in text


def test_an_addon_already_offered_needs_no_step_even_with_a_literal_version() -> None:
    state = declared({"1.30": "v1.19.2-eksbuild.1"}, version="v1.19.2-eksbuild.1")
    plan = make_plan(state, config(state, target="1.30"))
    assert stack_steps(plan.steps) == []


def test_a_version_outside_the_parameters_allowed_values_is_refused() -> None:
    state = declared(
        {"1.30": "v1.19.2-eksbuild.5"}, allowed=", AllowedValues: [v1.19.2-eksbuild.1]"
    )
    with pytest.raises(BadInputError, match="AllowedValues for VpcCniVersion"):
        make_plan(state, config(state, target="1.30"))


def test_the_runbook_shows_stack_parameter_change_set_and_rollback() -> None:
    state = declared({"1.30": "v1.19.2-eksbuild.5"})
    plan = make_plan(state, config(state, target="1.30"))
    (step,) = stack_steps(plan.steps)
    guide = step_guide(plan, step)
    assert "`modern-eks`" in guide.what and "`VpcCni`" in guide.what
    assert "`VpcCniVersion`" in guide.what and "`OVERWRITE`" in guide.what
    assert "made by `upgrader apply`" in guide.details[0]
    assert any(
        "ParameterKey=VpcCniVersion,ParameterValue=v1.19.2-eksbuild.5" in c for c in guide.commands
    )
    assert "`v1.19.2-eksbuild.1`" in guide.rollback
    assert (
        "ParameterKey=VpcCniVersion,ParameterValue=v1.19.2-eksbuild.1" in guide.rollback_commands[0]
    )
    assert "POD001" in guide.what
    book = render(plan)
    assert "EKS add-on vpc-cni v1.19.2-eksbuild.1 → v1.19.2-eksbuild.5, stack modern-eks" in book
    assert "updated by this plan through change sets on that stack" in book
