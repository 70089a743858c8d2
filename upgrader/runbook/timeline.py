"""The Mermaid gantt timeline: one section per stage, bars sized by each step's high estimate."""

from __future__ import annotations

import re

from upgrader.model.plan import Plan
from upgrader.model.steps import Step, StepKind
from upgrader.runbook.durations import step_minutes
from upgrader.runbook.titles import title

STAGES: dict[StepKind, str] = {
    StepKind.CONTROL_PLANE: "Control plane",
    StepKind.KUBE_PROXY: "Add-ons",
    StepKind.COREDNS: "Add-ons",
    StepKind.CNI: "Add-ons",
    StepKind.MANAGED_ADDON: "Add-ons",
    StepKind.MANAGED_ADDON_STACK: "Add-ons",
    StepKind.MANAGED_ADDON_ADOPT: "Add-ons",
    StepKind.NODEGROUP_STACK: "Node groups",
    StepKind.NODEGROUP_ROLL: "Node groups",
    StepKind.FARGATE_RESTART: "Fargate",
    StepKind.VERIFY: "Verify",
}
_UNSAFE = re.compile(r"[:;#]")  # gantt syntax characters


def _label(step: Step) -> str:
    return " ".join(_UNSAFE.sub(" ", title(step).replace("→", "to")).split())


def gantt(plan: Plan, blocked_steps: frozenset[str] = frozenset()) -> str:
    """A ```mermaid gantt block; ``blocked_steps`` are drawn as critical."""
    lines = [
        "```mermaid",
        "gantt",
        f"    title {_UNSAFE.sub(' ', plan.cluster)} - upper estimates, hours from start",
        "    dateFormat HH:mm",
        "    axisFormat %H:%M",
    ]
    section = None
    for n, step in enumerate(plan.steps, 1):
        stage = STAGES[step.kind]
        if stage != section:
            lines.append(f"    section {stage}")
            section = stage
        start = "00:00" if n == 1 else f"after s{n - 1}"
        tags = "crit, " if step.id in blocked_steps else ""
        lines.append(f"    {_label(step)} :{tags}s{n}, {start}, {step_minutes(step).high}m")
    lines.append("```")
    return "\n".join(lines)
