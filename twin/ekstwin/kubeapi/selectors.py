"""Label selectors (string and LabelSelector object forms) and field selectors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ekstwin.kubeapi.errors import BadRequest
from ekstwin.kubeapi.objects import dig

_SET_RE = re.compile(r"^\s*(\S+?)\s+(in|notin)\s+\((.*)\)\s*$")
_OP_RE = re.compile(r"^\s*([^!=<>\s]+)\s*(==|!=|=|<|>)\s*(\S*)\s*$")

_SET_OPS: dict[str, Callable[[str | None, frozenset[str]], bool]] = {
    "in": lambda value, values: value is not None and value in values,
    "notin": lambda value, values: value is None or value not in values,
    "exists": lambda value, _: value is not None,
    "!exists": lambda value, _: value is None,
}

# Field selectors whose unset value the server reports as something other than "".
_FIELD_DEFAULTS = {"spec.unschedulable": "false"}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key op values`` term; ops: in, notin, exists, !exists, gt, lt."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.op in _SET_OPS:
            return _SET_OPS[self.op](value, self.values)
        if value is None:
            return False
        try:
            number, bound = int(value), int(next(iter(self.values)))
        except ValueError:
            return False
        return number > bound if self.op == "gt" else number < bound


Selector = Callable[[dict[str, Any]], bool]


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    terms: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse ``app=web,tier in (a,b),!canary``; ``BadRequest`` when malformed."""
    requirements: list[Requirement] = []
    for term in _split_terms(text):
        set_match = _SET_RE.match(term)
        if set_match:
            key, op, raw = set_match.groups()
            values = frozenset(v.strip() for v in raw.split(",") if v.strip())
            requirements.append(Requirement(key, op, values))
            continue
        if term.startswith("!"):
            requirements.append(Requirement(_checked_key(term[1:].strip(), text), "!exists"))
            continue
        op_match = _OP_RE.match(term)
        if op_match:
            key, op, value = op_match.groups()
            if op in {"<", ">"}:
                requirements.append(
                    Requirement(key, "gt" if op == ">" else "lt", frozenset([value]))
                )
            else:
                requirements.append(
                    Requirement(key, "notin" if op == "!=" else "in", frozenset([value]))
                )
            continue
        requirements.append(Requirement(_checked_key(term, text), "exists"))
    return requirements


def _checked_key(key: str, text: str) -> str:
    if not key or re.search(r"[\s=!()<>,]", key):
        raise BadRequest(f"unable to parse requirement: invalid label key {key!r} in {text!r}")
    return key


def label_selector(text: str | None) -> Selector:
    """A predicate on objects for a label selector string (``None``/empty: everything)."""
    if not text:
        return _everything
    requirements = parse_label_selector(text)

    def matches(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


def selector_object_matches(selector: dict[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a ``LabelSelector`` object (matchLabels/matchExpressions) matches ``labels``.

    An empty selector matches everything; callers decide what a missing one means.
    """
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        op = ops.get(str(expression.get("operator")))
        if op is None:
            return False
        values = frozenset(str(v) for v in expression.get("values") or [])
        if not Requirement(str(expression.get("key")), op, values).matches(labels):
            return False
    return True


def field_selector(text: str | None) -> Selector:
    """A predicate for ``metadata.name=x,spec.nodeName!=n1`` over any dotted path."""
    if not text:
        return _everything
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        match = re.match(r"^([^!=]+?)\s*(==|!=|=)\s*(.*)$", term)
        if not match:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{term}'")
        path, op, value = match.groups()
        terms.append((path.strip(), op == "!=", value.strip()))

    def matches(obj: dict[str, Any]) -> bool:
        return all((field_value(obj, path) == value) != negate for path, negate, value in terms)

    return matches


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string a field selector compares: booleans as true/false, missing as ""."""
    value = dig(obj, path)
    if value is None:
        return _FIELD_DEFAULTS.get(path, "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _everything(_: dict[str, Any]) -> bool:
    return True
