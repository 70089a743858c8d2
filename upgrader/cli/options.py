"""Options and progress output shared by the commands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from upgrader.cli.output import Format

if TYPE_CHECKING:
    from upgrader.executor.progress import Event, Sink

ConfigOption = Annotated[Path, typer.Option("-c", "--config", help="upgrader.yaml (DESIGN §4)")]
FormatOption = Annotated[Format, typer.Option("--format", help="text or json")]
ProgressFormatOption = Annotated[
    Format,
    typer.Option(
        "--format",
        help="text (a live display on a terminal; plain lines otherwise or with "
        "UPGRADER_NO_LIVE=1), or json: one event per line",
    ),
]
PlanFileArgument = Annotated[Path, typer.Argument(help="plan file from `upgrader plan --out`")]
NO_LIVE = "UPGRADER_NO_LIVE"


def sink_for(fmt: Format) -> Sink:
    """Progress to stdout: readable lines, or one JSON object per line for CI logs."""
    from upgrader.executor.progress import json_line, text  # noqa: PLC0415 - lazy: issue 15

    def emit(event: Event) -> None:
        typer.echo(json_line(event) if fmt is Format.JSON else text(event))
        sys.stdout.flush()

    return emit


def live_wanted(fmt: Format) -> bool:
    """The live display: text format, stdout a terminal that is not dumb, and
    ``UPGRADER_NO_LIVE`` unset (or empty). CI logs keep their lines."""
    return (
        fmt is Format.TEXT
        and sys.stdout.isatty()
        and os.environ.get("TERM") != "dumb"
        and not os.environ.get(NO_LIVE)
    )


def _no_plan(_: Iterable[tuple[str, str]]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ProgressOutput:
    """Where a run's events go; ``expect`` takes the plan's steps as (id, kind)."""

    sink: Sink
    expect: Callable[[Iterable[tuple[str, str]]], None] = _no_plan
    live: bool = False


@contextmanager
def progress_output(fmt: Format) -> Iterator[ProgressOutput]:
    """:func:`sink_for`'s lines or JSON, or the live display when :func:`live_wanted`;
    the display stops cleanly however the block ends, before the error path prints."""
    if not live_wanted(fmt):
        yield ProgressOutput(sink_for(fmt))
        return
    from upgrader.cli.live import LiveSink  # noqa: PLC0415 - rich only when drawing

    with LiveSink() as live:
        yield ProgressOutput(live, live.expect, live=True)
