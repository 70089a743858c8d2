"""`upgrader rollback` on the twin: after the control-plane step of the first hop of a
two-hop plan (Modern 1.30 -> 1.32), the control plane goes back to 1.30 through a change
set on its stack (EKS VersionRollback); a plan it undid is never resumed; a rollback the
cluster cannot take is refused (exit 3) with every reason and no write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
SHIPPED = Path(__file__).resolve().parents[2] / "twin" / "ekstwin" / "scenarios" / "modern.yaml"
WRITES = ("CreateChangeSet", "ExecuteChangeSet", "UpdateClusterVersion")


@pytest.fixture
def modern30(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scenario = yaml.safe_load(SHIPPED.read_text())
    scenario.update(name="modern30", kubernetes="1.30")
    scenario["target"] = {"kubernetes": "1.32", "cni": "v1.20.1"}
    path = tmp_path_factory.mktemp("scenario") / "modern30.yaml"
    path.write_text(yaml.safe_dump(scenario))
    yield from sandbox(tmp_path_factory, str(path), Cluster)


def _after_first_control_plane(event: dict[str, Any]) -> bool:
    return event["kind"] == "step" and event.get("step") == "kube-proxy@1.31"


def _rollback(c: Cluster) -> tuple[int, str, str]:
    result = c.upgrader(
        "rollback", str(c.plan_file), "--yes", "--format", "json", cwd=c.workdir, timeout=300
    )
    return result.returncode, result.stdout, result.stderr


def _writes(c: Cluster) -> list[str]:
    return [r["action"] for r in c.aws_requests() if r["action"] in WRITES]


def test_rollback_after_the_first_control_plane_hop(modern30: Cluster) -> None:
    c = modern30
    c.plan()
    plan = json.loads(c.plan_file.read_text())
    assert [h["kubernetes"] for h in plan["hops"]] == ["1.31", "1.32"]
    first = plan["steps"][0]
    assert first["id"] == "control-plane@1.31"
    assert first["params"]["rollback_parameter"] == "RollbackTimeoutMinutes"
    assert first["params"]["rollback_timeout_minutes"] == 720

    # before the plan ran, nothing of it can be rolled back
    writes = len(_writes(c))
    code, _, stderr = _rollback(c)
    assert code == 3, stderr
    assert "runs 1.30" in stderr and "no step of this plan left it at 1.30" in stderr
    assert len(_writes(c)) == writes

    code, _, _ = c.apply(_after_first_control_plane)
    assert code != 0 and c.journal()["done"] == ["control-plane@1.31"]
    assert c.eks.describe_cluster(name="modern30")["cluster"]["version"] == "1.31"

    code, stdout, stderr = _rollback(c)
    assert code == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[-1]["message"] == "modern30 is back at 1.30"
    cluster = c.eks.describe_cluster(name="modern30")["cluster"]
    assert (cluster["version"], cluster["status"]) == ("1.30", "ACTIVE")
    updates = [
        c.eks.describe_update(name="modern30", updateId=u)["update"]
        for u in c.eks.list_updates(name="modern30")["updateIds"]
    ]
    assert [u["type"] for u in updates] == ["VersionUpdate", "VersionRollback"]
    assert {"type": "Version", "value": "1.30"} in updates[-1]["params"]
    stack = c.cfn.describe_stacks(StackName="modern30-eks")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["KubernetesVersion"] == "1.30"
    assert c.journal()["rolled_back"] == ["control-plane@1.31"]
    status = c.upgrader("status", "-c", str(c.running.config), "--format", "json", cwd=c.workdir)
    assert json.loads(status.stdout)["rolled_back"] == ["control-plane@1.31"], status.stderr

    # the plan it undid is never resumed: exit 5, nothing changed
    writes = len(_writes(c))
    code, _, stderr = c.apply()
    assert code == 5, stderr
    assert "upgrader rollback" in stderr
    assert len(_writes(c)) == writes
