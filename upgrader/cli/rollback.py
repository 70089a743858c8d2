"""``upgrader rollback``: the control plane back one minor within EKS's rollback window."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from upgrader.cli.options import PlanFileArgument, ProgressFormatOption, sink_for
from upgrader.cli.output import Format
from upgrader.errors import BadInputError

if TYPE_CHECKING:
    from upgrader.model.plan import Plan
    from upgrader.model.steps import ControlPlaneStep


def rollback(
    plan_file: PlanFileArgument,
    yes: Annotated[
        bool, typer.Option("--yes", help="do not ask before rolling the control plane back")
    ] = False,
    fmt: ProgressFormatOption = Format.TEXT,
) -> None:
    """Roll the control plane back to N-1 (EKS version rollback) while the window is open
    and every node is still at N-1; exit 3 (nothing changed) says why not."""
    if not yes and not sys.stdin.isatty():
        raise BadInputError(
            "upgrader rollback",
            "needs confirmation and no terminal is attached",
            "pass --yes once you decided to roll back",
        )
    from upgrader.pipeline.rollback import rollback as run  # noqa: PLC0415 - lazy: issue 15

    run(plan_file, sink=sink_for(fmt), confirm=None if yes else _ask)


def _ask(plan: Plan, step: ControlPlaneStep) -> None:
    typer.confirm(
        f"roll the control plane of {plan.cluster} in {plan.region} back "
        f"{step.from_} -> {step.to}?",
        abort=True,
    )
