"""Decoding a request body into a typed object, as the apiserver's JSON decoder does: a value
of the wrong JSON type is an error (``json: cannot unmarshal string into Go struct field
DeploymentSpec.spec.replicas of type int32``); unknown fields are collected for
``fieldValidation`` (``unknown field "spec.foo"``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ekstwin.kubeapi.schema import GO_PRIMITIVES, PRIMITIVES, TYPES, Context, TypeDef

_JSON_KIND = {bool: "bool", str: "string", list: "array", dict: "object"}
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1


@dataclass(slots=True)
class Decoded:
    """What decoding found: the first type error and every unknown field."""

    error: str | None = None
    unknown: list[str] = field(default_factory=list)


def decode(typedef: TypeDef, obj: dict[str, Any], ctx: Context) -> Decoded:
    """Check ``obj`` against ``typedef`` (the kind's type) in API version ``ctx``."""
    out = Decoded()
    _struct(typedef, obj, ctx, [], "", out)
    return out


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return _JSON_KIND.get(type(value), "value")


def _go_type(kind: str, ctx: Context) -> str:
    if kind in GO_PRIMITIVES:
        return GO_PRIMITIVES[kind]
    if kind.startswith("[]"):
        return "[]" + _go_type(kind[2:], ctx)
    if kind.startswith("{}"):
        return "map[string]" + _go_type(kind[2:], ctx)
    return ctx.go_type(kind)


def _struct(
    typedef: TypeDef,
    obj: dict[str, Any],
    ctx: Context,
    stack: list[str],
    where: str,
    out: Decoded,
) -> None:
    known = {f.name: f for f in typedef.fields_at(ctx.version, ctx.minor)}
    for name, value in obj.items():
        if name.startswith("$"):  # strategic-merge directives
            continue
        found = known.get(name)
        path = f"{where}.{name}" if where else name
        if found is None:
            out.unknown.append(path)
            continue
        _value(found.type, value, ctx, [*stack, name], path, typedef.name, out)


def _value(
    kind: str,
    value: Any,
    ctx: Context,
    stack: list[str],
    where: str,
    owner: str,
    out: Decoded,
) -> None:
    """Check one value of schema type ``kind``; ``owner`` is the enclosing Go struct."""
    if value is None:
        return
    problem = _mismatch(kind, value)
    if problem is not None:
        if out.error is None:
            out.error = (
                f"json: cannot unmarshal {problem} into Go struct field "
                f"{owner}.{'.'.join(stack)} of type {_go_type(kind, ctx)}"
            )
        return
    if kind.startswith("[]"):
        for i, item in enumerate(value):
            _value(kind[2:], item, ctx, stack, f"{where}[{i}]", owner, out)
    elif kind.startswith("{}"):
        for key, item in value.items():
            _value(kind[2:], item, ctx, stack, f"{where}[{key}]", owner, out)
    elif kind not in PRIMITIVES:
        typedef = TYPES[kind]
        _struct(typedef, value, ctx, stack, where, out)


def _mismatch(kind: str, value: Any) -> str | None:
    """The Go description of ``value`` when it cannot decode into ``kind``, else None."""
    actual = _json_kind(value)
    if kind.startswith("[]"):
        ok = isinstance(value, list)
    elif kind.startswith("{}") or kind == "object" or kind not in PRIMITIVES:
        ok = isinstance(value, dict)
    elif kind in {"string", "time", "microtime", "bytes"}:
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in {"integer", "int64"}:
        if actual != "number":
            return actual
        limit = _INT32 if kind == "integer" else _INT64
        if not float(value).is_integer() or not -limit - 1 <= value <= limit:
            return f"number {value}"
        ok = True
    elif kind in {"number", "quantity"}:
        ok = actual == "number" or (kind == "quantity" and isinstance(value, str))
    elif kind == "intstr":
        ok = isinstance(value, str) or (actual == "number" and float(value).is_integer())
    else:  # any
        ok = True
    return None if ok else actual
