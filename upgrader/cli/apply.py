"""``upgrader apply``: run a reviewed plan."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from upgrader import pipeline
from upgrader.cli.options import PlanFileArgument, ProgressFormatOption, sink_for
from upgrader.cli.output import Format
from upgrader.errors import BadInputError


def apply(
    plan_file: PlanFileArgument,
    yes: Annotated[
        bool, typer.Option("--yes", help="do not ask before changing the cluster")
    ] = False,
    cleanup_leaked_enis: Annotated[
        bool, typer.Option("--cleanup-leaked-enis", help="delete leaked aws-K8S-* ENIs at verify")
    ] = False,
    fmt: ProgressFormatOption = Format.TEXT,
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
