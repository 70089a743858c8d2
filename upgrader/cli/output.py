"""Output formats shared by the commands."""

from __future__ import annotations

import json
from enum import StrEnum

import typer


class Format(StrEnum):
    """``--format`` values."""

    TEXT = "text"
    JSON = "json"


def emit_json(data: object) -> None:
    """Deterministic JSON on stdout."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True))
