"""EKS cluster insights moto lacks: ListInsights and DescribeInsight (UPGRADE_READINESS).

Per cluster, for the next Kubernetes minor (none when the catalog knows no next minor):

- "Deprecated APIs removed in Kubernetes v<next>": PASSING unless the rest of the twin (or a
  test) reported, through ``report_deprecated_api_usage``, that the cluster still calls an
  API the catalog lists as removed in <next>; then ERROR with the calls as ``clientStats``.
- "Kubelet version skew": from the versions of the cluster's managed node groups in moto's
  EKS backend. PASSING when every node group is at the control plane's minor; WARNING when
  one is behind but still within the skew policy after the control plane moves to <next>;
  ERROR when it is (or would then be) beyond it (2 minors before 1.28, 3 from 1.28, as the
  version catalog says).

Texts follow EKS's insights; the exact wording of every reason is not documented by AWS.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from ekstwin.aws import eks_clusters
from ekstwin.aws.state import TwinState, epoch, require
from upgrader.catalog.versions import RemovedApi, catalog
from upgrader.errors import VersionError

Response = tuple[int, dict[str, str], str]

_LIST = re.compile(r"^/clusters/([^/]+)/insights$")
_ONE = re.compile(r"^/clusters/([^/]+)/insights/([^/]+)$")
_ATTR = "_ekstwin_insights"
CATEGORY = "UPGRADE_READINESS"


@dataclass(slots=True)
class _Usage:
    api_version: str
    kind: str
    user_agent: str
    requests: int
    last: datetime


@dataclass(slots=True)
class _Store:
    usage: list[_Usage] = field(default_factory=list)
    # insight id -> (status, lastTransitionTime)
    seen: dict[str, tuple[str, datetime]] = field(default_factory=dict)


def _cluster(state: TwinState, name: str) -> Any:
    return eks_clusters.cluster(state, name)


def _store(cluster: Any) -> _Store:
    return eks_clusters.attached(cluster, _ATTR, _Store)


def report_deprecated_api_usage(
    cluster: str,
    api_version: str,
    kind: str,
    *,
    user_agent: str = "kubectl/v1.0.0",
    requests: int = 1,
) -> None:
    """Record that ``cluster`` still calls ``api_version`` ``kind`` (e.g.
    ``"flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"``). Call under the twin lock."""
    state = require()
    _store(_cluster(state, cluster)).usage.append(
        _Usage(api_version, kind, user_agent, requests, state.now())
    )


def clear_deprecated_api_usage(cluster: str) -> None:
    """Forget every reported call of ``cluster`` (the insight goes back to PASSING)."""
    state = require()
    _store(_cluster(state, cluster)).usage.clear()


def _plural(kind: str) -> str:
    low = kind.lower()
    if low.endswith("y"):
        return f"{low[:-1]}ies"
    if low.endswith(("s", "x")):
        return f"{low}es"
    return f"{low}s"


def _uri(api_version: str, kind: str) -> str:
    root = "/api" if "/" not in api_version else "/apis"
    return f"{root}/{api_version}/{_plural(kind)}"


def _id(cluster: Any, what: str, version: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cluster.arn}/{what}/{version}"))


def _status(store: _Store, insight: str, status: str, now: datetime) -> datetime:
    previous = store.seen.get(insight)
    if previous is None or previous[0] != status:
        store.seen[insight] = (status, now)
        return now
    return previous[1]


def _deprecated(state: TwinState, cluster: Any, current: str, target: str) -> dict[str, Any]:
    store = _store(cluster)
    removed: tuple[RemovedApi, ...] = catalog().kubernetes(target).removed_apis
    details = []
    used = False
    for api in removed:
        calls = [
            u
            for u in store.usage
            if u.api_version == api.api_version and u.kind.lower() == api.kind.lower()
        ]
        used = used or bool(calls)
        details.append(
            {
                "usage": _uri(api.api_version, api.kind),
                "replacedWith": _uri(api.replacement, api.kind),
                "stopServingVersion": target,
                "clientStats": [
                    {
                        "userAgent": u.user_agent,
                        "numberOfRequestsLast30Days": u.requests,
                        "lastRequestTime": epoch(u.last),
                    }
                    for u in calls
                ],
            }
        )
    status = "ERROR" if used else "PASSING"
    reason = (
        f"Deprecated API usage detected within last 30 days and your cluster is on "
        f"Kubernetes v{current}."
        if used
        else "No deprecated API usage detected within the last 30 days."
    )
    insight = _id(cluster, "deprecated-apis", target)
    now = state.now()
    return {
        "id": insight,
        "name": f"Deprecated APIs removed in Kubernetes v{target}",
        "category": CATEGORY,
        "kubernetesVersion": target,
        "lastRefreshTime": epoch(now),
        "lastTransitionTime": epoch(_status(store, insight, status, now)),
        "description": (
            f"Checks for usage of deprecated APIs that are scheduled for removal in Kubernetes "
            f"v{target}. Upgrading your cluster before migrating to the updated APIs supported "
            f"by v{target} could cause application impact."
        ),
        "insightStatus": {"status": status, "reason": reason},
        "recommendation": (
            "Update manifests and API clients to use newer Kubernetes APIs if applicable "
            f"before upgrading to Kubernetes v{target}."
        ),
        "additionalInfo": {
            "EKS update cluster documentation": (
                "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"
            ),
            f"Kubernetes v{target} deprecation guide": (
                "https://kubernetes.io/docs/reference/using-api/deprecation-guide/"
                f"#v{target.replace('.', '-')}"
            ),
        },
        "resources": [],
        "categorySpecificSummary": {"deprecationDetails": details},
    }


_RANK = {"PASSING": 0, "WARNING": 1, "ERROR": 2}


def _skew(state: TwinState, cluster: Any, current: str, target: str) -> dict[str, Any]:
    known = catalog()
    plane = known.kubernetes(current).version
    allowed_now = known.kubernetes(current).kubelet_skew
    allowed_next = known.kubernetes(target).kubelet_skew
    resources = []
    worst = "PASSING"
    for name in sorted(cluster.nodegroups):
        group = cluster.nodegroups[name]
        try:
            node = known.kubernetes(str(group.version)).version
        except VersionError:
            node = plane
        behind = plane.minor - node.minor
        if behind == 0:
            status, reason = "PASSING", "Node kubelet version matches the control plane version."
        elif behind < 0 or behind > allowed_now or behind + 1 > allowed_next:
            status = "ERROR"
            reason = (
                f"Node kubelet version {node.minor_str} would be outside the supported version "
                f"skew of Kubernetes v{target}."
            )
        else:
            status = "WARNING"
            reason = (
                f"Node kubelet version {node.minor_str} is older than the control plane "
                f"version {current}."
            )
        worst = max(worst, status, key=_RANK.__getitem__)
        resources.append({"insightStatus": {"status": status, "reason": reason}, "arn": group.arn})
    reason = {
        "PASSING": "Node kubelet versions match the cluster control plane version.",
        "WARNING": "Node kubelet versions are older than the cluster control plane version.",
        "ERROR": (
            "Upgrading the cluster to Kubernetes v"
            f"{target} would put node kubelet versions outside the supported version skew."
        ),
    }[worst]
    store = _store(cluster)
    insight = _id(cluster, "kubelet-skew", target)
    now = state.now()
    return {
        "id": insight,
        "name": "Kubelet version skew",
        "category": CATEGORY,
        "kubernetesVersion": target,
        "lastRefreshTime": epoch(now),
        "lastTransitionTime": epoch(_status(store, insight, worst, now)),
        "description": (
            "Checks for kubelet versions of worker nodes in the cluster to see if upgrade would "
            "cause noncompliance with supported Kubernetes kubelet version skew policy."
        ),
        "insightStatus": {"status": worst, "reason": reason},
        "recommendation": (
            "Upgrade your worker nodes to match the Kubernetes version of your cluster "
            "control plane."
        ),
        "additionalInfo": {
            "Kubernetes version skew policy": (
                "https://kubernetes.io/releases/version-skew-policy/#supported-version-skew"
            ),
            "Updating a managed node group": (
                "https://docs.aws.amazon.com/eks/latest/userguide/update-managed-node-group.html"
            ),
        },
        "resources": resources,
        "categorySpecificSummary": {},
    }


def insights(state: TwinState, name: str) -> list[dict[str, Any]]:
    """Every insight of cluster ``name`` (full DescribeInsight shape)."""
    cluster = _cluster(state, name)
    known = catalog()
    try:
        current = known.kubernetes(cluster.version).version.minor_str
        after = known.next_minor(current)
    except VersionError:
        return []
    if after is None:
        return []
    target = after.minor_str
    return [_deprecated(state, cluster, current, target), _skew(state, cluster, current, target)]


_SUMMARY = (
    "id", "name", "category", "kubernetesVersion", "lastRefreshTime", "lastTransitionTime",
    "description", "insightStatus",
)  # fmt: skip


def handle(state: TwinState, method: str, path: str, body: bytes) -> Response | None:
    """ListInsights / DescribeInsight (raising moto's EKSError), or None for other paths."""
    path = unquote(path)
    match = _LIST.match(path)
    if match and method == "POST":
        wanted = json.loads(body or b"{}").get("filter") or {}
        found = [
            {key: insight[key] for key in _SUMMARY}
            for insight in insights(state, match.group(1))
            if insight["category"] in wanted.get("categories", [CATEGORY])
            and insight["kubernetesVersion"]
            in wanted.get("kubernetesVersions", [insight["kubernetesVersion"]])
            and insight["insightStatus"]["status"]
            in wanted.get("statuses", [insight["insightStatus"]["status"]])
        ]
        return 200, {"Content-Type": "application/json"}, json.dumps({"insights": found})
    match = _ONE.match(path)
    if match and method == "GET":
        for insight in insights(state, match.group(1)):
            if insight["id"] == match.group(2):
                return 200, {"Content-Type": "application/json"}, json.dumps({"insight": insight})
        raise eks_clusters.not_found(f"No insight found for id: {match.group(2)}.")
    return None
