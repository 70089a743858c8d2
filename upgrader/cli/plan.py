"""``upgrader plan``, ``upgrader runbook`` and ``upgrader compile``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from upgrader import pipeline
from upgrader.cli.output import Format, emit_json
from upgrader.errors import ExitCode
from upgrader.markdown import table
from upgrader.model.plan import Plan

ConfigOption = Annotated[Path, typer.Option("-c", "--config", help="upgrader.yaml (DESIGN §4)")]
FormatOption = Annotated[Format, typer.Option("--format", help="text or json")]


def summary(plan: Plan, result: pipeline.PlanResult) -> str:
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
    result = pipeline.plan(config, to=to, out=out, runbook=runbook)
    if fmt is Format.JSON:
        emit_json(result.plan.to_json())
    else:
        typer.echo(summary(result.plan, result))
    if result.plan.blocked:
        sys.exit(int(ExitCode.BLOCKED))


def runbook(
    plan_file: Annotated[Path, typer.Argument(help="plan file from `upgrader plan --out`")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="write it here")] = None,
) -> None:
    """Render the Markdown runbook of a plan file."""
    text = pipeline.runbook(plan_file, out)
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"runbook: {out}", err=True)


def compile_manifests(
    config: ConfigOption,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="directory for YAML")] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """jsonnet -> validated manifests for the config's target versions."""
    manifests = pipeline.compile_config(config, out)
    if fmt is Format.JSON:
        emit_json(manifests)
        return
    for key in sorted(manifests):
        kinds = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in manifests[key])
        typer.echo(f"{key}: {kinds}")
    if out is not None:
        typer.echo(f"written to {out}", err=True)
