"""Bad input on the command line: exit 2 with the value named, nothing else done."""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from upgrader.errors import BadInputError
from upgrader.executor.run import load_plan
from upgrader.pipeline.plan import read_plan
from upgrader.textfile import PLAN_LIMIT

TEAM = """\
local pod = {
  selector: { matchLabels: { app: "x" } },
  template: {
    metadata: { labels: { app: "x" } },
    spec: { containers: [{ name: "x", image: "nginx" }] },
  },
};
local meta(name) = { name: name, namespace: "app" };
{
  ds: { apiVersion: "extensions/v1beta1", kind: "DaemonSet", metadata: meta("x"), spec: pod },
  typo: { apiVersion: "apps/v1beta9", kind: "Deployment", metadata: meta("y"), spec: pod },
}
"""
CONFIG = """\
cluster: c
region: us-east-1
stacks: {{control_plane: c-eks, nodegroups: []}}
target: {{kubernetes: "{target}"}}
manifests: team.jsonnet
"""


def _upgrader(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "upgrader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_capacity_refuses_a_cni_release_that_does_not_exist() -> None:
    done = _upgrader("capacity", "--instance-type", "r5.xlarge", "--cni-version", "v9.9.9")
    assert done.returncode == 2
    assert "v9.9.9 is not a VPC CNI release upgrader knows" in done.stderr
    older = _upgrader("capacity", "--instance-type", "r5.xlarge", "--cni-version", "v1.2.1")
    assert older.returncode == 0, older.stderr


def test_compile_refuses_removed_and_never_served_apis(tmp_path: Path) -> None:
    (tmp_path / "team.jsonnet").write_text(TEAM)
    (tmp_path / "upgrader.yaml").write_text(CONFIG.format(target="1.16"))
    out = tmp_path / "out"
    done = _upgrader("compile", "-c", "upgrader.yaml", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "DaemonSet app/x uses extensions/v1beta1, removed in 1.16: use apps/v1" in done.stderr
    assert "Deployment app/y uses apps/v1beta9, which no release serves" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()  # nothing written
    (tmp_path / "upgrader.yaml").write_text(CONFIG.format(target="1.13"))
    older = _upgrader("compile", "-c", "upgrader.yaml", cwd=tmp_path)
    assert older.returncode == 2 and "apps/v1beta9" in older.stderr
    assert "DaemonSet app/x" not in older.stderr  # extensions/v1beta1 is still served by 1.13


def _special_plans(tmp_path: Path) -> list[tuple[Path, str]]:
    """Plan files that are no plan: each with the words its refusal must contain."""
    binary, utf16, deep = tmp_path / "binary.json", tmp_path / "utf16.json", tmp_path / "deep"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    utf16.write_bytes(codecs.BOM_UTF16_LE + '{"schema": 1}'.encode("utf-16-le"))
    deep.write_text("[" * 200_000 + "]" * 200_000)
    huge, fifo = tmp_path / "huge.json", tmp_path / "fifo.json"
    with huge.open("wb") as handle:
        handle.truncate(PLAN_LIMIT + 1)
    os.mkfifo(fifo)
    return [
        (binary, "is binary, not text"),
        (utf16, "is UTF-16 text"),
        (deep, ""),
        (huge, "is larger than the 64 MiB a plan file may have"),
        (fifo, "is a FIFO"),
        (tmp_path, "is a directory"),
        (tmp_path / "absent.json", "does not exist"),
    ]


def test_plan_files_that_are_no_plan_are_bad_input(tmp_path: Path) -> None:
    for path, needle in _special_plans(tmp_path):
        for read in (read_plan, load_plan):
            started = time.monotonic()
            with pytest.raises(BadInputError) as err:
                read(path)
            assert time.monotonic() - started < 5
            assert str(path) in err.value.subject and needle in err.value.message


def test_runbook_and_apply_refuse_a_fifo_plan_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    for command in (("runbook",), ("apply", "--yes")):
        done = _upgrader(*command, str(fifo))
        assert done.returncode == 2, done.stderr
        assert f"plan file {fifo}: is a FIFO (named pipe), not a regular file" in done.stderr


def test_output_paths_are_checked_before_any_work(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("keep")
    runbook = _upgrader("runbook", "nowhere.json", "-o", str(plain / "runbook.md"), cwd=tmp_path)
    assert runbook.returncode == 2, runbook.stderr
    assert f"--out {plain / 'runbook.md'}: {plain} is a file, not a directory" in runbook.stderr
    (tmp_path / "upgrader.yaml").write_text(CONFIG.format(target="1.13").replace("manifests", "#"))
    compiled = _upgrader("compile", "-c", "upgrader.yaml", "-o", str(plain), cwd=tmp_path)
    assert compiled.returncode == 2, compiled.stderr
    assert f"--out {plain}: {plain} is a file, not a directory" in compiled.stderr
    assert "fix: pass a directory path" in compiled.stderr
    assert plain.read_text() == "keep"
    for done in (runbook, compiled):
        assert "Traceback" not in done.stderr and "internal bug" not in done.stderr


def test_a_garbage_catalog_is_bad_input_naming_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "types.csv"
    garbage.write_text("this is, not\na catalog\n")
    done = _upgrader("capacity", "--instance-type", "r5.xlarge", "--catalog", str(garbage))
    assert done.returncode == 2, done.stderr
    assert f"instance catalog {garbage}: is not a catalog CSV (has no column" in done.stderr
    garbage.write_bytes(b"\x00\x01\x02")
    done = _upgrader("capacity", "--instance-type", "r5.xlarge", "--catalog", str(garbage))
    assert done.returncode == 2 and "is binary, not text" in done.stderr
