"""``upgrader apply``: run a reviewed plan."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from upgrader.cli.options import PlanFileArgument, ProgressFormatOption, sink_for
from upgrader.cli.output import Format
from upgrader.errors import BadInputError

if TYPE_CHECKING:
    from upgrader.model.plan import Plan


def apply(
    plan_file: PlanFileArgument,
    yes: Annotated[
        bool, typer.Option("--yes", help="do not ask before changing the cluster")
    ] = False,
    cleanup_leaked_enis: Annotated[
        bool, typer.Option("--cleanup-leaked-enis", help="delete leaked aws-K8S-* ENIs at verify")
    ] = False,
    expect_digest: Annotated[
        str | None,
        typer.Option(
            "--expect-digest",
            help="refuse (exit 2) unless the plan's digest is this approved value",
            metavar="sha256:HEX",
        ),
    ] = None,
    fmt: ProgressFormatOption = Format.TEXT,
) -> None:
    """Execute a reviewed plan stage by stage, re-checking each gate before its step."""
    if not yes and not sys.stdin.isatty():
        raise BadInputError(
            "upgrader apply",
            "needs confirmation and no terminal is attached",
            "pass --yes (as CI does) once the plan was reviewed",
        )
    from upgrader.pipeline.apply import apply as run  # noqa: PLC0415 - lazy: issue 15

    run(
        plan_file,
        sink=sink_for(fmt),
        cleanup_leaked_enis=cleanup_leaked_enis,
        expect_digest=expect_digest,
        confirm=None if yes else _ask,
    )


def _ask(plan: Plan) -> None:
    typer.confirm(
        f"apply the plan {plan.digest[:19]}… ({plan.from_.kubernetes} -> {plan.to.kubernetes}, "
        f"{len(plan.steps)} steps) to {plan.cluster} in {plan.region}?",
        abort=True,
    )
