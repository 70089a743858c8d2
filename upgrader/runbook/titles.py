"""Short step titles for headings, the order list and the timeline."""

from __future__ import annotations

from typing import assert_never

from upgrader.model.steps import (
    AddonStep,
    CniStep,
    ControlPlaneStep,
    FargateRestartStep,
    ManagedAddonAdoptStep,
    ManagedAddonStackStep,
    ManagedAddonStep,
    NodegroupRollStep,
    NodegroupStackStep,
    Step,
    VerifyStep,
)


def _managed(step: ManagedAddonStep) -> str:
    if isinstance(step, ManagedAddonAdoptStep):
        return f"Adopt {step.addon} {step.from_} as EKS add-on {step.to}"
    via = f", stack {step.stack}" if isinstance(step, ManagedAddonStackStep) else ""
    return f"EKS add-on {step.addon} {step.from_} → {step.to}{via}"


def title(step: Step) -> str:  # noqa: PLR0911 - one per step kind
    """A one-line title from the step's kind and params; the description says the rest."""
    match step:
        case ControlPlaneStep():
            return f"Control plane {step.from_} → {step.to}"
        case AddonStep() | CniStep():
            return f"{step.name} {step.from_} → {step.to}"
        case ManagedAddonStep():
            return _managed(step)
        case NodegroupStackStep():
            return f"Node group {step.nodegroup}, stack {step.stack}"
        case NodegroupRollStep():
            return f"Node group {step.nodegroup}, roll in {step.predicted_waves} wave(s)"
        case FargateRestartStep():
            return f"Fargate pods restarted onto {step.to} kubelets"
        case VerifyStep():
            return "Verify"
        case _:
            assert_never(step)
