"""A CLI that starts instantly (issue 15): building the app, ``--help`` and a pure
``capacity`` calculation load no AWS or Kubernetes client, stack builder or jsonnet binding;
each command imports its use case when it runs. Timing: ``benchmarks/cli_start.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("boto3", "botocore", "kubernetes", "troposphere", "_jsonnet", "_gojsonnet", "moto")
# The product's own modules that import them; the use cases (``upgrader.pipeline.*``) too.
HEAVY_OWN = ("upgrader.adapters", "upgrader_stacks", "upgrader.pipeline.")

# Runs in a fresh interpreter: what the console entry point does (``upgrader.cli:main``
# with ``sys.argv``), or with no arguments only import the CLI and build its click command
# tree as ``app()`` does; then writes the loaded modules and the exit code to a file.
PROBE = """
import json, sys
out, args = sys.argv[1], json.loads(sys.argv[2])
code = 0
if args is None:
    import typer.main
    import upgrader.cli
    typer.main.get_command(upgrader.cli.app)
else:
    sys.argv = ["upgrader", *args]
    from upgrader.cli import main
    try:
        main()
    except SystemExit as done:
        code = done.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _loaded(
    tmp_path: Path, args: list[str] | None
) -> tuple[int, list[str], subprocess.CompletedProcess[str]]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
        env={**os.environ, "UPGRADER_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(out.read_text())
    return found["code"], found["modules"], done


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY_OWN)]


def test_importing_the_cli_and_building_the_app_loads_no_heavy_module(tmp_path: Path) -> None:
    code, modules, _ = _loaded(tmp_path, None)
    assert code == 0
    assert "upgrader.cli" in modules
    assert _heavy(modules) == []


@pytest.mark.parametrize("args", [["--help"], ["plan", "--help"], ["capacity", "--help"]])
def test_help_loads_no_heavy_module(tmp_path: Path, args: list[str]) -> None:
    code, modules, done = _loaded(tmp_path, args)
    assert code == 0, done.stderr
    assert "Usage" in done.stdout
    assert _heavy(modules) == []


def test_plan_help_still_lists_the_gates(tmp_path: Path) -> None:
    """The epilog is built when help is shown, not when the app is."""
    code, _, done = _loaded(tmp_path, ["plan", "--help"])
    assert code == 0, done.stderr
    assert "Gates:" in done.stdout
    assert "CAP001" in done.stdout


def test_a_pure_capacity_calculation_loads_no_heavy_module(tmp_path: Path) -> None:
    args = ["capacity", "--instance-type", "r5.xlarge", "--pods", "30", "--format", "json"]
    code, modules, done = _loaded(tmp_path, args)
    assert code == 0, done.stderr
    assert json.loads(done.stdout)["instance_type"] == "r5.xlarge"
    assert [m for m in _heavy(modules) if m != "upgrader.pipeline.capacity"] == []
