"""``upgrader catalog``: refresh the instance catalog from EC2."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The instance-type catalog.", no_args_is_help=True)


def default_overlay_path() -> Path:
    """Where a refreshed catalog lives: ``$UPGRADER_CACHE_DIR`` or ``~/.cache/upgrader``."""
    base = os.environ.get("UPGRADER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "upgrader"
    )
    return Path(base) / "instance-types.csv"


@app.command("refresh")
def refresh(
    region: Annotated[list[str], typer.Option(help="EC2 region to ask (repeat for several)")],
    out: Annotated[Path | None, typer.Option(help="overlay file to write")] = None,
) -> None:
    """Fetch instance types live through EC2 DescribeInstanceTypes (standard AWS
    credentials and AWS_ENDPOINT_URL); later commands read them over the bundled table."""
    from upgrader.pipeline.capacity import refresh_instance_catalog  # noqa: PLC0415 - lazy

    target = out or default_overlay_path()
    count = refresh_instance_catalog(region, target)
    typer.echo(f"wrote {count} instance types to {target}", err=True)
