"""EKS upgrade insights (ListInsights / DescribeInsight, category UPGRADE_READINESS).

Times and request counts change every time EKS refreshes an insight (about daily): they are
shown, never hashed into the state's fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from upgrader.model.aws import Pairs

CATEGORY: Final = "UPGRADE_READINESS"


class InsightStatus(StrEnum):
    PASSING = "PASSING"
    WARNING = "WARNING"
    ERROR = "ERROR"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientStat:
    """A client that still calls a deprecated API (EKS counts the last 30 days)."""

    user_agent: str
    requests_last_30_days: int
    last_request_time: str  # ISO 8601, "" when EKS gave none


@dataclass(frozen=True, slots=True, kw_only=True)
class Deprecation:
    """A deprecated API an insight names (request URIs), what replaces it, who calls it."""

    usage: str  # e.g. /apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas
    replaced_with: str
    stop_serving_version: str
    start_serving_replacement_version: str
    clients: tuple[ClientStat, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InsightResource:
    """An object an insight names (a node group's ARN, a Kubernetes resource URI)."""

    name: str
    status: InsightStatus
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Insight:
    """One upgrade insight as DescribeInsight returns it."""

    id: str
    name: str
    kubernetes_version: str
    status: InsightStatus
    reason: str
    description: str
    recommendation: str
    deprecations: tuple[Deprecation, ...] = ()
    resources: tuple[InsightResource, ...] = ()
    links: Pairs = ()  # additionalInfo: title -> URL
    last_refresh_time: str = ""
    last_transition_time: str = ""

    @property
    def label(self) -> str:
        """``Deprecated APIs removed in Kubernetes v1.32 (id 1a2b…)``."""
        return f"{self.name} (id {self.id})"

    @property
    def called(self) -> tuple[Deprecation, ...]:
        """The deprecated APIs some client still calls."""
        return tuple(d for d in self.deprecations if d.clients)


@dataclass(frozen=True, slots=True, kw_only=True)
class UpgradeInsights:
    """The insights EKS gives for the versions a plan goes to. ``unavailable`` says why
    there are none to read (the endpoint lacks the API); ``None`` when they were read."""

    insights: tuple[Insight, ...] = ()
    unavailable: str | None = None

    def with_status(self, status: InsightStatus) -> tuple[Insight, ...]:
        return tuple(i for i in self.insights if i.status is status)


def minor_key(version: str) -> tuple[int, ...]:
    """``"1.32"`` -> ``(1, 32)``, for ordering insights by version (unparsable parts: 0)."""
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def ordered(insights: list[Insight]) -> tuple[Insight, ...]:
    """Deterministic order: by Kubernetes version, name, id (never by status or time)."""
    return tuple(sorted(insights, key=lambda i: (minor_key(i.kubernetes_version), i.name, i.id)))


NO_INSIGHTS: Final = UpgradeInsights()  # read, and none for the versions asked about
