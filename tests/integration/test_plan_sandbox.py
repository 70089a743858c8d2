"""`upgrader plan` end to end on the sandbox, through the installed command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from upgrader.sandbox import control, files

pytestmark = pytest.mark.integration
PLAN_MUTATIONS = {"CreateChangeSet", "DeleteChangeSet"}


class Sandbox:
    def __init__(self, running: control.Running) -> None:
        self.running = running
        self.env = files.parse_env(running.env.read_text())

    def upgrader(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "upgrader", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=cwd,
            env={**os.environ, **self.env},
        )

    def plan(self, tmp: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
        out, runbook = tmp / "plan.json", tmp / "runbook.md"
        result = self.upgrader(
            "plan",
            "-c",
            str(self.running.config),
            "--out",
            str(out),
            "--runbook",
            str(runbook),
            *extra,
            cwd=tmp,
        )
        return result, out, runbook

    def aws_requests(self) -> list[dict[str, Any]]:
        url = self.env["AWS_ENDPOINT_URL"] + "/_sandbox/requests"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def kube_requests(self) -> list[dict[str, Any]]:
        url = self.running.kubernetes_endpoint + "/_sandbox/requests"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]


def _up(tmp_path_factory: pytest.TempPathFactory, scenario: str) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp(scenario)
    running = control.up(scenario, directory)
    try:
        yield Sandbox(running)
    finally:
        control.down(directory)


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from _up(tmp_path_factory, "staging")


def test_staging_plan_is_ready_and_changes_nothing_but_its_change_sets(
    staging: Sandbox, tmp_path: Path
) -> None:
    aws_before, kube_before = len(staging.aws_requests()), len(staging.kube_requests())
    result, out, runbook = staging.plan(tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(out.read_text())
    assert plan["from"]["kubernetes"] == "1.12" and plan["to"]["kubernetes"] == "1.13"
    cni = [s["params"]["to"] for s in plan["steps"] if s["kind"] == "cni"]
    assert plan["from"]["cni"] == "v1.3.2"
    assert [c[:5] for c in cni] == ["v1.4.", "v1.5."]
    assert not plan["blocked"]
    text = runbook.read_text()
    assert "| r5.xlarge | 32 GiB | 4 | 60 | 4 | 15 | 58 |" in text
    for subnet in ("private-a", "private-c"):
        assert subnet in text
    roll = next(s for s in plan["steps"] if s["kind"] == "nodegroup-roll")
    predicted = {p["name"]: p for p in roll["predicted"]["subnets"]}
    assert set(predicted) == {"private-a", "private-c"}
    assert all(p["free_after"] <= p["free_before"] for p in predicted.values())

    aws_calls = staging.aws_requests()[aws_before:]
    mutating = {c["action"] for c in aws_calls if c["mutating"]}
    assert mutating <= PLAN_MUTATIONS, mutating
    assert "CreateChangeSet" in mutating
    kube_calls = staging.kube_requests()[kube_before:]
    assert {c["method"] for c in kube_calls} <= {"GET"}

    # Planning again replaces this plan's change sets rather than piling them up.
    again, _, _ = staging.plan(tmp_path)
    assert again.returncode == 0, again.stderr
    env = staging.env

    cfn = boto3.client(
        "cloudformation",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    names = [c["ChangeSetName"] for c in cfn.list_change_sets(StackName="staging-eks")["Summaries"]]
    assert len(names) == 1 and names[0].startswith("upgrader-")
    stack = cfn.describe_stacks(StackName="staging-eks")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"  # never executed


def test_version_skip_exits_2_with_the_reason_and_no_mutation(
    staging: Sandbox, tmp_path: Path
) -> None:
    before = len(staging.aws_requests())
    result, out, _ = staging.plan(tmp_path, "--to", "1.14")
    assert result.returncode == 2
    assert "1.12" in result.stderr and "1.14" in result.stderr
    assert "fix:" in result.stderr
    assert not out.exists()
    assert not [c for c in staging.aws_requests()[before:] if c["mutating"]]


def _kube(sandbox: Sandbox, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    kubeconfig = yaml.safe_load(Path(sandbox.env["KUBECONFIG"]).read_text())
    token = kubeconfig["users"][0]["user"]["token"]
    request = urllib.request.Request(
        sandbox.running.kubernetes_endpoint + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_pdb_allowing_no_disruption_blocks_with_pdb001(staging: Sandbox, tmp_path: Path) -> None:
    path = "/apis/policy/v1beta1/namespaces/search/poddisruptionbudgets"
    body = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "frozen", "namespace": "search"},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "search"}}},
    }
    _kube(staging, "POST", path, body)
    try:
        result, out, runbook = staging.plan(tmp_path)
        assert result.returncode == 3, result.stdout + result.stderr
        plan = json.loads(out.read_text())
        pdb = [f for f in plan["findings"] if f["id"] == "PDB001"]
        assert pdb and "search/frozen" in pdb[0]["subject"]
        assert "BLOCKED" in runbook.read_text()
    finally:
        _kube(staging, "DELETE", f"{path}/frozen")


@pytest.mark.parametrize(("scenario", "code", "to"), [("tight", 3, "1.13"), ("modern", 0, "1.32")])
def test_tight_blocks_on_cap001_and_modern_plans(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, scenario: str, code: int, to: str
) -> None:
    for sandbox in _up(tmp_path_factory, scenario):
        result, out, _ = sandbox.plan(tmp_path)
        assert result.returncode == code, result.stdout + result.stderr
        plan = json.loads(out.read_text())
        assert plan["to"]["kubernetes"] == to
        if scenario == "tight":
            cap = [f for f in plan["findings"] if f["id"] == "CAP001"]
            assert cap and "private-a" in cap[0]["subject"]
            assert "needs 60 addresses" in cap[0]["message"]  # the demand
            assert "30 are free" in cap[0]["message"]
        else:
            assert plan["from"]["kubernetes"] == "1.31"
            kinds = [s["kind"] for s in plan["steps"]]
            assert kinds[0] == "control-plane" and kinds[-1] == "verify"
