"""`upgrader apply` on Modern (1.31 -> 1.32, a managed node group), and `upgrader demo`."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.apply_harness import Cluster, assert_upgraded
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration


@pytest.fixture
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "modern", Cluster)


def test_modern_upgrades_end_to_end_with_a_managed_group(modern: Cluster) -> None:
    c = modern
    nodes_before, asg_before, watcher = c.planned("/apis/policy/v1/poddisruptionbudgets")
    code, _, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert_upgraded(c, "1.32", "v1.20.", nodes_before)
    managed = c.eks.describe_nodegroup(clusterName="modern", nodegroupName="general")["nodegroup"]
    assert managed["version"] == "1.32" and managed["status"] == "ACTIVE"
    assert c.asg_state() == asg_before
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []


def test_demo_command_runs_the_whole_job(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "upgrader", "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert elapsed < 180
    assert "1.12 -> 1.13" in result.stdout
    assert (tmp_path / "demo" / "plan.json").is_file()
    assert (tmp_path / "demo" / "runbook.md").read_text().startswith("#")
    assert str(tmp_path / "demo" / "runbook.md") in result.stdout
    assert "staging is at 1.13" in result.stdout
    print(f"upgrader demo: {elapsed:.1f} s wall")
