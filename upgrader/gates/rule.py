"""A gate as a rule: its check and what it means (ID, title, severity, description)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from upgrader.gates.inputs import GateInputs
from upgrader.model.plan import Finding, Severity

DOCS = "docs/gates.md"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One gate. ``severity`` is that of its findings (STK001 also reports a rolled-back
    stack as advisory); ``inputs`` names the :class:`GateInputs` fields it reads."""

    id: str
    title: str
    severity: Severity
    description: str
    inputs: tuple[str, ...]
    check: Callable[[GateInputs], Iterable[Finding]]

    @property
    def anchor(self) -> str:
        """Where the gate is documented (``docs/gates.md#cap001``)."""
        return f"{DOCS}#{self.id.lower()}"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": str(self.severity),
            "description": self.description,
            "inputs": list(self.inputs),
            "docs": self.anchor,
        }
