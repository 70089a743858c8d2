"""``upgrader demo``: the whole job on the local EKS twin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upgrader.cli.options import ProgressFormatOption, sink_for
from upgrader.cli.output import Format


def demo(
    scenario: Annotated[
        str, typer.Argument(help="dev|staging|modern|tight or a YAML path")
    ] = "staging",
    directory: Annotated[Path, typer.Option("--dir", help="where the plan and runbook go")] = Path(
        "upgrader-demo"
    ),
    fmt: ProgressFormatOption = Format.TEXT,
) -> None:
    """Sandbox up -> plan -> runbook -> apply -> verify -> down, on a local EKS twin."""
    from upgrader.pipeline.demo import demo as run  # noqa: PLC0415 - lazy: issue 15

    result = run(scenario, directory, sink=sink_for(fmt))
    p = result.plan
    summary = (
        f"demo {result.scenario}: {p.cluster} upgraded {p.from_.kubernetes} -> {p.to.kubernetes}, "
        f"VPC CNI {p.from_.cni} -> {p.to.cni}; {len(result.applied.steps_run)} step(s) applied\n"
        f"  plan:    {result.plan_file}\n  runbook: {result.runbook}"
    )
    typer.echo(summary, err=fmt is Format.JSON)
