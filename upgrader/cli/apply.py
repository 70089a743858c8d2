"""``upgrader apply``: run a reviewed plan."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from upgrader.cli.options import (
    PlanFileArgument,
    ProgressFormatOption,
    ProgressOutput,
    progress_output,
)
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

    # The live display (a terminal, --format text) starts with the first event, after the
    # confirmation, and stops before an error reaches the error path of ``upgrader.cli``.
    with progress_output(fmt) as out:
        run(
            plan_file,
            sink=out.sink,
            cleanup_leaked_enis=cleanup_leaked_enis,
            expect_digest=expect_digest,
            confirm=_before_run(out, ask=not yes),
        )


def _before_run(out: ProgressOutput, *, ask: bool) -> Callable[[Plan], None] | None:
    """Once every check passed: ask (unless --yes), then give the display the plan's steps."""
    if not ask and not out.live:
        return None

    def confirm(plan: Plan) -> None:
        if ask:
            _ask(plan)
        out.expect([(step.id, str(step.kind)) for step in plan.steps])

    return confirm


def _ask(plan: Plan) -> None:
    typer.confirm(
        f"apply the plan {plan.digest[:19]}… ({plan.from_.kubernetes} -> {plan.to.kubernetes}, "
        f"{len(plan.steps)} steps) to {plan.cluster} in {plan.region}?",
        abort=True,
    )
