"""Bad input against the staging twin: every case exits 2 within 10 s with a message naming
the key, value or file, prints no traceback, and makes no write call to AWS (anything but
Describe*/List*/Get*, so CreateChangeSet and DeleteChangeSet count) or to Kubernetes."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.bad_inputs import BILLION_LAUGHS
from tests.support.sandbox_clients import SandboxClients, sandbox
from tests.support.timing import child_cpu_seconds

pytestmark = pytest.mark.integration
READS = ("Describe", "List", "Get")
MIB = 1024 * 1024


def edited(change: Callable[[dict[str, Any]], object]) -> Callable[[Path, Path], Path]:
    """A case's config: the sandbox's own, changed by ``change`` (in place)."""

    def make(good: Path, tmp: Path) -> Path:
        config = yaml.safe_load(good.read_text())
        change(config)
        path = tmp / "upgrader.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    return make


def raw(text: Callable[[str], str | bytes]) -> Callable[[Path, Path], Path]:
    """A case's config file: ``text`` of the sandbox's config text."""

    def make(good: Path, tmp: Path) -> Path:
        data = text(good.read_text())
        path = tmp / "upgrader.yaml"
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path

    return make


def fifo(good: Path, tmp: Path) -> Path:
    path = tmp / "upgrader.yaml"
    os.mkfifo(path)
    return path


def directory(good: Path, tmp: Path) -> Path:
    return tmp


def ten_mb(good: Path, tmp: Path) -> Path:
    path = tmp / "upgrader.yaml"
    path.write_text(good.read_text() + "# padding\n" * (MIB + 1))
    return path


def wrong_token(good: Path, tmp: Path) -> Path:
    """The sandbox's config with a copy of its kubeconfig whose token the API refuses."""
    config = yaml.safe_load(good.read_text())
    kubeconfig = yaml.safe_load(Path(config["kubeconfig"]).read_text())
    kubeconfig["users"][0]["user"]["token"] = "not-the-token"
    (tmp / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    config["kubeconfig"] = str(tmp / "kubeconfig")
    path = tmp / "upgrader.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def renamed(section: str, old: str, new: str) -> Callable[[dict[str, Any]], object]:
    def change(config: dict[str, Any]) -> None:
        config[section][new] = config[section].pop(old)

    return change


def unquoted(version: str) -> Callable[[str], str]:
    return lambda text: re.sub(r"kubernetes: '?[0-9.]+'?", f"kubernetes: {version}", text)


@dataclass(frozen=True)
class Case:
    name: str
    config: Callable[[Path, Path], Path]
    needles: tuple[str, ...]
    command: tuple[str, ...] = ("plan",)


CASES = [
    Case("unknown stacks.nodegroup", edited(renamed("stacks", "nodegroups", "nodegroup")),
         ("stacks.nodegroup: unknown key; did you mean `stacks.nodegroups`?",)),
    Case("unknown target.cin", edited(lambda c: c["target"].update(cin="v1.5.5")),
         ("target.cin: unknown key; did you mean `target.cni`?",)),
    Case("unknown cni.evn", edited(renamed("cni", "env", "evn")),
         ("cni.evn: unknown key; did you mean `cni.env`?",)),
    Case("CNI v9.9.9", edited(lambda c: c["target"].update(cni="v9.9.9")),
         ("target.cni: v9.9.9 is not a VPC CNI release upgrader knows", "nearest: v1.23.3")),
    Case("CNI v1.5.6", edited(lambda c: c["target"].update(cni="v1.5.6")),
         ("target.cni: v1.5.6 is not a VPC CNI release", "nearest: v1.5.5, v1.5.7")),
    Case("node-group stack twice",
         edited(lambda c: c["stacks"].update(nodegroups=["staging-workers"] * 2)),
         ("stacks.nodegroups: 'staging-workers' is listed 2 times",)),
    Case("control plane also a node group",
         edited(lambda c: c["stacks"]["nodegroups"].append("staging-eks")),
         ("stacks.nodegroups: 'staging-eks' is the control-plane stack",)),
    Case("control-plane stack without an EKS cluster",
         edited(lambda c: c.update(stacks={"control_plane": "staging-workers", "nodegroups": []})),
         ("CloudFormation stack staging-workers", "holds no AWS::EKS::Cluster",
          "set stacks.control_plane to the stack that holds")),
    Case("kubernetes: 1.20 unquoted", raw(unquoted("1.20")),
         ('target.kubernetes: read as 1.2 (a YAML number); quote it: "1.20"',)),
    Case("downgrade to 1.11", raw(unquoted('"1.11"')),
         ("target.kubernetes: '1.11' is not a Kubernetes version", "never downgraded")),
    Case("gate switched off", edited(lambda c: c["gates"].update(control_plane_min_azs=0)),
         ("gates.control_plane_min_azs: 0 would switch CAP002 off",)),
    Case("rollback window of 30 minutes",
         edited(lambda c: c.update(rollback={"timeout_minutes": 30})),
         ("rollback.timeout_minutes: 30 is outside the 120..10080 minutes EKS accepts",)),
    Case("dangling kubeconfig", edited(lambda c: c.update(kubeconfig="gone/kubeconfig")),
         ("kubeconfig:", "gone/kubeconfig does not exist")),
    Case("config is a directory", directory, ("is a directory, not a regular file",)),
    Case("config is a FIFO", fifo, ("is a FIFO (named pipe), not a regular file",)),
    Case("config is binary", raw(lambda _: b"\x7fELF\x02\x01\x01\x00" * 64),
         ("is binary, not text",)),
    Case("config is UTF-16", raw(lambda text: text.encode("utf-16")), ("is UTF-16 text",)),
    Case("config of 10 MB", ten_mb, ("is larger than the 1 MiB a config file may have",)),
    Case("YAML alias bomb", raw(lambda _: BILLION_LAUGHS), ("a YAML alias bomb",)),
    Case("capacity -c, unknown key", edited(renamed("stacks", "nodegroups", "nodegroup")),
         ("did you mean `stacks.nodegroups`?",), ("capacity",)),
    Case("status -c, CNI v1.5.6", edited(lambda c: c["target"].update(cni="v1.5.6")),
         ("target.cni: v1.5.6",), ("status",)),
    Case("kubeconfig with a wrong token", wrong_token, ("Kubernetes API", "kubeconfig")),
    Case("plan --out under a regular file", edited(lambda c: None),
         ("--out", "upgrader.yaml is a file, not a directory"),
         ("plan", "--out", "{tmp}/upgrader.yaml/plan.json")),
    Case("plan --runbook under a regular file", edited(lambda c: None),
         ("--runbook", "upgrader.yaml is a file, not a directory"),
         ("plan", "--runbook", "{tmp}/upgrader.yaml/runbook.md")),
    Case("compile -o at a file", edited(lambda c: None),
         ("is a file, not a directory", "fix: pass a directory path"),
         ("compile", "-o", "{tmp}/upgrader.yaml")),
]  # fmt: skip


class Staging(SandboxClients):
    def writes(self, aws_from: int, kube_from: int) -> list[str]:
        """Write calls since the given positions of the request logs."""
        aws = [
            f"{c['service']}:{c['action']}"
            for c in self.aws_requests()[aws_from:]
            if not str(c["action"]).startswith(READS)
        ]
        kube = [
            f"{c['method']} {c.get('path', '')}"
            for c in self.kube_requests()[kube_from:]
            if c["method"] != "GET"
        ]
        return aws + kube


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    yield from sandbox(tmp_path_factory, "staging", Staging)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_exits_2_fast_and_writes_nothing(
    staging: Staging, tmp_path: Path, case: Case
) -> None:
    config = case.config(staging.running.config, tmp_path)
    args = [a.format(tmp=tmp_path) for a in case.command]
    aws_from, kube_from = len(staging.aws_requests()), len(staging.kube_requests())
    plan, runbook = tmp_path / "plan.json", tmp_path / "runbook.md"
    extra = ("--out", str(plan), "--runbook", str(runbook))
    done, seconds = child_cpu_seconds(  # a hang hits the 30 s timeout
        lambda: staging.upgrader(
            *args, "-c", str(config), *(extra if args == ["plan"] else ()), cwd=tmp_path, timeout=30
        )
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert seconds < 10, f"{case.name} took {seconds:.1f} CPU seconds"
    for needle in case.needles:
        assert needle in done.stderr, done.stderr
    assert "fix:" in done.stderr
    assert "Traceback" not in output and "internal bug" not in output
    assert staging.writes(aws_from, kube_from) == []
    assert not plan.exists() and not runbook.exists()


def test_plan_to_a_downgrade_and_a_catalog_that_is_garbage(
    staging: Staging, tmp_path: Path
) -> None:
    aws_from, kube_from = len(staging.aws_requests()), len(staging.kube_requests())
    to = staging.upgrader("plan", "-c", str(staging.running.config), "--to", "1.11", cwd=tmp_path)
    assert to.returncode == 2 and "target.kubernetes (--to): '1.11' is not a" in to.stderr
    garbage = tmp_path / "types.csv"
    garbage.write_bytes(b"\x00garbage\xff")
    capacity = staging.upgrader(
        "capacity", "--instance-type", "r5.xlarge", "--catalog", str(garbage), cwd=tmp_path
    )
    assert capacity.returncode == 2 and f"instance catalog {garbage}" in capacity.stderr
    plain = tmp_path / "plain"
    plain.write_text("")
    runbook = staging.upgrader("runbook", "plan.json", "-o", str(plain / "r.md"), cwd=tmp_path)
    assert runbook.returncode == 2 and f"{plain} is a file, not a directory" in runbook.stderr
    assert staging.writes(aws_from, kube_from) == []
