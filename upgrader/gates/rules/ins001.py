"""INS001: EKS upgrade insights for the target: ERROR blocks, WARNING advises."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.gates.findings import advisory, blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.insights import Insight, InsightStatus, minor_key
from upgrader.model.plan import Finding, Severity

REFRESH = (
    "EKS refreshes insights about once a day, and counts deprecated API calls over the last 30 days"
)


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return f"{text}." if text else ""


def evidence(insight: Insight) -> str:
    """What the insight names: the deprecated APIs still called and by whom, and the
    resources not passing."""
    calls = [
        f"{d.usage} (stops in {d.stop_serving_version or '?'}; use {d.replaced_with or '?'}) "
        "called by "
        + ", ".join(
            f"{c.user_agent or 'an unnamed client'} ({c.requests_last_30_days} request(s)"
            + (f", last {c.last_request_time}" if c.last_request_time else "")
            + ")"
            for c in d.clients
        )
        for d in insight.called
    ]
    resources = [
        f"{r.name}: {r.status}"
        + (f" ({' '.join(r.reason.split()).rstrip('.')})" if r.reason else "")
        for r in insight.resources
        if r.status is not InsightStatus.PASSING
    ]
    parts = ([f"Still called: {'; '.join(calls)}."] if calls else []) + (
        [f"Resources: {'; '.join(resources)}."] if resources else []
    )
    return " ".join(parts)


def _message(insight: Insight, next_step: str) -> str:
    said = " ".join(
        filter(None, [_sentence(insight.reason) or "no reason given.", evidence(insight)])
    )
    return (
        f"EKS rates it {insight.status} for Kubernetes {insight.kubernetes_version}: {said} "
        f"{next_step}"
    )


def _fix(insight: Insight) -> str:
    return _sentence(insight.recommendation) or "Follow the insight in the EKS console."


def ins001_upgrade_insights(inputs: GateInputs) -> Iterator[Finding]:
    """Every EKS upgrade insight for a version the plan goes to: ERROR blocks, WARNING and
    UNKNOWN advise; insights EKS cannot give (the API is absent) are one advisory."""
    state = inputs.state
    cluster = state.cluster.name
    if state.insights.unavailable is not None:
        yield advisory(
            "INS001",
            f"EKS cluster {cluster}",
            f"no EKS upgrade insights to check: {state.insights.unavailable}. Nothing is "
            "blocked by this. Fix: none needed; where the region offers them, read them with "
            f"`aws eks list-insights --cluster-name {cluster} --filter "
            f"categories=UPGRADE_READINESS,kubernetesVersions={inputs.to.kubernetes}`.",
        )
        return
    low, high = minor_key(inputs.from_.kubernetes), minor_key(inputs.to.kubernetes)
    for insight in state.insights.insights:
        if not low < minor_key(insight.kubernetes_version) <= high:
            continue
        subject = f"EKS insight {insight.label}"
        if insight.status is InsightStatus.ERROR:
            yield blocking(
                "INS001",
                subject,
                _message(
                    insight,
                    f"Fix: {_fix(insight)} Then plan again ({REFRESH}; "
                    f"`aws eks describe-insight --cluster-name {cluster} --id {insight.id}` "
                    "shows when it last changed).",
                ),
            )
        elif insight.status is InsightStatus.WARNING:
            yield advisory(
                "INS001",
                subject,
                _message(insight, f"Not blocking; EKS recommends: {_fix(insight)}"),
            )
        elif insight.status is InsightStatus.UNKNOWN:
            yield advisory(
                "INS001",
                subject,
                _message(
                    insight,
                    "EKS could not evaluate it. Fix: check it by hand (`aws eks "
                    f"describe-insight --cluster-name {cluster} --id {insight.id}`) before "
                    "the control-plane step.",
                ),
            )


RULE = Rule(
    id="INS001",
    title="EKS upgrade insights: ERROR blocks, WARNING advises",
    severity=Severity.BLOCKING,
    inputs=("state", "from_", "to"),
    check=ins001_upgrade_insights,
    description=(
        "EKS's upgrade insights (ListInsights/DescribeInsight, UPGRADE_READINESS) for each "
        "Kubernetes version the control plane goes to: an ERROR insight blocks, naming the "
        "insight, what it found (deprecated APIs still called and by whom, resources out of "
        "skew) and EKS's recommendation; WARNING and UNKNOWN insights are advisory. Where "
        "the endpoint has no insights API (older regions), one advisory says so. Re-checked "
        "right before the control-plane step."
    ),
)
