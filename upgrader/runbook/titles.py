"""Short step titles for headings, the order list and the timeline."""

from __future__ import annotations

from upgrader.model.plan import Step


def title(step: Step) -> str:
    """A one-line title from the step's kind and params; the description says the rest."""
    params, kind = step.params, step.kind
    if kind == "control-plane":
        return f"Control plane {params.get('from', '?')} → {params.get('to', '?')}"
    if kind in ("kube-proxy", "coredns", "cni"):
        return f"{params.get('name', kind)} {params.get('from', '?')} → {params.get('to', '?')}"
    if kind == "nodegroup-stack":
        return f"Node group {params.get('nodegroup', '?')}, stack {params.get('stack', '?')}"
    if kind == "nodegroup-roll":
        waves = step.predicted.get("waves")
        count = f" in {waves} wave(s)" if isinstance(waves, int) else ""
        return f"Node group {params.get('nodegroup', '?')}, roll{count}"
    if kind == "verify":
        return "Verify"
    return " ".join((step.description or step.id).split())
