"""``upgrader compile``: the jsonnet manifests for the config's targets, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upgrader import pipeline
from upgrader.cli.options import ConfigOption, FormatOption
from upgrader.cli.output import Format, emit_json
from upgrader.textfile import check_output_dir


def compile_manifests(
    config: ConfigOption,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="directory for YAML")] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """jsonnet -> validated manifests for the config's target versions."""
    if out is not None:
        check_output_dir(out, option="--out")
    manifests = pipeline.compile_config(config, out)
    if fmt is Format.JSON:
        emit_json(manifests)
        return
    for key in sorted(manifests):
        kinds = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in manifests[key])
        typer.echo(f"{key}: {kinds}")
    if out is not None:
        typer.echo(f"written to {out}", err=True)
