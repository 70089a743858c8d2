"""``upgrader apply``, ``upgrader status`` and ``upgrader demo``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from upgrader import pipeline
from upgrader.cli.output import Format, emit_json
from upgrader.errors import BadInputError
from upgrader.executor.progress import Event, Sink, json_line, text
from upgrader.markdown import table

FormatOption = Annotated[Format, typer.Option("--format", help="text, or json: one event per line")]


def sink_for(fmt: Format) -> Sink:
    """Progress to stdout: readable lines, or one JSON object per line for CI logs."""

    def emit(event: Event) -> None:
        typer.echo(json_line(event) if fmt is Format.JSON else text(event))
        sys.stdout.flush()

    return emit


def apply(
    plan_file: Annotated[Path, typer.Argument(help="plan file from `upgrader plan --out`")],
    yes: Annotated[
        bool, typer.Option("--yes", help="do not ask before changing the cluster")
    ] = False,
    cleanup_leaked_enis: Annotated[
        bool, typer.Option("--cleanup-leaked-enis", help="delete leaked aws-K8S-* ENIs at verify")
    ] = False,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Execute a reviewed plan stage by stage, re-checking each gate before its step."""
    if not yes:
        if not sys.stdin.isatty():
            raise BadInputError(
                "upgrader apply",
                "needs confirmation and no terminal is attached",
                "pass --yes (as CI does) once the plan was reviewed",
            )
        typer.confirm(f"apply {plan_file} to the cluster?", abort=True)
    pipeline.apply(plan_file, sink=sink_for(fmt), cleanup_leaked_enis=cleanup_leaked_enis)


def status(
    config: Annotated[Path, typer.Option("-c", "--config", help="upgrader.yaml")],
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Which steps of the current (or last) upgrade are done."""
    result = pipeline.status(config)
    j = result.journal
    if fmt is Format.JSON:
        emit_json(
            {"cluster": result.cluster, "journal": None}
            if j is None
            else {
                "cluster": result.cluster,
                "plan": j.plan,
                "done": list(j.done),
                "current": j.current,
                "complete": j.complete,
                "terminated": list(j.terminated),
            }
        )
        return
    if j is None:
        typer.echo(f"{result.cluster}: no upgrade has run (no journal)")
        return
    state = "complete" if j.complete else f"in progress at {j.current or 'the next step'}"
    typer.echo(f"{result.cluster}: plan {j.plan[:19]}… {state}")
    typer.echo(table(["#", "step done"], [[str(i), s] for i, s in enumerate(j.done, 1)]))


def demo(
    scenario: Annotated[
        str, typer.Argument(help="dev|staging|modern|tight or a YAML path")
    ] = "staging",
    directory: Annotated[Path, typer.Option("--dir", help="where the plan and runbook go")] = Path(
        "upgrader-demo"
    ),
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Sandbox up -> plan -> runbook -> apply -> verify -> down, on a local EKS twin."""
    result = pipeline.demo(scenario, directory, sink=sink_for(fmt))
    p = result.plan
    summary = (
        f"demo {result.scenario}: {p.cluster} upgraded {p.from_.kubernetes} -> {p.to.kubernetes}, "
        f"VPC CNI {p.from_.cni} -> {p.to.cni}; {len(result.applied.steps_run)} step(s) applied\n"
        f"  plan:    {result.plan_file}\n  runbook: {result.runbook}"
    )
    typer.echo(summary, err=fmt is Format.JSON)
