"""An EKS managed add-on step: ``UpdateAddon`` (PRESERVE, the add-on's own
``configurationValues`` sent back as they were), ``DescribeUpdate`` until it succeeds,
then the rollout of the object the add-on owns, with vpc-cni's per-node gate (POD001)
as for a manifest CNI step. Idempotent: an add-on already at the version is not updated
again, one already updating is waited for.

An add-on declared in a stack moves through that stack instead: its change set (the
plan's, or made now for a stack's later update) executed and the stack waited for as for
the other stack steps, then the same wait for the add-on and the same rollout gates. An
adopted add-on (``addons.adopt``) is created with ``CreateAddon`` (OVERWRITE), unless EKS
manages it already, then waited for and rolled out the same way."""

from __future__ import annotations

from upgrader.adapters.errors import CloudNotFoundError
from upgrader.executor.addons import before_rollout, rollout
from upgrader.executor.errors import StepFailedError
from upgrader.executor.session import Session
from upgrader.executor.stacks import update_stack
from upgrader.model.addons import object_of
from upgrader.model.steps import ManagedAddonAdoptStep, ManagedAddonStackStep, ManagedAddonStep
from upgrader.runbook.kubectl import app_selector

UPDATE_TIMEOUT = 30 * 60.0
BUSY = ("CREATING", "UPDATING")


def update(s: Session, step: ManagedAddonStep) -> None:
    name = step.addon
    owned = object_of(name)
    selector = app_selector(owned[1]) if owned else ""
    gate = name == "vpc-cni"
    before = before_rollout(s, selector, journaled=gate) if owned else {}
    if isinstance(step, ManagedAddonAdoptStep):
        _create(s, step)
        _settled(s, step, None)
    elif isinstance(step, ManagedAddonStackStep):
        s.emit("info", f"EKS add-on {name} -> {step.to} through stack {step.stack}")
        update_stack(s, step, timeout=UPDATE_TIMEOUT)
        _settled(s, step, None)
    else:
        _settled(s, step, _update(s, step))
    if owned is not None:
        rollout(s, step, owned[0], owned[1], selector, before, gate_nodes=gate)
    s.emit("info", f"EKS add-on {name} at {step.to}")


def _create(s: Session, step: ManagedAddonAdoptStep) -> None:
    """``CreateAddon`` unless EKS manages the add-on already (a re-run)."""
    cluster, name = s.config.cluster, step.addon
    try:
        version, status = s.aws.addon(cluster, name)
    except CloudNotFoundError:
        s.aws.create_addon(
            cluster,
            name,
            version=step.to,
            resolve_conflicts=step.resolve_conflicts,
            configuration_values=step.configuration_values,
        )
        s.emit("info", f"CreateAddon {name} {step.to} ({step.resolve_conflicts})")
        return
    s.emit("info", f"EKS manages add-on {name} already ({version}, {status})")


def _update(s: Session, step: ManagedAddonStep) -> str | None:
    """``UpdateAddon`` unless the add-on is at the version or busy: the update's ID."""
    cluster, name = s.config.cluster, step.addon
    version, status = s.aws.addon(cluster, name)
    update_id: str | None = None
    if version == step.to and status not in BUSY:
        s.emit("info", f"EKS add-on {name} is at {version} already ({status})")
    elif status in BUSY:
        s.emit("wait", f"EKS add-on {name} is {status}; waiting for it")
    else:
        update_id = s.aws.update_addon(
            cluster,
            name,
            version=step.to,
            resolve_conflicts=step.resolve_conflicts,
            configuration_values=step.configuration_values,
        )
        s.emit("info", f"UpdateAddon {name} -> {step.to} ({step.resolve_conflicts}): {update_id}")
    return update_id


def _settled(s: Session, step: ManagedAddonStep, update_id: str | None) -> None:
    """Wait until the add-on is at the step's version and no longer busy (and the update
    ``update_id``, if any, has not failed)."""
    cluster, name = s.config.cluster, step.addon

    def done() -> bool:
        if update_id is not None:
            state, errors = s.aws.addon_update(cluster, name, update_id)
            if state in ("Failed", "Cancelled"):
                why = "; ".join(errors) or "no reason given"
                raise StepFailedError(
                    f"EKS add-on {name}",
                    f"update {update_id} to {step.to} is {state}: {why}",
                    f"aws eks describe-update --name {cluster} --addon-name {name} --update-id "
                    f"{update_id}; fix what it names, then re-run apply",
                )
        now, current = s.aws.addon(cluster, name)
        return now == step.to and current not in BUSY

    s.wait(
        done,
        what=f"EKS add-on {name} to be at {step.to}",
        timeout=UPDATE_TIMEOUT,
        hint=f"aws eks describe-addon --cluster-name {cluster} --addon-name {name}; "
        "then re-run apply",
    )
