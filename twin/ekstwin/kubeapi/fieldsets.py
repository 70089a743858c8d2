"""Field sets as structured-merge-diff computes them: the paths an object sets, in the
``FieldsV1`` form ``managedFields`` carries (``f:spec``, ``k:{"name":"app"}``, ``v:"x"``).

Structs and maps are granular, lists with merge keys are associative (each item is owned
on its own, by key), lists of scalars with a merge strategy are sets, and every other list
is atomic. Types come from :mod:`ekstwin.kubeapi.schema`; anything it does not describe is
a granular map of atomic values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from ekstwin.kubeapi.schema import PRIMITIVES, TYPES, Context, Field, kind_type

Path = tuple[str, ...]
ITEM = object()  # the value recorded for a list item's own membership
ATOMIC_TYPES = frozenset({"meta.LabelSelector"})
KEY_DEFAULTS = {"protocol": "TCP"}
# Never owned: identity and server-set metadata (structured-merge-diff's stripped fields).
_STRIPPED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
        "clusterName",
    }
)


@dataclass(frozen=True, slots=True)
class Shape:
    """How a value at some path merges: ``struct``, ``map``, ``assoc``, ``set``, ``atomic``
    or ``scalar``; ``of`` is the element (or struct) type name."""

    kind: str
    of: str = ""
    keys: tuple[str, ...] = ()


FREE = Shape("map", "any")


@cache
def shape_of(type_name: str, field: Field | None = None) -> Shape:
    """The shape of a value of schema type ``type_name`` (``field`` gives list semantics)."""
    if type_name.startswith("[]"):
        return _list_shape(type_name[2:], field)
    if type_name.startswith("{}"):
        return Shape("map", type_name[2:])
    if type_name in ATOMIC_TYPES:
        shape = Shape("atomic")
    elif type_name in TYPES:
        shape = Shape("struct", type_name)
    elif type_name in {"object", "any"}:
        shape = FREE
    else:
        shape = Shape("scalar")
    return shape


def _list_shape(element: str, field: Field | None) -> Shape:
    if field is not None and field.keys:
        return Shape("assoc", element, field.keys)
    scalar = element in PRIMITIVES and element not in {"object", "any"}
    if field is not None and field.strategy.startswith("merge") and scalar:
        return Shape("set", element)
    return Shape("atomic")


def child_shape(shape: Shape, key: str, ctx: Context) -> Shape:
    """The shape of member ``key`` of a struct or map value of ``shape``."""
    if shape.kind == "struct":
        return _struct_child(shape.of, key, ctx)
    if shape.kind == "map":
        return shape_of(shape.of) if shape.of not in {"any", "object"} else FREE
    return FREE


@cache
def _struct_child(type_name: str, key: str, ctx: Context) -> Shape:
    found = TYPES[type_name].field(key)
    if found is None or not found.present(ctx.version, ctx.minor):
        return FREE
    return shape_of(found.type, found)


def element_shape(shape: Shape) -> Shape:
    """The shape of an item of an associative list."""
    return shape_of(shape.of)


def root_shape(resource: str) -> Shape:
    typedef = kind_type(resource)
    return Shape("struct", f"{typedef.pkg}.{typedef.name}") if typedef else FREE


def item_key(item: Any, keys: tuple[str, ...]) -> str:
    """``k:{"containerPort":80,"protocol":"TCP"}`` (key fields sorted by name)."""
    fields = {}
    for key in sorted(keys):
        value = item.get(key, KEY_DEFAULTS.get(key)) if isinstance(item, dict) else None
        if value is not None:
            fields[key] = value
    return "k:" + json.dumps(fields, separators=(",", ":"), sort_keys=True)


def set_key(value: Any) -> str:
    return "v:" + json.dumps(value, separators=(",", ":"))


def leaves(
    obj: dict[str, Any], resource: str, ctx: Context, *, status: bool | None
) -> dict[Path, Any]:
    """Owned paths of ``obj`` with their values (list items map to :data:`ITEM`).

    ``status``: ``None`` walks everything, ``False`` skips ``status`` (a main-resource
    write of a resource with a status subresource), ``True`` walks only ``status``.
    """
    out: dict[Path, Any] = {}
    shape = root_shape(resource)
    for key, value in obj.items():
        if key in {"apiVersion", "kind"}:
            continue
        if status is not None and (key == "status") != status:
            continue
        if key == "metadata" and isinstance(value, dict):
            kept = {k: v for k, v in value.items() if k not in _STRIPPED_META}
            if kept:
                _walk(kept, child_shape(shape, key, ctx), ("f:metadata",), ctx, out, declared=True)
            continue
        _walk(value, child_shape(shape, key, ctx), (f"f:{key}",), ctx, out, declared=True)
    return out


def _walk(
    value: Any, shape: Shape, path: Path, ctx: Context, out: dict[Path, Any], *, declared: bool
) -> None:
    if isinstance(value, dict) and shape.kind in {"struct", "map"}:
        if not value or not declared:
            out[path] = value if not value else _frozen(value)
        if not value:
            return
        for key, child in value.items():
            is_field = shape.kind == "struct" and TYPES[shape.of].field(key) is not None
            _walk(
                child,
                child_shape(shape, key, ctx),
                (*path, f"f:{key}"),
                ctx,
                out,
                declared=is_field,
            )
        return
    if isinstance(value, list) and shape.kind == "assoc":
        for item in value:
            item_path = (*path, item_key(item, shape.keys))
            out[item_path] = ITEM
            if isinstance(item, dict):
                element = element_shape(shape)
                for key, child in item.items():
                    _walk(
                        child,
                        child_shape(element, key, ctx),
                        (*item_path, f"f:{key}"),
                        ctx,
                        out,
                        declared=True,
                    )
        return
    if isinstance(value, list) and shape.kind == "set":
        for item in value:
            out[(*path, set_key(item))] = ITEM
        return
    out[path] = _frozen(value)


def _frozen(value: Any) -> Any:
    """A comparable stand-in for a JSON value."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def under(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix


# --- FieldsV1 ----------------------------------------------------------------------------


def encode(paths: set[Path]) -> dict[str, Any]:
    """The ``fieldsV1`` tree of ``paths`` (``"."`` marks a member with children)."""
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = tree
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return _sorted(tree)


def _sorted(node: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted(node[k]) for k in sorted(node)}


def decode(tree: Any) -> set[Path]:
    """The paths of a ``fieldsV1`` tree."""
    out: set[Path] = set()

    def walk(node: Any, path: Path) -> None:
        if not isinstance(node, dict):
            return
        if not node and path:
            out.add(path)
        for key, child in node.items():
            if key == ".":
                out.add(path)
            else:
                walk(child, (*path, key))

    walk(tree, ())
    return out


def path_string(path: Path) -> str:
    """``fieldpath.Path.String()``: ``.spec.containers[name="app"].image``."""
    parts: list[str] = []
    for element in path:
        kind, rest = element[:1], element[2:]
        if kind == "f":
            parts.append(f".{rest}")
        elif kind == "k":
            fields = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in fields.items()) + "]")
        elif kind == "v":
            parts.append(f"[={rest}]")
        else:
            parts.append(f"[{rest}]")
    return "".join(parts)
