"""Steps that update a CloudFormation stack through the plan's change set: the
control plane (then EKS reports the new version) and a node group's stack (new parameters,
and for a stack migrated from a launch configuration the plan's new template)."""

from __future__ import annotations

from collections.abc import Callable

from upgrader.executor import lifecycle, nodegroups
from upgrader.executor.session import Session
from upgrader.model.steps import (
    ControlPlaneStep,
    NodegroupStackStep,
    StackStep,
    change_set_inputs,
)

# EKS control-plane updates take 24-60 minutes (research/upgrade-tools.md); the timeout
# leaves room above the slowest seen. Managed node group updates drain every node.
CONTROL_PLANE_TIMEOUT = 90 * 60.0
NODEGROUP_STACK_TIMEOUT = 120 * 60.0
# The longest gap between stack polls (AWS's own waiters poll every 30 s).
STACK_POLL_SECONDS = 10.0


def update_stack(
    s: Session, step: StackStep, *, timeout: float, on_poll: Callable[[], None] | None = None
) -> None:
    """Execute the step's change set (recreated if it is gone) and wait for the stack.

    Idempotent: a stack already updating is waited for; a stack already holding the
    new values is not touched again. ``on_poll`` runs after every poll of the stack.
    """
    name = step.stack
    wanted, template = change_set_inputs(step)
    live = s.aws.stack(name)
    if live.status.endswith("_IN_PROGRESS"):
        s.emit("wait", f"stack {name} is already {live.status}; waiting for it")
    elif all(live.parameter(k) == v for k, v in wanted.items()) and (
        template is None or live.template_body == template
    ):
        s.emit(
            "info",
            f"stack {name} already has {wanted}" + (" and the new template" if template else ""),
        )
    else:
        change_set = step.change_set
        names = {c.name for c in live.change_sets} | {c.change_set_id for c in live.change_sets}
        if change_set is None or change_set.name not in names:
            why = (
                "this step's change set is made now (a later update of the stack)"
                if change_set is None
                else "change set of the plan was gone"
            )
            change_set = s.aws.create_change_set(
                name, wanted, description=f"upgrader apply: {step.description}", template=template
            )
            s.emit("info", f"{why}; created {change_set.name}")
        s.emit("info", f"executing change set {change_set.name} on stack {name}")
        s.aws.execute_change_set(name, change_set.name)

    def polled(status: str, waited: float) -> None:
        s.keep_lock()
        if status.endswith("_IN_PROGRESS"):
            s.emit("wait", f"stack {name} {status}", waited=round(waited, 1))
        if on_poll is not None:
            on_poll()

    status = s.aws.wait_stack(
        name,
        timeout_seconds=timeout,
        poll_seconds=STACK_POLL_SECONDS,
        on_poll=polled,
        clock=s.clock,
    )
    s.emit("info", f"stack {name} {status}")


def control_plane(s: Session, step: ControlPlaneStep) -> None:
    update_stack(s, step, timeout=CONTROL_PLANE_TIMEOUT)
    target = step.to

    def active() -> bool:
        version, status = s.aws.cluster_version(s.config.cluster)
        return version == target and status == "ACTIVE"

    s.wait(
        active,
        what=f"EKS cluster {s.config.cluster} to be ACTIVE at {target}",
        timeout=CONTROL_PLANE_TIMEOUT,
        hint="check `aws eks describe-update` for the cluster's update, then re-run apply",
    )
    s.emit("info", f"control plane at {target}")


def nodegroup_stack(s: Session, step: NodegroupStackStep) -> None:
    """Update the node group's stack; nodes CloudFormation replaces itself, or those of a
    group the update deletes, are drained first."""
    if step.retires is not None:
        nodegroups.drain_retired(s, step)
    with lifecycle.drained_replacements(s, step) as drain:
        update_stack(s, step, timeout=NODEGROUP_STACK_TIMEOUT, on_poll=drain)
