"""Scenario files are read strictly: a FIFO, binary text or an alias bomb is a
ScenarioError (exit 2) naming the file, answered at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ekstwin.scenario import ScenarioError, load
from tests.support.bad_inputs import BILLION_LAUGHS
from upgrader.errors import ExitCode


def test_bad_scenario_files_are_refused_at_once(tmp_path: Path) -> None:
    fifo, binary, bomb = tmp_path / "fifo.yaml", tmp_path / "binary.yaml", tmp_path / "bomb.yaml"
    os.mkfifo(fifo)
    binary.write_bytes(b"name: \x00\x01")
    bomb.write_text(BILLION_LAUGHS)
    for path, needle in (
        (fifo, "is a FIFO"),
        (binary, "is binary"),
        (bomb, "alias bomb"),
        (tmp_path, "is a directory"),
    ):
        started = time.monotonic()
        with pytest.raises(ScenarioError) as err:
            load(str(path))
        assert time.monotonic() - started < 5
        assert err.value.exit_code == ExitCode.BAD_INPUT
        assert err.value.subject == f"scenario {path}" and needle in err.value.message


def test_shipped_scenarios_still_load_by_name() -> None:
    assert load("staging").name == "staging"
