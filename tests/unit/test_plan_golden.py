"""Plan goldens: the planner's output for the Staging, Tight and Modern states, byte for byte.

UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_plan_golden.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cluster_states import config, modern, staging, tight
from upgrader.model.state import ClusterState
from upgrader.planner import make_plan

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "plans" / "planner"
REGEN = os.environ.get("UPGRADER_REGEN_GOLDEN") == "1"


@pytest.mark.parametrize(
    ("name", "state", "target"),
    [("staging", staging, "1.13"), ("tight", tight, "1.13"), ("modern", modern, "1.32")],
)
def test_planner_output_equals_golden(
    name: str, state: Callable[[], ClusterState], target: str
) -> None:
    live = state()
    text = make_plan(live, config(live, target=target)).dumps()
    path = GOLDEN / f"{name}.json"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, (
        f"{path} differs; if intended, regenerate (see this module's docstring)"
    )
