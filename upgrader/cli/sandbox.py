"""``upgrader sandbox up|down``: the local EKS twin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upgrader.cli.output import Format, emit_json

app = typer.Typer(
    help="A local EKS twin (AWS and Kubernetes APIs on 127.0.0.1).", no_args_is_help=True
)
DEFAULT_DIR = Path(".upgrader-sandbox")
DirOption = Annotated[Path, typer.Option("--dir", help="directory for env, kubeconfig, config")]


@app.command("up")
def up(
    scenario: Annotated[str, typer.Argument(help="scenario file, or dev|staging|modern|tight")],
    directory: DirOption = DEFAULT_DIR,
    fmt: Annotated[Format, typer.Option("--format")] = Format.TEXT,
) -> None:
    """Start the twin in the background; writes DIR/env, DIR/kubeconfig, DIR/upgrader.yaml."""
    from upgrader.pipeline.sandbox import sandbox_up  # noqa: PLC0415 - lazy: issue 15

    running = sandbox_up(scenario, directory)
    if fmt is Format.JSON:
        emit_json(
            {
                "scenario": running.scenario,
                "dir": str(running.directory),
                "pid": running.pid,
                "env": str(running.env),
                "kubeconfig": str(running.kubeconfig),
                "config": str(running.config),
                "aws_endpoint": running.aws_endpoint,
                "kubernetes_endpoint": running.kubernetes_endpoint,
                "seconds": running.seconds,
            }
        )
        return
    typer.echo(
        f"sandbox {running.scenario} is up in {running.seconds:.1f} s (pid {running.pid})\n"
        f"  AWS:        {running.aws_endpoint}\n"
        f"  Kubernetes: {running.kubernetes_endpoint}\n"
        f"  config:     {running.config}\n"
        f"next: source {running.env} && upgrader plan -c {running.config}\n"
        f"stop: upgrader sandbox down --dir {running.directory}"
    )


@app.command("down")
def down(directory: DirOption = DEFAULT_DIR) -> None:
    """Stop the twin running in DIR and remove its endpoint files."""
    from upgrader.pipeline.sandbox import sandbox_down  # noqa: PLC0415 - lazy: issue 15

    if sandbox_down(directory):
        typer.echo(f"sandbox in {directory} stopped", err=True)
    else:
        typer.echo(f"no sandbox was running in {directory}", err=True)
