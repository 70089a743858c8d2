"""``field.Error`` lists and the 422 ``Invalid`` Status they become (apimachinery's
``errors.NewInvalid``), with values printed the way Go's ``%q``/``%#v`` print them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ekstwin.kubeapi.errors import Invalid

# field.ErrorType -> (its String(), the StatusCause reason)
_TYPES = {
    "Required": ("Required value", "FieldValueRequired"),
    "Invalid": ("Invalid value", "FieldValueInvalid"),
    "Duplicate": ("Duplicate value", "FieldValueDuplicate"),
    "NotSupported": ("Unsupported value", "FieldValueNotSupported"),
    "NotFound": ("Not found", "FieldValueNotFound"),
    "Forbidden": ("Forbidden", "FieldValueForbidden"),
    "TooLong": ("Too long", "FieldValueTooLong"),
}
_NO_VALUE = frozenset({"Required", "Forbidden", "TooLong"})


class GoValue:
    """A value already rendered as Go would print it (``%#v`` of a struct, say)."""

    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True, slots=True)
class FieldError:
    """One ``field.Error``: its type, path, offending value and detail."""

    type: str
    field: str
    value: Any = None
    detail: str = ""

    def body(self) -> str:
        """``ErrorBody()``: ``Invalid value: "x": detail``."""
        text = _TYPES[self.type][0]
        if self.type not in _NO_VALUE:
            text = f"{text}: {go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict[str, str]:
        return {"reason": _TYPES[self.type][1], "message": self.body(), "field": self.field}


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("Required", path, detail=detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError("Invalid", path, value, detail)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError("NotSupported", path, value, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError("Duplicate", path, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("Forbidden", path, detail=detail)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError("NotFound", path, value)


def too_long(path: str, limit: int) -> FieldError:
    return FieldError("TooLong", path, detail=f"must have at most {limit} bytes")


def go_value(value: Any) -> str:
    """``%v`` for numbers and booleans, ``%q`` for strings, ``%#v`` for the rest."""
    if isinstance(value, GoValue):
        text = value.text
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, str):
        text = json.dumps(value)
    elif isinstance(value, dict):
        pairs = ", ".join(
            f"{json.dumps(str(k))}:{json.dumps(str(v))}" for k, v in sorted(value.items())
        )
        text = f"map[string]string{{{pairs}}}" if value else "map[string]string(nil)"
    elif isinstance(value, list):
        text = "[]string{" + ", ".join(json.dumps(str(v)) for v in value) + "}"
    else:
        text = str(value)
    return text


def go_selector(selector: Any) -> GoValue:
    """``%#v`` of a ``*metav1.LabelSelector`` (dereferenced, as ErrorBody does)."""
    if not isinstance(selector, dict):
        return GoValue("null")
    labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    rendered = ", ".join(
        f"v1.LabelSelectorRequirement{{Key:{json.dumps(str(e.get('key', '')))}, "
        f"Operator:{json.dumps(str(e.get('operator', '')))}, "
        f"Values:{go_value(list(e['values'])) if e.get('values') else '[]string(nil)'}}}"
        for e in expressions
        if isinstance(e, dict)
    )
    exprs = (
        f"[]v1.LabelSelectorRequirement{{{rendered}}}"
        if expressions
        else ("[]v1.LabelSelectorRequirement(nil)")
    )
    return GoValue(f"v1.LabelSelector{{MatchLabels:{go_value(labels)}, MatchExpressions:{exprs}}}")


def invalid_error(kind: str, group: str, name: str, errors: list[FieldError]) -> Invalid:
    """``errors.NewInvalid``: ``Deployment.apps "web" is invalid: [a: ..., b: ...]``."""
    qualified = f"{kind}.{group}" if group else kind
    joined = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(map(str, errors)) + "]"
    message = f'{qualified} "{name}" is invalid' + (f": {joined}" if errors else "")
    return Invalid(
        message,
        name=name,
        group=group or None,
        kind=kind,
        causes=[e.cause() for e in errors],
    )
