"""``upgrader compile``: the jsonnet manifests for the config's targets, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upgrader.cli.options import ConfigOption, FormatOption
from upgrader.cli.output import Format, emit_json


def compile_manifests(
    config: ConfigOption,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="directory for YAML")] = None,
    fmt: FormatOption = Format.TEXT,
) -> None:
    """jsonnet -> validated manifests for the config's target versions."""
    from upgrader.pipeline.plan import compile_config  # noqa: PLC0415 - lazy: issue 15
    from upgrader.textfile import check_output_dir  # noqa: PLC0415

    if out is not None:
        check_output_dir(out, option="--out")
    manifests = compile_config(config, out)
    if fmt is Format.JSON:
        emit_json(manifests)
        return
    for key in sorted(manifests):
        kinds = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in manifests[key])
        typer.echo(f"{key}: {kinds}")
    if out is not None:
        typer.echo(f"written to {out}", err=True)
