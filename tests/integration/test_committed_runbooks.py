"""The committed runbooks (``runbooks/<scenario>.md``) are what `upgrader plan` writes today:
each shipped scenario is planned again on the twin, through the command line, exactly as
``bash scripts/runbooks`` does it, and compared with volatile IDs normalised on both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import runbooks

pytestmark = pytest.mark.integration


def _shown(path: Path) -> str:
    return str(path.relative_to(runbooks.REPO))


@pytest.mark.parametrize("scenario", runbooks.scenarios())
def test_committed_runbook_is_what_plan_writes_today(scenario: str, tmp_path: Path) -> None:
    target = runbooks.committed(scenario)
    fix = f"regenerate it with `{runbooks.regenerate_command(scenario)}`"
    assert target.is_file(), f"{_shown(target)} is missing: {fix}"
    fresh = runbooks.regenerate(scenario, tmp_path)
    diff = runbooks.stale(target.read_text(), fresh.read_text(), _shown(target))
    if diff is not None:
        pytest.fail(f"{_shown(target)} is stale: {fix} and review the change\n{diff}")


def test_every_committed_runbook_has_a_shipped_scenario() -> None:
    orphans = [_shown(p) for p in runbooks.orphans()]
    assert not orphans, f"no shipped scenario for {orphans}: remove them with `{runbooks.COMMAND}`"
