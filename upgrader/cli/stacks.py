"""``upgrader stacks render``: the CloudFormation templates upgrader would own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upgrader.cli.options import ConfigOption, FormatOption
from upgrader.cli.output import Format, emit_json
from upgrader.markdown import table

DEFAULT_DIR = Path("upgrader-stacks")

app = typer.Typer(help="The CloudFormation stacks upgrader works through.", no_args_is_help=True)


@app.command("render")
def render(
    config: ConfigOption,
    out: Annotated[
        Path, typer.Option("-o", "--out", help="directory for <stack-name>.yaml")
    ] = DEFAULT_DIR,
    to: Annotated[str | None, typer.Option("--to", help="target Kubernetes minor")] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """Write the template upgrader would own for each of the config's stacks at the target
    (a stack on a launch configuration: its plan's launch-template migration)."""
    from upgrader.pipeline.stacks import render_stacks  # noqa: PLC0415 - lazy: issue 15

    rendered = render_stacks(config, out=out, to=to)
    if fmt is Format.JSON:
        emit_json({"stacks": [r.as_json() for r in rendered]})
        return
    typer.echo(
        table(
            ["stack", "kind", "source", "path"],
            [[r.stack, r.kind, r.source, str(r.path)] for r in rendered],
        )
    )
