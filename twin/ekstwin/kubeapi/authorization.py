"""``authorization.k8s.io`` reviews a client asks about itself (``kubectl auth can-i``).

The sandbox has one identity, the cluster creator EKS maps to ``system:masters``, so a
SelfSubjectAccessReview is always allowed (as RBAC words it) and a SelfSubjectRulesReview
lists the wildcard rules of ``cluster-admin``. ``authorization.k8s.io/v1`` is served from
1.6, ``v1beta1`` until 1.22.
"""

from __future__ import annotations

from typing import Any

from ekstwin.kubeapi.errors import BadRequest
from ekstwin.kubeapi.fielderrors import FieldError, invalid, invalid_error, required

GROUP = "authorization.k8s.io"
REVIEWS = frozenset(
    {
        f"selfsubjectaccessreviews.{GROUP}",
        f"selfsubjectrulesreviews.{GROUP}",
    }
)
ALLOWED_REASON = (
    'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" '
    'to Group "system:masters"'
)


def is_review(resource_key: str) -> bool:
    return resource_key in REVIEWS


def review(resource_key: str, api_version: str, body: dict[str, Any]) -> dict[str, Any]:
    """The review ``body`` with its ``status`` filled in; 422 when its spec is invalid."""
    kind = (
        "SelfSubjectAccessReview"
        if resource_key.startswith("selfsubjectaccess")
        else ("SelfSubjectRulesReview")
    )
    if body.get("kind") not in {None, kind}:
        raise BadRequest(f"the kind in the body ({body.get('kind')}) is not {kind}")
    spec = body.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    if kind == "SelfSubjectAccessReview":
        errors = _access_review_errors(spec)
        status: dict[str, Any] = {"allowed": True, "reason": ALLOWED_REASON}
    else:
        errors = []
        status = {
            "resourceRules": [
                {"verbs": ["create"], "apiGroups": [GROUP], "resources": _SELF_REVIEWS},
                {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            ],
            "nonResourceRules": [
                {"verbs": ["*"], "nonResourceURLs": ["*"]},
            ],
            "incomplete": False,
        }
    if errors:
        raise invalid_error(kind, GROUP, "", errors)
    metadata = dict(body.get("metadata") or {})
    metadata.setdefault("creationTimestamp", None)
    return {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


_SELF_REVIEWS = ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]


def _access_review_errors(spec: dict[str, Any]) -> list[FieldError]:
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if resource is not None and non_resource is not None:
        return [
            invalid(
                "spec.nonResourceAttributes",
                "",
                "cannot be specified in combination with resourceAttributes",
            )
        ]
    if resource is None and non_resource is None:
        return [
            required(
                "spec.resourceAttributes",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )
        ]
    return []
