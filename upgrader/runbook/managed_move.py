"""Runbook guides of a managed node group's blue/green move to Amazon Linux 2023: the
stack update that adds the successor group, the drain into it, and the stack update that
deletes the old group (:mod:`upgrader.planner.managed_al2023`)."""

from __future__ import annotations

from upgrader.markdown import inline
from upgrader.model.plan import Plan
from upgrader.model.steps import NodegroupRollStep, NodegroupStackStep
from upgrader.runbook import kubectl
from upgrader.runbook import steps as base
from upgrader.semver import Version

NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"


def successor_of(plan: Plan, step: NodegroupStackStep) -> str | None:
    """The AL2023 successor the stack step adds for its group, if it adds one."""
    if step.retires is not None:
        return None
    return next(
        (
            s.successor
            for s in plan.steps
            if isinstance(s, NodegroupRollStep)
            and s.stack == step.stack
            and s.nodegroup == step.nodegroup
            and s.successor is not None
        ),
        None,
    )


def _template_file(plan_file: str, step: NodegroupStackStep, path: str) -> str:
    select = f'.steps[] | select(.id == "{step.id}") | .params.template.body'
    return f"jq -r '{select}' {plan_file} > {path}"


def _create_and_execute(plan: Plan, step: NodegroupStackStep, path: str) -> list[str]:
    """Create the step's change set from the template at ``path`` (every other parameter
    kept: with a new template, CloudFormation would take a parameter left out from its
    Default), show it, execute it."""
    region, stack = plan.region, step.stack
    keys = " ".join(f"-e {k}" for k, _ in step.parameters)
    given = " ".join(f"ParameterKey={k},ParameterValue={v}" for k, v in step.parameters)
    name = f"upgrader-{step.id}"
    return [
        f'params="$(aws cloudformation describe-stacks --region {region} --stack-name {stack}'
        " --query 'Stacks[0].Parameters[].ParameterKey' --output text | tr '\\t' '\\n'"
        + (f" | grep -vx {keys}" if keys else "")
        + f" | sed 's/.*/ParameterKey=&,UsePreviousValue=true/') {given}\"",
        f"aws cloudformation create-change-set --region {region} --stack-name {stack}"
        f" --change-set-name {name} --template-body file://{path} --parameters $params"
        " --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM",
        *base.describe_and_execute(region, stack, name),
    ]


def stack_guide(
    plan: Plan, step: NodegroupStackStep, successor: str, plan_file: str
) -> base.StepGuide:
    """The stack update that adds the successor group beside the old one."""
    region, stack, group = plan.region, step.stack, step.nodegroup
    saved, path = f"{stack}.before.yaml", f"{stack}.al2023.yaml"
    details = [table for table in (base.table_of_parameters(step),) if table]
    if step.template is not None:
        details += base.template_change_details(step.template)
    commands = [
        f"aws cloudformation get-template --region {region} --stack-name {stack}"
        f" --query TemplateBody --output text > {saved}  # the template before, kept",
    ]
    if step.change_set is not None:
        details.append(base.change_table(step.change_set))
        commands += base.change_set_commands(region, stack, step.change_set)
    else:
        commands += [_template_file(plan_file, step, path), *_create_and_execute(plan, step, path)]
    commands += [
        *base.cfn_wait(region, stack),
        base.group_status(plan, "managed", successor, ""),
        f"kubectl get nodes -L {NODEGROUP_LABEL} -l {NODEGROUP_LABEL}={successor}",
    ]
    return base.StepGuide(
        what=(
            f"Adds node group {inline(successor)} (Amazon Linux 2023, Kubernetes"
            f" {plan_minor(step)}) to stack {inline(stack)} beside {inline(group)}, whose"
            " Version the template pins where it is. EKS launches all of the successor's"
            f" nodes at once (gate CAP001 counts them); no node of {inline(group)} is touched:"
            " the next step drains them into the successor."
        ),
        details=tuple(details),
        commands=tuple(commands),
        rollback=(
            "A failed update is rolled back by CloudFormation itself (the successor is"
            " deleted). After success and before the next step, update the stack with the"
            f" template saved before ({inline(saved)}): EKS deletes {inline(successor)} and"
            " its nodes, after a short drain of its own, so cordon and drain them first if pods"
            " already run there."
        ),
        rollback_commands=(
            f"kubectl cordon -l {NODEGROUP_LABEL}={successor}",
            f"aws cloudformation create-change-set --region {region} --stack-name {stack}"
            f" --change-set-name upgrader-rollback --template-body file://{saved}"
            " --parameters ParameterKey=<parameter>,UsePreviousValue=true ...",
        ),
    )


def plan_minor(step: NodegroupStackStep) -> str:
    """The Kubernetes minor the stack step sets."""
    return next((v for _, v in step.parameters), "")


def roll_guide(plan: Plan, step: NodegroupRollStep, successor: str) -> base.StepGuide:
    """The old group's nodes cordoned and drained into the successor."""
    group = step.nodegroup
    new_k8s = Version.parse(plan.to.kubernetes)
    count = sum(len(w) for w in step.waves)
    drain = kubectl.drain('"$node"', new_k8s)
    return base.StepGuide(
        what=(
            f"Moves the pods of {inline(group)}'s {count or 'old'} node(s) to"
            f" {inline(successor)}: once the successor's nodes are Ready at"
            f" {new_k8s.minor_str}, every node of {inline(group)} is cordoned (so no evicted pod"
            " lands on another old node), then drained one by one through the Eviction API"
            " (PDB refusals are retried and the blocking PDB named). The old nodes stay,"
            " cordoned and empty, until the next step deletes their group. The cluster"
            " autoscaler is paused meanwhile."
        ),
        commands=(
            f"kubectl get nodes -L {NODEGROUP_LABEL} -l {NODEGROUP_LABEL}={successor} -w"
            f"  # until every node is Ready at v{new_k8s.minor_str}",
            "kubectl get pdb --all-namespaces",
            f"kubectl cordon -l {NODEGROUP_LABEL}={group}",
            f"for node in $(kubectl get nodes -l {NODEGROUP_LABEL}={group} -o name); do"
            f" {drain}; done",
            kubectl.pending_pods(),
        ),
        rollback=(
            f"Pods can move back while {inline(group)} still exists: uncordon its nodes and"
            f" cordon {inline(successor)}'s, then drain those. Managed nodes never go back to"
            " an older AMI in place: the old group keeps its own until it is deleted."
        ),
        rollback_commands=(
            f"kubectl uncordon -l {NODEGROUP_LABEL}={group}",
            f"kubectl cordon -l {NODEGROUP_LABEL}={successor}",
        ),
    )


def retire_guide(plan: Plan, step: NodegroupStackStep, plan_file: str) -> base.StepGuide:
    """The stack update that deletes the drained old group."""
    region, stack, group = plan.region, step.stack, step.nodegroup
    path = f"{stack}.retire.yaml"
    details = base.template_change_details(step.template) if step.template else []
    return base.StepGuide(
        what=(
            f"Deletes node group {inline(group)} (Amazon Linux 2): the change set, made when"
            " the step starts (executing the previous one dropped the stack's others),"
            f" removes its resource from stack {inline(stack)}; EKS deletes the group and"
            " terminates its nodes. upgrader first cordons and drains any pod still on them,"
            " so only DaemonSet pods go with the nodes."
        ),
        details=tuple(details),
        commands=(
            f'kubectl get pods --all-namespaces -o wide | grep -F "$(kubectl get nodes -l'
            f" {NODEGROUP_LABEL}={group} -o name | sed 's|node/||')\"  # only DaemonSet pods",
            _template_file(plan_file, step, path),
            *_create_and_execute(plan, step, path),
            *base.cfn_wait(region, stack),
            f"aws eks list-nodegroups --region {region} --cluster-name {plan.cluster}",
        ),
        rollback=(
            f"None: a deleted managed node group does not come back, and {inline(group)}'s"
            " Amazon Linux 2 AMIs do not exist for this Kubernetes minor. Its workloads"
            " already run on the successor; to undo the move, create a new group."
        ),
    )
