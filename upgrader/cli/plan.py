"""``upgrader plan``: the dry run a reviewer reads."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand

from upgrader.cli.options import ConfigOption, FormatOption
from upgrader.cli.output import Format, emit_json
from upgrader.errors import ExitCode
from upgrader.markdown import table

if TYPE_CHECKING:
    from upgrader.model.plan import Plan
    from upgrader.pipeline.plan import PlanResult


def gates_epilog() -> str:
    """``plan --help``'s epilog: one line per gate."""
    from upgrader.gates import document, rules  # noqa: PLC0415 - lazy: issue 15

    return "Gates:\n\n" + document.help_text(rules())


class PlanCommand(TyperCommand):
    """``upgrader plan``: its epilog lists the gates, loaded only when it is read (help),
    so that building the app does not import the gates and the model behind them."""

    _epilog: str | None = None

    @property
    def epilog(self) -> str | None:
        if self._epilog is None:
            self._epilog = gates_epilog()
        return self._epilog

    @epilog.setter
    def epilog(self, value: str | None) -> None:
        self._epilog = value


def summary(plan: Plan, result: PlanResult) -> str:
    """What a reviewer reads first: from → to, findings, steps, where the files went."""
    lines = [
        f"plan for {plan.cluster} ({plan.region}): Kubernetes {plan.from_.kubernetes} -> "
        f"{plan.to.kubernetes}, VPC CNI {plan.from_.cni} -> {plan.to.cni}, "
        f"kube-proxy {plan.from_.kube_proxy} -> {plan.to.kube_proxy}, "
        f"CoreDNS {plan.from_.coredns} -> {plan.to.coredns}",
        "",
    ]
    if plan.findings:
        lines.append(
            table(
                ["id", "severity", "subject", "message"],
                [[f.id, str(f.severity), f.subject, f.message] for f in plan.findings],
            )
        )
        lines.append("")
    lines.append(
        table(
            ["#", "step", "gates"],
            [[str(i), s.description, ", ".join(s.gates)] for i, s in enumerate(plan.steps, 1)],
        )
    )
    lines.append("")
    if result.out:
        lines.append(f"plan file: {result.out}")
    if result.runbook:
        lines.append(f"runbook:   {result.runbook}")
    lines.append(f"digest:    {plan.digest} (apply --expect-digest binds approval to it)")
    verdict = "BLOCKED by a gate (exit 3)" if plan.blocked else "ready to apply"
    lines.append(f"verdict:   {verdict}")
    return "\n".join(lines)


def plan(
    config: ConfigOption,
    to: Annotated[str | None, typer.Option("--to", help="target Kubernetes minor")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the plan file")] = None,
    runbook: Annotated[Path | None, typer.Option("--runbook", help="write the runbook")] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Dry run: discover, compile, gate, create change sets (never executed), plan."""
    from upgrader.pipeline.plan import plan as run  # noqa: PLC0415 - lazy: issue 15

    result = run(config, to=to, out=out, runbook=runbook)
    if fmt is Format.JSON:
        emit_json(result.plan.to_json())
    else:
        typer.echo(summary(result.plan, result))
    if result.plan.blocked:
        sys.exit(int(ExitCode.BLOCKED))
