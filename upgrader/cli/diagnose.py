"""``upgrader diagnose``: ipamd, ENIs and subnets of a live cluster (read-only)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from upgrader.cli.options import ConfigOption
from upgrader.cli.output import emit_json
from upgrader.errors import BadInputError, ExitCode


class DiagnoseFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


def diagnose(
    config: ConfigOption,
    node: Annotated[
        str | None, typer.Option("--node", help="diagnose this node only (its Kubernetes name)")
    ] = None,
    delete_leaked_enis: Annotated[
        bool,
        typer.Option(
            "--delete-leaked-enis",
            help="delete the leaked aws-K8S-* ENIs IPAMD005 names (needs --yes); nothing else",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="confirm --delete-leaked-enis")] = False,
    fmt: Annotated[
        DiagnoseFormat, typer.Option("--format", help="text, json, or markdown (for a ticket)")
    ] = DiagnoseFormat.TEXT,
) -> None:
    """Diagnose ipamd, ENIs and subnets node by node, as the troubleshooting guide does by
    hand; exit 0 healthy, 3 problems found, 2 bad input."""
    if delete_leaked_enis and not yes:
        raise BadInputError(
            "--delete-leaked-enis",
            "deletes ENIs and needs confirmation",
            "run diagnose without it first, check the IPAMD005 ENIs, then add --yes",
        )
    from upgrader.diagnosis import render  # noqa: PLC0415 - lazy: issue 15
    from upgrader.pipeline.diagnose import diagnose as run  # noqa: PLC0415

    result = run(config, node=node, delete_leaked_enis=delete_leaked_enis)
    if fmt is DiagnoseFormat.JSON:
        emit_json(result.to_json())
    elif fmt is DiagnoseFormat.MARKDOWN:
        typer.echo(render.markdown(result))
    else:
        typer.echo(render.text(result))
    if not result.healthy:
        sys.exit(int(ExitCode.BLOCKED))
