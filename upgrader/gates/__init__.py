"""Preflight gates (DESIGN §5): stable IDs, each finding names the object and the fix.

One module per gate in :mod:`upgrader.gates.rules`, each a :class:`Rule` with its
metadata; pure functions over :class:`GateInputs`. :func:`run` turns a crashing gate
into a blocking finding.
"""

from upgrader.gates.api_uses import api_uses
from upgrader.gates.inputs import (
    MANAGED,
    MANAGED_SURGE_PER_AZ,
    SELF_MANAGED,
    ApiUse,
    GateInputs,
    GroupRoll,
    subnet_label,
)
from upgrader.gates.pool import leaked_enis
from upgrader.gates.registry import gate_ids, rule, rules, run
from upgrader.gates.rule import Rule

__all__ = [
    "MANAGED",
    "MANAGED_SURGE_PER_AZ",
    "SELF_MANAGED",
    "ApiUse",
    "GateInputs",
    "GroupRoll",
    "Rule",
    "api_uses",
    "gate_ids",
    "leaked_enis",
    "rule",
    "rules",
    "run",
    "subnet_label",
]
