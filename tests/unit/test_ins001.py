"""INS001 and EKS upgrade insights: the gate, the fingerprint, the plan file, the runbook
section, and discovery's reads (botocore's Stubber, no network)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from tests.unit.cluster_states import FLOWSCHEMAS, config, modern, upgrade_insight
from upgrader.adapters import aws_state
from upgrader.adapters.aws import Aws
from upgrader.gates import run
from upgrader.model.insights import (
    ClientStat,
    InsightResource,
    InsightStatus,
    UpgradeInsights,
)
from upgrader.model.plan import Finding, Severity, loads
from upgrader.model.state import ClusterState
from upgrader.planner import gate_inputs, make_plan
from upgrader.planner.steps import GATES_CONTROL_PLANE
from upgrader.runbook import insights as section
from upgrader.runbook import render

CALLED = replace(
    FLOWSCHEMAS,
    clients=(
        ClientStat(
            user_agent="helm/v3.14.0",
            requests_last_30_days=12,
            last_request_time="2025-06-01T08:00:00+00:00",
        ),
    ),
)
ERROR = upgrade_insight(
    InsightStatus.ERROR,
    reason="Deprecated API usage detected within last 30 days.",
    deprecations=(CALLED,),
)
SKEW = upgrade_insight(
    InsightStatus.WARNING,
    id="5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
    name="Kubelet version skew",
    reason="Node kubelet versions are older than the cluster control plane version.",
    recommendation="Upgrade your worker nodes to match the control plane.",
    resources=(
        InsightResource(
            name="arn:aws:eks:eu-west-1:123456789012:nodegroup/modern/general/x",
            status=InsightStatus.WARNING,
            reason="Node kubelet version 1.30 is older than the control plane version 1.31.",
        ),
    ),
)


def _with(*insights: object, unavailable: str | None = None) -> ClusterState:
    found = UpgradeInsights(insights=insights, unavailable=unavailable)  # type: ignore[arg-type]
    return replace(modern(), insights=found)


def _ins001(state: ClusterState) -> list[Finding]:
    return [f for f in run(gate_inputs(state, config(state, target="1.32"))) if f.id == "INS001"]


# The gate


def test_passing_insights_are_no_finding() -> None:
    assert _ins001(modern()) == []


def test_error_blocks_naming_the_insight_its_callers_and_recommendation() -> None:
    (f,) = _ins001(_with(ERROR))
    assert f.severity is Severity.BLOCKING
    assert f.subject == f"EKS insight Deprecated APIs removed in Kubernetes v1.32 (id {ERROR.id})"
    assert "EKS rates it ERROR for Kubernetes 1.32" in f.message
    assert "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas" in f.message
    assert "use /apis/flowcontrol.apiserver.k8s.io/v1/flowschemas" in f.message
    assert "helm/v3.14.0 (12 request(s), last 2025-06-01T08:00:00+00:00)" in f.message
    assert "Fix: Update manifests and API clients" in f.message
    assert f"aws eks describe-insight --cluster-name modern --id {ERROR.id}" in f.message
    assert "INS001" in GATES_CONTROL_PLANE


def test_warning_advises_naming_the_resource() -> None:
    (f,) = _ins001(_with(SKEW))
    assert f.severity is Severity.ADVISORY
    assert "Kubelet version skew" in f.subject
    assert "nodegroup/modern/general/x: WARNING (Node kubelet version 1.30" in f.message
    assert "Not blocking; EKS recommends: Upgrade your worker nodes" in f.message


def test_unknown_advises_to_check_by_hand() -> None:
    (f,) = _ins001(_with(upgrade_insight(InsightStatus.UNKNOWN)))
    assert f.severity is Severity.ADVISORY
    assert "EKS could not evaluate it" in f.message


def test_unavailable_insights_are_one_advisory() -> None:
    (f,) = _ins001(_with(unavailable="the EKS endpoint answered ListInsights with 404"))
    assert f.severity is Severity.ADVISORY
    assert f.subject == "EKS cluster modern"
    assert "no EKS upgrade insights to check: the EKS endpoint answered" in f.message
    assert "kubernetesVersions=1.32" in f.message


def test_an_insight_for_a_version_the_plan_does_not_reach_is_ignored() -> None:
    assert _ins001(_with(replace(ERROR, kubernetes_version="1.33"))) == []


def test_an_error_insight_blocks_the_plan_and_its_control_plane_step() -> None:
    plan = make_plan(_with(ERROR), config(modern(), target="1.32"))
    assert plan.blocked
    book = render(plan)
    assert "Blocked by INS001" in book.split("### 1.")[1].split("### 2.")[0]


# Fingerprint and plan file


def test_insights_stay_out_of_the_fingerprint() -> None:
    refreshed = replace(ERROR, last_refresh_time="2025-06-02T00:00:00+00:00")
    assert _with(ERROR).fingerprint() == _with(refreshed).fingerprint() == modern().fingerprint()
    assert _with(unavailable="404").fingerprint() == modern().fingerprint()


def test_the_plan_file_carries_the_insights() -> None:
    state = _with(ERROR, SKEW)
    plan = make_plan(state, config(state, target="1.32"))
    again = loads(plan.dumps())
    assert again.context.insights == state.insights


# Runbook section


def test_section_lists_each_insight_and_the_deprecated_api_usage() -> None:
    state = _with(ERROR, SKEW)
    text = section.section(make_plan(state, config(state, target="1.32")))
    assert text.startswith("## EKS upgrade insights")
    assert (
        f"| Deprecated APIs removed in Kubernetes v1.32 (`{ERROR.id}`) | 1.32 | ❌ ERROR |" in text
    )
    assert "| Kubelet version skew (`5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9`) | 1.32 | ⚠️ WARNING" in (
        text
    )
    assert (
        "| `/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas` | "
        "`/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas` | 1.32 | `helm/v3.14.0` | 12 | "
        "2025-06-01T08:00:00+00:00 |"
    ) in text
    assert "[Kubernetes deprecation guide](<https://kubernetes.io/" in text
    assert "| `arn:aws:eks:eu-west-1:123456789012:nodegroup/modern/general/x` | ⚠️ WARNING |" in text


def test_section_says_when_insights_are_unavailable() -> None:
    state = _with(unavailable="the EKS endpoint answered ListInsights with 404")
    text = section.section(make_plan(state, config(state, target="1.32")))
    assert "> [!NOTE]" in text
    assert "EKS gave no upgrade insights: the EKS endpoint answered ListInsights with 404" in text


# Discovery's reads

INSIGHT_ID = ERROR.id
LAST = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def eks() -> Iterator[tuple[Aws, Stubber]]:
    session = boto3.session.Session(
        region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
    )
    aws = Aws(session)
    with Stubber(aws.eks) as stub:
        yield aws, stub
        stub.assert_no_pending_responses()


LIST_PARAMS = {
    "clusterName": "modern",
    "filter": {"categories": ["UPGRADE_READINESS"], "kubernetesVersions": ["1.32", "1.33"]},
}


def test_reads_list_then_describe_into_records(eks: tuple[Aws, Stubber]) -> None:
    aws, stub = eks
    summary = {
        "id": INSIGHT_ID,
        "name": ERROR.name,
        "kubernetesVersion": "1.32",
        "insightStatus": {"status": "ERROR", "reason": ERROR.reason},
    }
    stub.add_response("list_insights", {"insights": [summary]}, LIST_PARAMS)
    detail = {
        **summary,
        "description": ERROR.description,
        "recommendation": ERROR.recommendation,
        "lastRefreshTime": LAST,
        "additionalInfo": dict(ERROR.links),
        "resources": [],
        "categorySpecificSummary": {
            "deprecationDetails": [
                {
                    "usage": CALLED.usage,
                    "replacedWith": CALLED.replaced_with,
                    "stopServingVersion": "1.32",
                    "startServingReplacementVersion": "1.29",
                    "clientStats": [
                        {
                            "userAgent": "helm/v3.14.0",
                            "numberOfRequestsLast30Days": 12,
                            "lastRequestTime": LAST,
                        }
                    ],
                }
            ]
        },
    }
    stub.add_response(
        "describe_insight", {"insight": detail}, {"clusterName": "modern", "id": INSIGHT_ID}
    )
    found = aws_state.upgrade_insights(aws, "modern", ["1.33", "1.32"])
    assert found == UpgradeInsights(
        insights=(replace(ERROR, last_refresh_time="2025-06-01T08:00:00+00:00"),)
    )


def test_an_endpoint_without_the_api_is_unavailable_not_an_error(
    eks: tuple[Aws, Stubber],
) -> None:
    aws, stub = eks
    stub.add_client_error("list_insights", "404", "Not Found", 404, expected_params=LIST_PARAMS)
    found = aws_state.upgrade_insights(aws, "modern", ["1.32", "1.33"])
    assert found.insights == ()
    assert found.unavailable is not None and "ListInsights with 404" in found.unavailable


def test_no_permission_for_insights_is_said_and_the_plan_goes_on(
    eks: tuple[Aws, Stubber],
) -> None:
    aws, stub = eks
    stub.add_client_error(
        "list_insights", "AccessDeniedException", "no", 403, expected_params=LIST_PARAMS
    )
    found = aws_state.upgrade_insights(aws, "modern", ["1.32", "1.33"])
    assert found.insights == ()
    assert found.unavailable is not None and "eks:ListInsights" in found.unavailable


def test_an_insight_gone_since_the_list_keeps_its_summary(eks: tuple[Aws, Stubber]) -> None:
    aws, stub = eks
    summary = {"id": INSIGHT_ID, "name": "x", "kubernetesVersion": "1.32"}
    stub.add_response("list_insights", {"insights": [summary]}, LIST_PARAMS)
    stub.add_client_error("describe_insight", "ResourceNotFoundException", "gone", 404)
    (insight,) = aws_state.upgrade_insights(aws, "modern", ["1.32", "1.33"]).insights
    assert (insight.id, insight.status) == (INSIGHT_ID, InsightStatus.UNKNOWN)


def test_nothing_to_ask_once_at_the_target(eks: tuple[Aws, Stubber]) -> None:
    aws, _ = eks
    assert aws_state.upgrade_insights(aws, "modern", []) == UpgradeInsights()
