"""Helpers on plain JSON objects: cheap copies, timestamps, name rules, dotted paths."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
PATH_SEGMENT_RULE = "may not contain '/' or '%' and may not be '.' or '..'"


def clone(value: Any) -> Any:
    """Deep copy of a JSON value; several times faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: clone(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) if isinstance(v, dict | list) else v for v in value]
    return value


def rfc3339(ts: float) -> str:
    """``2019-05-01T12:00:00Z`` (second precision, as metadata timestamps are)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def name_problem(name: str, rule: str) -> str | None:
    """Why ``name`` is not valid under ``rule`` ("subdomain" | "label" | "segment"), or None."""
    if rule == "segment":
        if name in {".", ".."} or "/" in name or "%" in name:
            return PATH_SEGMENT_RULE
        return None
    if rule == "label":
        if len(name) > 63:
            return "must be no more than 63 characters"
        return None if _LABEL.match(name) else LABEL_RULE
    if len(name) > 253:
        return "must be no more than 253 characters"
    return None if _SUBDOMAIN.match(name) else SUBDOMAIN_RULE


def dig(obj: Any, path: str) -> Any:
    """Value at a dotted path (``spec.nodeName``), or ``None`` when any step is missing."""
    current = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj["metadata"]``, created when missing."""
    found = obj.get("metadata")
    if not isinstance(found, dict):
        found = {}
        obj["metadata"] = found
    return found
