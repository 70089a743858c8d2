"""An EKS managed add-on step: ``UpdateAddon`` (PRESERVE, the add-on's own
``configurationValues`` sent back as they were), ``DescribeUpdate`` until it succeeds,
then the rollout of the object the add-on owns, with vpc-cni's per-node gate (POD001)
as for a manifest CNI step. Idempotent: an add-on already at the version is not updated
again, one already updating is waited for."""

from __future__ import annotations

from upgrader.executor.addons import before_rollout, rollout
from upgrader.executor.errors import StepFailedError
from upgrader.executor.session import Session
from upgrader.model.addons import object_of
from upgrader.model.steps import ManagedAddonStep
from upgrader.runbook.kubectl import app_selector

UPDATE_TIMEOUT = 30 * 60.0
BUSY = ("CREATING", "UPDATING")


def update(s: Session, step: ManagedAddonStep) -> None:
    cluster, name = s.config.cluster, step.addon
    owned = object_of(name)
    selector = app_selector(owned[1]) if owned else ""
    gate = name == "vpc-cni"
    before = before_rollout(s, selector, journaled=gate) if owned else {}
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
    if owned is not None:
        rollout(s, step, owned[0], owned[1], selector, before, gate_nodes=gate)
    s.emit("info", f"EKS add-on {name} at {step.to}")
