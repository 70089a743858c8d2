"""A node-group stack on a launch configuration, or moving from Amazon Linux 2 to AL2023:
its change set carries a new template.

The new template is rendered outside the pure planner (``upgrader_stacks.migrate``, with
troposphere) and passed in as text. This module records it in the plan with why it is
needed and the change as a unified diff of the current template (loaded and dumped the
same way, so only real changes show) against the new one.
"""

from __future__ import annotations

import difflib

from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import dump_template
from upgrader.model.steps import TemplateChange
from upgrader.planner.templates import (
    LAUNCH_CONFIGURATION_TYPE,
    REPLACING,
    ROLLING,
    SCHEDULED,
    SelfManagedGroup,
    StackAdoption,
    analyse,
    load,
)

CONTEXT_LINES = 3
_UNCHANGED = (
    "Every parameter and every other resource stay as they are; no node is replaced by "
    "this stack update: the next step replaces them, drained, in waves."
)


def normalised(stack: Stack) -> str:
    """The stack's current template as the migration dumps templates."""
    return dump_template(load(stack.template_body, f"template of stack {stack.name}"))


def diff_text(before: str, after: str, stack: str, before_is: str) -> str:
    """``before`` -> ``after`` as a unified diff, without trailing newline; the sides are
    named ``<stack> (<before_is>)`` and ``<stack> (change set template)``."""
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=f"{stack} ({before_is})",
        tofile=f"{stack} (change set template)",
        n=CONTEXT_LINES,
        lineterm="",
    )
    return "\n".join(lines)


def unified_diff(stack: Stack, body: str) -> str:
    """The template change as a unified diff, without trailing newline."""
    return diff_text(normalised(stack), body, stack.name, "current template")


def _policy_change(group: SelfManagedGroup) -> str:
    policy = group.update_policy
    if policy.rolling_update:
        batch = policy.max_batch_size.text if policy.max_batch_size else "1"
        removed = (
            f" It removes {ROLLING} from {group.resource}: with it CloudFormation would replace "
            f"the group's nodes itself, {batch} at a time, without cordoning or draining them."
        )
    elif policy.replacing_update:
        removed = (
            f" It removes {REPLACING} from {group.resource}: with it CloudFormation would "
            "replace the whole group, without draining its nodes."
        )
    else:
        removed = ""
    return (
        removed + f" It sets {SCHEDULED} IgnoreUnmodifiedGroupSizeProperties, so that the "
        "stack update keeps the group sizes upgrader raises while it rolls."
    )


def reason(before: StackAdoption, after: StackAdoption) -> str:
    """Why the stack's template changes, group by group (``after`` is the new template's)."""
    launched = {g.resource: g.launch_resource for g in after.self_managed_groups}
    parts = []
    for group in before.on_launch_configuration:
        launch = group.launch_resource or "?"
        template = launched.get(group.resource) or "?"
        parts.append(
            f"{group.resource} launches from launch configuration {launch} "
            f"({LAUNCH_CONFIGURATION_TYPE}): the new AMI would need a new launch "
            "configuration, which AWS refuses to create in accounts made since 2024-10-01 "
            f"(launch configurations are disabled). The change set replaces {launch} with "
            f"launch template {template} (a new logical id: CloudFormation does not change a "
            "resource's type in place) carrying the same image, instance type, key pair, "
            "user data, instance profile, security groups, public IP setting and volumes, "
            f"and points {group.resource} at its latest version." + _policy_change(group)
        )
    parts.append(_UNCHANGED)
    return " ".join(parts)


def template_change(
    stack: Stack, before: StackAdoption, body: str, al2023: str | None = None
) -> TemplateChange:
    """The new template of a nodegroup-stack step, its diff, and why (``al2023``: why and
    how it moves the group to Amazon Linux 2023, when it does)."""
    after = analyse(load(body, f"new template of stack {stack.name}"))
    why = reason(before, after) if before.on_launch_configuration else ""
    if al2023 is not None:
        others = _UNCHANGED.replace(
            "Every parameter and every other resource", "Every other parameter and resource"
        )
        why = " ".join(filter(None, (why.removesuffix(_UNCHANGED).strip(), al2023, others)))
    return TemplateChange(body=body, diff=unified_diff(stack, body), reason=why)
