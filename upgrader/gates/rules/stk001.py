"""STK001: the stacks the plan touches are stable, with no foreign change set pending."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.gates.findings import advisory, blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity

UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
ROLLED_BACK = "UPDATE_ROLLBACK_COMPLETE"
_SETTLED_CHANGE_SET = frozenset({"DELETE_COMPLETE", "DELETE_PENDING", "DELETE_IN_PROGRESS"})


def stk001_stacks_stable(inputs: GateInputs) -> Iterator[Finding]:
    """Every stack the plan touches exists, is ``*_COMPLETE`` (UPDATE_ROLLBACK_COMPLETE
    is updatable but reported), and has no pending change set that upgrader did not
    create (``upgrader-*``): executing it later would undo or clash with ours."""
    config = inputs.config
    for name in (config.control_plane_stack, *config.nodegroup_stacks):
        stack = inputs.state.stack(name)
        subject = f"stack {name}"
        if stack is None:
            yield blocking(
                "STK001",
                subject,
                f"stack {name} was not found in {inputs.state.region}. Fix: correct "
                "`stacks` in the config, or the region/credentials.",
            )
            continue
        if stack.status == ROLLED_BACK:
            yield advisory(
                "STK001",
                subject,
                f"the last update of {name} rolled back ({stack.status}); the stack can be "
                "updated, but find out why that update failed before upgrading.",
            )
        elif stack.status not in UPDATABLE:
            yield blocking(
                "STK001",
                subject,
                f"{name} is {stack.status}; upgrader updates only stacks in "
                f"{', '.join(sorted(UPDATABLE))}. Fix: wait for the operation to finish, or "
                "fix the failed stack (continue-update-rollback, or recreate it) first.",
            )
        for cs in sorted(stack.change_sets, key=lambda c: c.name):
            if cs.created_by_upgrader or cs.status in _SETTLED_CHANGE_SET:
                continue
            if cs.status == "FAILED" and cs.execution_status != "AVAILABLE":
                continue
            yield blocking(
                "STK001",
                subject,
                f"change set {cs.name} ({cs.status}, {cs.execution_status}) on {name} was not "
                "created by upgrader; executing it later would revert or clash with the "
                "upgrade. Fix: execute or delete it (`aws cloudformation delete-change-set "
                f"--stack-name {name} --change-set-name {cs.name}`), then plan again.",
            )


RULE = Rule(
    id="STK001",
    title="stacks stable, no foreign change set pending",
    severity=Severity.BLOCKING,
    inputs=("state", "config"),
    check=stk001_stacks_stable,
    description=(
        "Every stack the plan touches exists and is *_COMPLETE (UPDATE_ROLLBACK_COMPLETE "
        "is updatable and reported as advisory), and holds no pending change set upgrader "
        "did not create: executing it later would revert or clash with the upgrade."
    ),
)
