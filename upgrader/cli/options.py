"""Options and progress output shared by the commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from upgrader.cli.output import Format

if TYPE_CHECKING:
    from upgrader.executor.progress import Event, Sink

ConfigOption = Annotated[Path, typer.Option("-c", "--config", help="upgrader.yaml (DESIGN §4)")]
FormatOption = Annotated[Format, typer.Option("--format", help="text or json")]
ProgressFormatOption = Annotated[
    Format, typer.Option("--format", help="text, or json: one event per line")
]
PlanFileArgument = Annotated[Path, typer.Argument(help="plan file from `upgrader plan --out`")]


def sink_for(fmt: Format) -> Sink:
    """Progress to stdout: readable lines, or one JSON object per line for CI logs."""
    from upgrader.executor.progress import json_line, text  # noqa: PLC0415 - lazy: issue 15

    def emit(event: Event) -> None:
        typer.echo(json_line(event) if fmt is Format.JSON else text(event))
        sys.stdout.flush()

    return emit
