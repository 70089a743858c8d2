"""``upgrader gates``: every gate with its meaning (no I/O)."""

from __future__ import annotations

from upgrader.gates import Rule, rules


def list_gates() -> tuple[Rule, ...]:
    """Every gate, by ID."""
    return rules()
