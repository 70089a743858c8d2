"""A managed node group on Amazon Linux 2 rolled to a minor without AL2 AMIs (1.33+):
blue/green in its own stack (:mod:`upgrader.model.managed_ami`).

Three steps instead of a stack update and a roll EKS runs by itself:

1. the stack update adds the successor group (AL2023 ``AmiType``, ``<name>-al2023``) at
   the new minor; EKS launches all its nodes (gate CAP001 counts them at once);
2. the roll waits for them Ready, cordons every node of the old group and drains them
   through the Eviction API, PodDisruptionBudgets respected;
3. a second stack update removes the old group, whose nodes then hold no pod but
   DaemonSets'. Its change set is made by apply: executing the first drops it.

The successor's template is rendered outside the pure planner
(``upgrader_stacks.managed_al2023``); this module gives the plan's account of the move.
"""

from __future__ import annotations

from upgrader.model.managed_ami import ManagedMove, without_resource
from upgrader.model.steps import NodegroupStackStep, TemplateChange
from upgrader.planner.template_change import diff_text

GATES_RETIRE = ("STK001",)


def reason(move: ManagedMove, minor: str) -> str:
    """Why and how the stack's template changes for the move."""
    return (
        f"EKS publishes no Amazon Linux 2 AMI for Kubernetes {minor} (AL2 AMIs end at 1.32), "
        f"so managed node group {move.nodegroup} moves to Amazon Linux 2023. Its AmiType "
        f"({move.ami_type}) and name cannot change in place (CloudFormation replaces the "
        "resource, and refuses to for a named group), so the change set adds a successor "
        f"group {move.successor} ({move.successor_resource}: the same properties, AmiType "
        f"{move.successor_ami_type}, the new version) and pins {move.resource}'s Version at "
        "the version it runs; outputs and resources that referred to "
        f"{move.resource} now refer to {move.successor_resource}. EKS brings the AL2023 "
        "nodes' nodeadm configuration and max pods itself. Pods that select nodes by the "
        f"label eks.amazonaws.com/nodegroup={move.nodegroup} must be changed to "
        f"{move.successor} before the roll, or they stay Pending."
    )


def retire_step(stack_step: NodegroupStackStep, move: ManagedMove) -> NodegroupStackStep:
    """The stack update that deletes the drained old group (after the roll)."""
    assert stack_step.template is not None
    body = without_resource(stack_step.template.body, move.resource)
    return NodegroupStackStep(
        id=f"nodegroup-retire-{move.nodegroup}",
        description=(
            f"Remove the drained Amazon Linux 2 node group {move.nodegroup} "
            f"({move.resource}) from stack {stack_step.stack} through a change set made "
            "when the step starts: EKS deletes the group and terminates its nodes, which "
            "by then hold only DaemonSet pods (any pod left is drained first)."
        ),
        gates=GATES_RETIRE,
        stack=stack_step.stack,
        nodegroup=move.nodegroup,
        parameters=stack_step.parameters,
        update_policy=stack_step.update_policy,
        template=TemplateChange(
            body=body,
            diff=diff_text(
                stack_step.template.body, body, stack_step.stack, "after the successor was added"
            ),
            reason=(
                f"{move.resource} ({move.nodegroup}, Amazon Linux 2) leaves the template; "
                f"{move.successor_resource} ({move.successor}) runs the group's nodes from "
                "now on. Every other parameter and resource stay as they are."
            ),
        ),
        retires=move.nodegroup,
    )
