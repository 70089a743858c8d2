"""The ``scale`` subresource of the replicated workloads: ``Scale`` objects over their parents.

``apps/v1`` serves ``autoscaling/v1`` Scales (``status.selector`` is a label-selector string);
the beta versions (``apps/v1beta1``, ``apps/v1beta2``, ``extensions/v1beta1``) serve their own
``Scale`` kind, whose ``status.selector`` is the parent's ``matchLabels`` map and whose
``status.targetSelector`` is the string.
"""

from __future__ import annotations

from typing import Any

from ekstwin.kubeapi.errors import BadRequest, Invalid

SCALE = "scale"
AUTOSCALING_V1 = "autoscaling/v1"
# The built-in resources with a scale subresource (only ones the registry serves are reachable).
SCALABLE = frozenset({"deployments.apps", "replicasets.apps", "statefulsets.apps"})

_OPERATORS = {"In": "in", "NotIn": "notin"}


def has_scale(resource_key: str) -> bool:
    """Whether the resource stored under ``resource_key`` serves ``{name}/scale``."""
    return resource_key in SCALABLE


def scale_api_version(api_version: str) -> str:
    """The ``apiVersion`` of the Scale served under a parent's ``api_version`` path."""
    return AUTOSCALING_V1 if api_version in {"apps/v1", "v1", AUTOSCALING_V1} else api_version


def selector_string(selector: dict[str, Any] | None) -> str:
    """A ``LabelSelector`` object as the string the real server reports (keys sorted).

    ``{"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In",
    "values": ["b", "a"]}]}`` -> ``"app=web,tier in (a,b)"``; empty or missing -> ``""``.
    """
    selector = selector or {}
    terms: list[tuple[str, str]] = [
        (str(key), f"{key}={value}") for key, value in (selector.get("matchLabels") or {}).items()
    ]
    for expression in selector.get("matchExpressions") or []:
        key = str(expression.get("key"))
        operator = str(expression.get("operator"))
        values = ",".join(sorted(str(v) for v in expression.get("values") or []))
        if operator in _OPERATORS:
            terms.append((key, f"{key} {_OPERATORS[operator]} ({values})"))
        elif operator == "Exists":
            terms.append((key, key))
        elif operator == "DoesNotExist":
            terms.append((key, f"!{key}"))
        else:
            raise BadRequest(f'"{operator}" is not a valid pod selector operator')
    terms.sort(key=lambda term: term[0])
    return ",".join(text for _, text in terms)


def scale_of(parent: dict[str, Any], api_version: str = AUTOSCALING_V1) -> dict[str, Any]:
    """The ``Scale`` of a stored ``parent`` (not shared with it), served as ``api_version``."""
    parent_meta = parent.get("metadata") or {}
    metadata = {
        field: parent_meta[field]
        for field in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        if field in parent_meta
    }
    spec = parent.get("spec") or {}
    selector = spec.get("selector")
    status: dict[str, Any] = {"replicas": int((parent.get("status") or {}).get("replicas") or 0)}
    version = scale_api_version(api_version)
    if version == AUTOSCALING_V1:
        status["selector"] = selector_string(selector)
    else:
        match_labels = (selector or {}).get("matchLabels")
        if match_labels:
            status["selector"] = dict(match_labels)
        status["targetSelector"] = selector_string(selector)
    return {
        "kind": "Scale",
        "apiVersion": version,
        "metadata": metadata,
        "spec": {"replicas": int(spec.get("replicas") or 0)},
        "status": status,
    }


def wanted_replicas(scale: dict[str, Any], name: str) -> int:
    """``spec.replicas`` of a written Scale (absent means 0, as in the real API types)."""
    spec = scale.get("spec")
    if spec is not None and not isinstance(spec, dict):
        raise BadRequest("Scale.spec must be an object")
    replicas = (spec or {}).get("replicas")
    if replicas is None:
        return 0
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise BadRequest(
            f"json: cannot unmarshal {type(replicas).__name__} into Go struct field "
            "ScaleSpec.spec.replicas of type int32"
        )
    if replicas < 0:
        cause = f"Invalid value: {replicas}: must be greater than or equal to 0"
        raise Invalid(
            f'Scale.autoscaling "{name}" is invalid: spec.replicas: {cause}',
            name=name,
            group="autoscaling",
            kind="Scale",
            causes=[{"reason": "FieldValueInvalid", "message": cause, "field": "spec.replicas"}],
        )
    return replicas
