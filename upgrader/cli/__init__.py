"""The ``upgrader`` command line: parse, call one pipeline function, render, exit.

Building the app imports no use case: each command imports its pipeline function when it
runs, so ``--help`` and ``capacity`` load neither boto3 nor kubernetes (issue 15;
tests/unit/test_cli_start.py)."""

from __future__ import annotations

import sys

import typer

from upgrader.cli import (
    apply,
    capacity,
    catalog,
    demo,
    diagnose,
    gates,
    manifests,
    plan,
    rollback,
    runbook,
    sandbox,
    stacks,
    status,
)
from upgrader.errors import ExitCode, UpgraderError

app = typer.Typer(
    name="upgrader",
    help="Upgrade Amazon EKS clusters, gated on subnet and ENI capacity.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.command("plan", cls=plan.PlanCommand)(plan.plan)
app.command("apply")(apply.apply)
app.command("rollback")(rollback.rollback)
app.command("runbook")(runbook.runbook)
app.command("status")(status.status)
app.command("demo")(demo.demo)
app.command("compile")(manifests.compile_manifests)
app.command("capacity")(capacity.capacity)
app.command("gates")(gates.gates)
app.command("diagnose")(diagnose.diagnose)
app.add_typer(catalog.app, name="catalog")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(stacks.app, name="stacks")


def main() -> None:
    """Console entry point. Usage errors exit 2 (typer's own handling); our errors
    print their subject, problem and fix and exit with their code; anything else
    is a bug and exits 1 without a traceback full of locals."""
    try:
        app()
    except UpgraderError as err:
        typer.echo(err.render(), err=True)
        sys.exit(int(err.exit_code))
    except Exception as err:  # last resort: a bug, exit 1
        typer.echo(
            f"error: internal bug: {type(err).__name__}: {err}\n"
            "  fix: re-run with the same input and report it with this message",
            err=True,
        )
        sys.exit(int(ExitCode.BUG))
