"""``upgrader sandbox up|down``."""

from __future__ import annotations

from pathlib import Path

from upgrader.sandbox import control


def sandbox_up(scenario: str, directory: Path) -> control.Running:
    """Start the local EKS twin for ``scenario`` (a path or a shipped name) in the background."""
    return control.up(scenario, directory)


def sandbox_down(directory: Path) -> bool:
    """Stop the sandbox in ``directory``; False when none was running."""
    return control.down(directory)
