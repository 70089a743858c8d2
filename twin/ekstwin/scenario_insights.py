"""Scenario key ``deprecated_api_usage``: clients that called APIs a later Kubernetes minor
removes, as EKS's audit logs would have counted them over the last 30 days (the twin keeps
no such history). EKS's "Deprecated APIs removed in Kubernetes v<next>" insight is ERROR
while one of them is removed in the next minor (``ekstwin.aws.eks_insights``).

    deprecated_api_usage:
      - {api_version: flowcontrol.apiserver.k8s.io/v1beta3, kind: FlowSchema,
         user_agent: helm/v3.14.0, requests: 12}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from upgrader.catalog import versions

KEY = "deprecated_api_usage"
DEFAULT_USER_AGENT = "kubectl/v1.0.0"
Add = Callable[[str, str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeprecatedApiUse:
    api_version: str
    kind: str
    user_agent: str = DEFAULT_USER_AGENT
    requests: int = 1


def check_usage(add: Add, raw: Any) -> tuple[DeprecatedApiUse, ...]:
    """The ``deprecated_api_usage`` list; each entry must name an API the version catalog
    lists as removed in some minor (the only ones an insight reports)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        add(KEY, f"{raw!r} must be a list of {{api_version, kind, user_agent, requests}}")
        return ()
    removed = {
        (api.api_version, api.kind.lower())
        for release in versions.catalog().releases
        for api in release.removed_apis
    }
    found = []
    for i, entry in enumerate(raw):
        key = f"{KEY}[{i}]"
        if not isinstance(entry, dict) or set(entry) - {
            "api_version",
            "kind",
            "user_agent",
            "requests",
        }:
            add(key, "must be a mapping of api_version, kind and optional user_agent, requests")
            continue
        use = DeprecatedApiUse(
            api_version=str(entry.get("api_version", "")),
            kind=str(entry.get("kind", "")),
            user_agent=str(entry.get("user_agent", DEFAULT_USER_AGENT)),
            requests=entry.get("requests", 1),
        )
        if (use.api_version, use.kind.lower()) not in removed:
            add(
                key,
                f"{use.api_version} {use.kind} is not an API the version catalog lists as "
                "removed (removed_apis in upgrader/catalog/data/kubernetes.yaml); name one",
            )
        if not isinstance(use.requests, int) or isinstance(use.requests, bool) or use.requests < 1:
            add(f"{key}.requests", f"{use.requests!r} must be a whole number >= 1")
        found.append(use)
    return tuple(found)
