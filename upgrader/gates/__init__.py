"""Preflight gates (DESIGN §5): stable IDs, each finding names the object and the fix.

Pure functions over :class:`GateInputs`; :func:`run` turns a crashing gate into a
blocking finding.
"""

from upgrader.gates.apis import api_uses
from upgrader.gates.capacity import leaked_enis
from upgrader.gates.inputs import (
    MANAGED,
    MANAGED_SURGE_PER_AZ,
    SELF_MANAGED,
    ApiUse,
    GateInputs,
    GroupRoll,
    subnet_label,
)
from upgrader.gates.registry import GATE_IDS, GATES, Gate, run

__all__ = [
    "GATES",
    "GATE_IDS",
    "MANAGED",
    "MANAGED_SURGE_PER_AZ",
    "SELF_MANAGED",
    "ApiUse",
    "Gate",
    "GateInputs",
    "GroupRoll",
    "api_uses",
    "leaked_enis",
    "run",
    "subnet_label",
]
