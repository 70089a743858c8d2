"""``upgrader status``: which steps of the current (or last) upgrade are done."""

from __future__ import annotations

import typer

from upgrader.cli.options import ConfigOption, FormatOption
from upgrader.cli.output import Format, emit_json
from upgrader.markdown import table


def status(
    config: ConfigOption,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Which steps of the current (or last) upgrade are done."""
    from upgrader.pipeline.apply import status as read  # noqa: PLC0415 - lazy: issue 15

    result = read(config)
    j = result.journal
    if fmt is Format.JSON:
        emit_json(
            {"cluster": result.cluster, "journal": None}
            if j is None
            else {
                "cluster": result.cluster,
                "plan": j.plan,
                "done": list(j.done),
                "current": j.current,
                "complete": j.complete,
                "terminated": list(j.terminated),
                "rolled_back": list(j.rolled_back),
            }
        )
        return
    if j is None:
        typer.echo(f"{result.cluster}: no upgrade has run (no journal)")
        return
    state = "complete" if j.complete else f"in progress at {j.current or 'the next step'}"
    if j.rolled_back:
        state = f"rolled back ({', '.join(j.rolled_back)} undone by `upgrader rollback`)"
    typer.echo(f"{result.cluster}: plan {j.plan[:19]}… {state}")
    typer.echo(table(["#", "step done"], [[str(i), s] for i, s in enumerate(j.done, 1)]))
