"""``upgrader gates``: every gate with its ID, severity and description."""

from __future__ import annotations

import textwrap
from enum import StrEnum
from typing import Annotated

import typer

from upgrader.cli.output import emit_json

INDENT = " " * 4


class GatesFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


def gates(
    fmt: Annotated[
        GatesFormat,
        typer.Option("--format", help="text, json, or markdown (docs/gates.md)"),
    ] = GatesFormat.TEXT,
) -> None:
    """List every gate plan and apply check, with what it means."""
    from upgrader.gates import document  # noqa: PLC0415 - lazy: issue 15
    from upgrader.pipeline.gates import list_gates  # noqa: PLC0415

    found = list_gates()
    if fmt is GatesFormat.JSON:
        emit_json({"gates": [g.to_json() for g in found]})
    elif fmt is GatesFormat.MARKDOWN:
        typer.echo(document.markdown(found), nl=False)
    else:
        for g in found:
            typer.echo(f"{g.id}  {g.severity:<8}  {g.title}")
            typer.echo(
                textwrap.fill(g.description, 88, initial_indent=" " * 4, subsequent_indent=" " * 4)
            )
            typer.echo(f"    docs: {g.anchor}\n")
