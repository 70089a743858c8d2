"""The EKS upgrade insights section: each insight with its status and recommendation, and
the deprecated API usages it names."""

from __future__ import annotations

from upgrader.markdown import cell, inline, table
from upgrader.model.insights import Insight, InsightStatus
from upgrader.model.plan import Plan
from upgrader.runbook.redact import scrub

STATUS = {
    InsightStatus.PASSING: "✅ PASSING",
    InsightStatus.WARNING: "⚠️ WARNING",
    InsightStatus.ERROR: "❌ ERROR",
    InsightStatus.UNKNOWN: "❔ UNKNOWN",
}
NO_CALLS = "none in the last 30 days"


def _text(text: str) -> str:
    return scrub(" ".join(text.split())) or "—"


def _recommendation(insight: Insight) -> str:
    links = ", ".join(f"[{cell(title)}](<{url}>)" for title, url in insight.links)
    return _text(insight.recommendation) + (f" See: {links}." if links else "")


def _usage_rows(insights: tuple[Insight, ...]) -> list[list[str]]:
    rows = []
    for insight in insights:
        for d in insight.deprecations:
            api = [
                insight.name,
                inline(d.usage),
                inline(d.replaced_with) if d.replaced_with else "—",
            ]
            stops = d.stop_serving_version or "—"
            if not d.clients:
                rows.append([*api, stops, NO_CALLS, "", ""])
            rows += [
                [
                    *api,
                    stops,
                    inline(c.user_agent) if c.user_agent else "—",
                    str(c.requests_last_30_days),
                    c.last_request_time or "—",
                ]
                for c in d.clients
            ]
    return rows


def _resource_rows(insights: tuple[Insight, ...]) -> list[list[str]]:
    return [
        [insight.name, inline(r.name), STATUS[r.status], _text(r.reason)]
        for insight in insights
        for r in insight.resources
    ]


def section(plan: Plan, plan_file: str = "PLAN.json") -> str:
    """``## EKS upgrade insights`` of ``plan`` (as read when it was made)."""
    found = plan.context.insights
    cluster, to = plan.cluster, plan.to.kubernetes
    read = (
        f"aws eks list-insights --cluster-name {cluster} "
        f"--filter categories=UPGRADE_READINESS,kubernetesVersions={to}"
    )
    parts = ["## EKS upgrade insights", ""]
    if found.unavailable is not None:
        parts += [
            "> [!NOTE]",
            f"> EKS gave no upgrade insights: {_text(found.unavailable)}. INS001 reports this"
            " as advisory and blocks nothing; check the cluster against the Kubernetes"
            " deprecation guide by hand.",
        ]
        return "\n".join(parts)
    parts += [
        "What EKS's upgrade insights said when the plan was made (they refresh about daily;"
        " deprecated API calls count over the last 30 days). INS001 blocks on ❌ ERROR and"
        " re-reads them right before the control-plane step"
        f" (`upgrader apply {plan_file}`); to read them now: {inline(read)}.",
        "",
    ]
    if not found.insights:
        parts.append(f"No upgrade insight for Kubernetes {to}.")
        return "\n".join(parts)
    parts.append(
        table(
            ["Insight", "Kubernetes", "Status", "Reason", "Recommendation"],
            [
                [
                    f"{_text(i.name)} ({inline(i.id)})",
                    i.kubernetes_version,
                    STATUS[i.status],
                    _text(i.reason),
                    _recommendation(i),
                ]
                for i in found.insights
            ],
        )
    )
    usages = _usage_rows(found.insights)
    if usages:
        parts += [
            "",
            "**Deprecated APIs** the insights name, and the clients still calling them:",
            "",
            table(
                [
                    "Insight",
                    "Deprecated API",
                    "Replaced with",
                    "Stops serving in",
                    "Client (user agent)",
                    "Requests (30 days)",
                    "Last request",
                ],
                usages,
            ),
        ]
    resources = _resource_rows(found.insights)
    if resources:
        parts += [
            "",
            "**Resources** the insights name:",
            "",
            table(["Insight", "Resource", "Status", "Reason"], resources),
        ]
    return "\n".join(parts)
