"""Frozen records to and from JSON, and their JSON Schema, from the type hints alone.

A field's JSON name is its name, or ``metadata["key"]``; ``metadata["section"]`` puts it
inside a nested object (a plan step's ``params`` or ``predicted``); a record's
``json_sections`` class attribute names the nested objects it always writes, even empty.
Types:

- ``str``, ``int``, ``bool``, a ``StrEnum``, a record (a dataclass), ``X | None``;
- ``tuple[T, ...]`` as a JSON array, ``tuple[A, B]`` as a fixed array;
- ``tuple[tuple[str, V], ...]`` as a JSON object (sorted, deterministic);
- :data:`JsonObject` as it is (compiled manifests are the user's own JSON).

Decoding is strict: a missing key, a wrong type or an unknown enum value raises
:class:`RecordError` naming the JSON path.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import TypeAlias, TypeVar, Union

JsonValue: TypeAlias = Union[  # noqa: UP007 - a recursive alias needs the Union spelling
    str, int, float, bool, list["JsonValue"], dict[str, "JsonValue"], None
]
JsonObject: TypeAlias = dict[str, JsonValue]
R = TypeVar("R")


class RecordError(ValueError):
    """A JSON document that does not match its record; ``path`` says where."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def key_of(f: dataclasses.Field[object]) -> str:
    return str(f.metadata.get("key", f.name))


def section_of(f: dataclasses.Field[object]) -> str | None:
    section = f.metadata.get("section")
    return None if section is None else str(section)


@cache
def _hints(cls: type) -> dict[str, object]:
    # the recursive JSON alias refers to itself by name, wherever the record was defined
    return typing.get_type_hints(cls, localns={"JsonValue": JsonValue, "JsonObject": JsonObject})


def sections(cls: type) -> tuple[str, ...]:
    """The nested objects a record always writes (its ``json_sections``), then any other
    its fields name."""
    fixed = tuple(getattr(cls, "json_sections", ()))
    named = [section_of(f) for f in dataclasses.fields(cls)]
    return fixed + tuple(dict.fromkeys(n for n in named if n is not None and n not in fixed))


def record_fields(cls: type) -> list[tuple[dataclasses.Field[object], object]]:
    """The record's fields that travel in JSON, with their resolved types."""
    hints = _hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls) if f.init]


def _args(hint: object) -> tuple[object, ...]:
    return typing.get_args(hint)


def _optional(hint: object) -> object | None:
    """``X`` for ``X | None``, else None."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        rest = [a for a in _args(hint) if a is not type(None)]
        if len(rest) == 1 and len(_args(hint)) == 2:
            return rest[0]
    return None


def _is_pairs(hint: object) -> bool:
    """``tuple[tuple[str, V], ...]``: a JSON object."""
    args = _args(hint)
    if typing.get_origin(hint) is not tuple or len(args) != 2 or args[1] is not Ellipsis:
        return False
    inner = args[0]
    pair = _args(inner)
    return (
        typing.get_origin(inner) is tuple
        and len(pair) == 2
        and pair[0] is str
        and pair[1] is not Ellipsis
    )


def _is_raw(hint: object) -> bool:
    return typing.get_origin(hint) is dict


# --- encoding ---------------------------------------------------------------------------


def encode(value: object, hint: object) -> JsonValue:  # noqa: PLR0911 - one per JSON shape
    """``value`` (of type ``hint``) as JSON."""
    inner = _optional(hint)
    if inner is not None:
        return None if value is None else encode(value, inner)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, StrEnum):
        return str(value)
    if _is_raw(hint):
        return typing.cast(JsonValue, value)
    if _is_pairs(hint):
        value_hint = _args(_args(hint)[0])[1]
        pairs = typing.cast(tuple[tuple[str, object], ...], value)
        return {k: encode(v, value_hint) for k, v in sorted(pairs)}
    if typing.get_origin(hint) is tuple:
        args = _args(hint)
        items = typing.cast(tuple[object, ...], value)
        if len(args) == 2 and args[1] is Ellipsis:
            return [encode(v, args[0]) for v in items]
        return [encode(v, a) for v, a in zip(items, args, strict=True)]
    return typing.cast(JsonValue, value)


def to_json(record: object) -> JsonObject:
    """A record as a JSON object; sectioned fields go into their nested objects."""
    out: JsonObject = {section: {} for section in sections(type(record))}
    for f, hint in record_fields(type(record)):
        value = encode(getattr(record, f.name), hint)
        section = section_of(f)
        if section is None:
            out[key_of(f)] = value
        else:
            nested = out.setdefault(section, {})
            assert isinstance(nested, dict)
            nested[key_of(f)] = value
    return out


# --- decoding ---------------------------------------------------------------------------


def _type_name(raw: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(raw), "null" if raw is None else type(raw).__name__
    )


_SCALARS: dict[object, tuple[type, str]] = {
    bool: (bool, "a boolean"),
    int: (int, "an integer"),
    str: (str, "a string"),
}


def decode(raw: object, hint: object, path: str) -> object:  # noqa: PLR0911 - one per shape
    """JSON ``raw`` as a value of type ``hint``; :class:`RecordError` otherwise."""
    inner = _optional(hint)
    if inner is not None:
        return None if raw is None else decode(raw, inner, path)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, raw, path)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        if not isinstance(raw, str) or raw not in {str(m) for m in hint}:
            known = ", ".join(str(m) for m in hint)
            raise RecordError(path, f"{raw!r} is not one of {known}")
        return hint(raw)
    if _is_raw(hint) or _is_pairs(hint):
        if not isinstance(raw, dict):
            raise RecordError(path, f"is {_type_name(raw)}, not an object")
        if _is_raw(hint):
            return raw
        value_hint = _args(_args(hint)[0])[1]
        return tuple((str(k), decode(v, value_hint, f"{path}.{k}")) for k, v in sorted(raw.items()))
    if typing.get_origin(hint) is tuple:
        return _decode_tuple(raw, _args(hint), path)
    if hint in _SCALARS:
        kind, name = _SCALARS[hint]
        if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
            raise RecordError(path, f"is {_type_name(raw)}, not {name}")
        return raw
    raise TypeError(f"{path}: no JSON decoding for {hint!r}")


def _decode_tuple(raw: object, args: tuple[object, ...], path: str) -> tuple[object, ...]:
    if not isinstance(raw, list):
        raise RecordError(path, f"is {_type_name(raw)}, not an array")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(decode(v, args[0], f"{path}[{i}]") for i, v in enumerate(raw))
    if len(raw) != len(args):
        raise RecordError(path, f"has {len(raw)} items, not {len(args)}")
    return tuple(
        decode(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(raw, args, strict=True))
    )


def from_json(cls: type[R], raw: object, path: str) -> R:
    """``raw`` as a ``cls`` record (dataclass); keys it does not know are refused too."""
    if not isinstance(raw, Mapping):
        raise RecordError(path, f"is {_type_name(raw)}, not an object")
    values: dict[str, object] = {}
    expected: dict[str | None, set[str]] = {None: set(sections(cls))}
    expected.update({name: set() for name in sections(cls)})
    for f, hint in record_fields(cls):
        section = section_of(f)
        key = key_of(f)
        expected[section].add(key)
        holder: object = raw if section is None else raw.get(section, {})
        where = path if section is None else f"{path}.{section}"
        if not isinstance(holder, Mapping):
            raise RecordError(where, f"is {_type_name(holder)}, not an object")
        if key not in holder:
            if f.default is not dataclasses.MISSING:
                continue
            raise RecordError(where, f"has no {key!r}")
        values[f.name] = decode(holder[key], hint, f"{where}.{key}")
    for section, keys in expected.items():
        holder = raw if section is None else raw.get(section, {})
        extra = sorted(set(typing.cast(Mapping[str, object], holder)) - keys)
        if extra:
            where = path if section is None else f"{path}.{section}"
            raise RecordError(where, f"has unknown key(s) {', '.join(map(repr, extra))}")
    return cls(**values)


# --- JSON Schema ------------------------------------------------------------------------


def schema_of(hint: object, defs: dict[str, JsonObject]) -> JsonObject:  # noqa: PLR0911
    """The JSON Schema of a value of type ``hint``; records go into ``defs``."""
    inner = _optional(hint)
    if inner is not None:
        return {"anyOf": [schema_of(inner, defs), {"type": "null"}]}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if hint.__name__ not in defs:
            defs[hint.__name__] = {}  # recursion guard
            defs[hint.__name__] = record_schema(hint, defs)
        return {"$ref": f"#/$defs/{hint.__name__}"}
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return {"type": "string", "enum": [str(m) for m in hint]}
    if _is_raw(hint):
        return {"type": "object"}
    if _is_pairs(hint):
        return {
            "type": "object",
            "additionalProperties": schema_of(_args(_args(hint)[0])[1], defs),
        }
    if typing.get_origin(hint) is tuple:
        args = _args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": schema_of(args[0], defs)}
        return {
            "type": "array",
            "prefixItems": [schema_of(a, defs) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    simple: dict[object, str] = {bool: "boolean", int: "integer", str: "string"}
    if hint in simple:
        return {"type": simple[hint]}
    raise TypeError(f"no JSON Schema for {hint!r}")


def record_schema(cls: type, defs: dict[str, JsonObject]) -> JsonObject:
    """The schema of one record: its keys, nested sections, what is required."""
    props: dict[str, JsonObject] = {}
    nested: dict[str, dict[str, JsonObject]] = {name: {} for name in sections(cls)}
    required: dict[str | None, list[str]] = {None: list(nested)}
    for f, hint in record_fields(cls):
        section = section_of(f)
        target = props if section is None else nested[section]
        target[key_of(f)] = schema_of(hint, defs)
        if f.default is dataclasses.MISSING:
            required.setdefault(section, []).append(key_of(f))
    for name, fields in nested.items():
        props[name] = {
            "type": "object",
            "properties": typing.cast(JsonValue, fields),
            "required": typing.cast(JsonValue, sorted(required.get(name, []))),
            "additionalProperties": False,
        }
    out: JsonObject = {
        "type": "object",
        "properties": typing.cast(JsonValue, props),
        "required": typing.cast(JsonValue, sorted(required[None])),
        "additionalProperties": False,
    }
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    if doc:
        out["description"] = " ".join(doc.split())
    return out
