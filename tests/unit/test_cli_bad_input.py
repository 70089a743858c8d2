"""Bad input on the command line: exit 2 with the value named, nothing else done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
