"""What the runbook prints where the plan lists nothing (no node group, no subnet)."""

from __future__ import annotations

UNKNOWN = "?"
