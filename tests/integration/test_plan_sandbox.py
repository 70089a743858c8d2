"""`upgrader plan` end to end on the sandbox, through the installed command line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox

pytestmark = pytest.mark.integration
PLAN_MUTATIONS = {"CreateChangeSet", "DeleteChangeSet"}


class Sandbox(SandboxClients):
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


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from sandbox(tmp_path_factory, "staging", Sandbox)


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
    summaries = staging.cfn.list_change_sets(StackName="staging-eks")["Summaries"]
    names = [c["ChangeSetName"] for c in summaries]
    assert len(names) == 1 and names[0].startswith("upgrader-")
    stack = staging.cfn.describe_stacks(StackName="staging-eks")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"  # never executed


def test_a_downgrade_exits_2_with_the_reason_and_no_mutation(
    staging: Sandbox, tmp_path: Path
) -> None:
    before = len(staging.aws_requests())
    result, out, _ = staging.plan(tmp_path, "--to", "1.11")
    assert result.returncode == 2
    assert "1.11" in result.stderr
    assert "fix:" in result.stderr
    assert not out.exists()
    assert not [c for c in staging.aws_requests()[before:] if c["mutating"]]


def test_two_minors_ahead_is_one_plan_of_two_hops(staging: Sandbox, tmp_path: Path) -> None:
    result, out, _ = staging.plan(tmp_path, "--to", "1.14")
    assert result.returncode in (0, 3), result.stdout + result.stderr
    plan = json.loads(out.read_text())
    assert [h["kubernetes"] for h in plan["hops"]] == ["1.13", "1.14"]
    planes = [s for s in plan["steps"] if s["kind"] == "control-plane"]
    # executing a change set drops a stack's others: only the first hop's is made now
    assert [s["params"]["change_set"] is not None for s in planes] == [True, False]
    # kubelets two minors behind are within the skew before 1.28: one roll, at the end
    assert [s["id"] for s in plan["steps"] if s["kind"] == "nodegroup-roll"] == [
        "nodegroup-roll-workers@1.14"
    ]


def test_status_of_a_cluster_that_does_not_exist_is_exit_2(
    staging: Sandbox, tmp_path: Path
) -> None:
    config = tmp_path / "other.yaml"
    config.write_text(
        staging.running.config.read_text().replace("cluster: staging", "cluster: prod")
    )
    before = len(staging.aws_requests())
    done = staging.upgrader("status", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "EKS cluster prod" in done.stderr and "no upgrade has run" not in done.stdout
    assert not [c for c in staging.aws_requests()[before:] if c["mutating"]]
    ok = staging.upgrader("status", "-c", str(staging.running.config), cwd=tmp_path)
    assert ok.returncode == 0 and "staging: no upgrade has run" in ok.stdout


def test_pdb_allowing_no_disruption_blocks_with_pdb001(staging: Sandbox, tmp_path: Path) -> None:
    path = "/apis/policy/v1beta1/namespaces/search/poddisruptionbudgets"
    body = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "frozen", "namespace": "search"},
        "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "search"}}},
    }
    staging.kube_request("POST", path, body)
    try:
        result, out, runbook = staging.plan(tmp_path)
        assert result.returncode == 3, result.stdout + result.stderr
        plan = json.loads(out.read_text())
        pdb = [f for f in plan["findings"] if f["id"] == "PDB001"]
        assert pdb and "search/frozen" in pdb[0]["subject"]
        assert "BLOCKED" in runbook.read_text()
    finally:
        staging.kube_request("DELETE", f"{path}/frozen")


@pytest.mark.parametrize(("scenario", "code", "to"), [("tight", 3, "1.13"), ("modern", 0, "1.32")])
def test_tight_blocks_on_cap001_and_modern_plans(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, scenario: str, code: int, to: str
) -> None:
    for live in sandbox(tmp_path_factory, scenario, Sandbox):
        result, out, runbook = live.plan(tmp_path)
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
            # EKS's upgrade insights for 1.32 all pass: INS001 passes at the control plane
            assert "INS001" in plan["steps"][0]["gates"]
            assert not [f for f in plan["findings"] if f["id"] == "INS001"]
            assert "| ✅ PASSING |" in runbook.read_text()
