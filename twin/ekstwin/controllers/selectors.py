"""Matching rules: label selectors, node selectors and affinity, taints and tolerations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ekstwin.controllers.objects import Obj, labels_of, name_of

NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "NoExecute"


def _compare(have: str, want: str, op: str) -> bool:
    try:
        a, b = int(have), int(want)
    except ValueError:
        return False
    return a > b if op == "Gt" else a < b


def _expression_matches(expr: Obj, labels: Mapping[str, str]) -> bool:
    """One requirement (In, NotIn, Exists, DoesNotExist, Gt, Lt) against labels."""
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = expr.get("values") or []
    value = labels.get(key)
    checks = {
        "In": lambda: value is not None and value in values,
        "NotIn": lambda: value is None or value not in values,
        "Exists": lambda: value is not None,
        "DoesNotExist": lambda: value is None,
        "Gt": lambda: value is not None and bool(values) and _compare(value, values[0], "Gt"),
        "Lt": lambda: value is not None and bool(values) and _compare(value, values[0], "Lt"),
    }
    check = checks.get(op)
    return check is not None and check()


def selector_matches(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector against labels; a missing selector matches nothing."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or [])


def _term_matches(term: Obj, node: Obj) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches no node
    labels = labels_of(node)
    field_values = {"metadata.name": name_of(node)}
    return all(_expression_matches(e, labels) for e in exprs) and all(
        _expression_matches(f, field_values) for f in fields
    )


def node_affinity_matches(pod_spec: Obj, node: Obj) -> bool:
    """``nodeSelector`` and required node affinity of a pod spec both accept ``node``."""
    labels = labels_of(node)
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms")
    if terms is None:
        return True
    return any(_term_matches(t, node) for t in terms)


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """One toleration covers one taint (core/v1 ToleratesTaint)."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taints(
    tolerations: Iterable[Obj], taints: Iterable[Obj], effects: Iterable[str]
) -> list[Obj]:
    """Taints with one of ``effects`` that no toleration covers."""
    wanted = set(effects)
    tols = list(tolerations)
    return [
        t for t in taints if t.get("effect") in wanted and not any(tolerates(x, t) for x in tols)
    ]
