"""EKS upgrade insights end to end on the twin: a client still calling an API the target
removes makes the twin's insight ERROR, and `upgrader plan` exits 3 naming it (INS001),
reading the insights without a write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import yaml

from tests.integration.test_plan_sandbox import PLAN_MUTATIONS, Sandbox
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
USAGE = {
    "api_version": "flowcontrol.apiserver.k8s.io/v1beta3",
    "kind": "FlowSchema",
    "user_agent": "helm/v3.14.0",
    "requests": 12,
}


@pytest.fixture(scope="module")
def calling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The modern scenario (1.31 -> 1.32) with a client still calling FlowSchema v1beta3."""
    doc = yaml.safe_load(resources.files("ekstwin").joinpath("scenarios/modern.yaml").read_text())
    doc["deprecated_api_usage"] = [USAGE]
    path = tmp_path_factory.mktemp("scenario") / "calling.yaml"
    path.write_text(yaml.safe_dump(doc))
    yield from sandbox(tmp_path_factory, str(path), Sandbox)


def test_an_error_insight_blocks_the_plan_naming_it(calling: Sandbox, tmp_path: Path) -> None:
    before = len(calling.aws_requests())
    result, out, runbook = calling.plan(tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    plan = json.loads(out.read_text())
    (finding,) = [f for f in plan["findings"] if f["id"] == "INS001"]
    assert finding["severity"] == "blocking"
    assert finding["subject"].startswith(
        "EKS insight Deprecated APIs removed in Kubernetes v1.32 (id "
    )
    assert "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas" in finding["message"]
    assert "helm/v3.14.0 (12 request(s)" in finding["message"]
    assert "INS001" in result.stdout + result.stderr
    control_plane = next(s for s in plan["steps"] if s["kind"] == "control-plane")
    assert "INS001" in control_plane["gates"]
    text = runbook.read_text()
    assert "## EKS upgrade insights" in text
    assert "| ❌ ERROR |" in text and "`helm/v3.14.0` | 12 |" in text

    calls = calling.aws_requests()[before:]
    actions = {c["action"] for c in calls}
    assert {"ListInsights", "DescribeInsight"} <= actions
    mutating = {c["action"] for c in calls if c["mutating"]}
    assert mutating <= PLAN_MUTATIONS, mutating
