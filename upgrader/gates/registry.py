"""Every gate, discovered from :mod:`upgrader.gates.rules`, and :func:`run`, which never
lets a crash pass."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from functools import cache

from upgrader.gates import rules as rules_package
from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding


@cache
def rules() -> tuple[Rule, ...]:
    """The ``RULE`` of every module in :mod:`upgrader.gates.rules`, by ID."""
    found: dict[str, Rule] = {}
    for module in pkgutil.iter_modules(rules_package.__path__):
        rule = importlib.import_module(f"{rules_package.__name__}.{module.name}").RULE
        if not isinstance(rule, Rule) or rule.id.lower() != module.name:
            raise TypeError(f"gates/rules/{module.name}.py must define RULE = Rule(id=...)")
        found[rule.id] = rule
    return tuple(found[i] for i in sorted(found))


def gate_ids() -> tuple[str, ...]:
    return tuple(r.id for r in rules())


def rule(gate_id: str) -> Rule:
    """The rule of ``gate_id``; ``KeyError`` for an unknown ID."""
    return {r.id: r for r in rules()}[gate_id]


def run(inputs: GateInputs, gates: Sequence[Rule] | None = None) -> tuple[Finding, ...]:
    """Run every gate; a gate that raises becomes a BLOCKING finding, never a pass.

    Findings come back sorted by (id, subject, message).
    """
    found: list[Finding] = []
    for gate in rules() if gates is None else gates:
        try:
            found.extend(gate.check(inputs))
        except Exception as err:  # any crash must block, whatever it is
            found.append(
                blocking(
                    gate.id,
                    f"gate {gate.id}",
                    f"the gate crashed ({type(err).__name__}: {err}), so it did not pass. "
                    "Fix: check the input it names; if it looks right, report this as an "
                    "upgrader bug with the plan file.",
                )
            )
    return tuple(sorted(found, key=lambda f: (f.id, f.subject, f.message)))
