"""``upgrader runbook``: the Markdown runbook of a plan file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upgrader.cli.options import PlanFileArgument


def runbook(
    plan_file: PlanFileArgument,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="write it here")] = None,
) -> None:
    """Render the Markdown runbook of a plan file."""
    from upgrader.pipeline.plan import runbook as render  # noqa: PLC0415 - lazy: issue 15
    from upgrader.textfile import check_output_file  # noqa: PLC0415

    if out is not None:
        check_output_file(out, option="--out")
    text = render(plan_file, out)
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"runbook: {out}", err=True)
