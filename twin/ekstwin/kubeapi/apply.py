"""``metadata.managedFields`` and server-side apply (``application/apply-patch+yaml``).

Every write records which manager set which fields (operation ``Update``, keyed by
manager, API version and subresource); an apply (operation ``Apply``) merges the applied
configuration into the live object, removes the fields the manager applied before and no
longer applies (unless someone else owns them), and refuses with 409 to change a field
another manager owns unless ``force`` is set. Server-side apply is beta (on by default)
from 1.16 and GA in 1.22; managedFields are tracked on every create from 1.18 (before,
only objects that have been applied carry them); an object first applied without them
is owned by ``before-first-apply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ekstwin.kubeapi.errors import Conflict
from ekstwin.kubeapi.fieldsets import (
    Path,
    Shape,
    child_shape,
    decode,
    element_shape,
    encode,
    item_key,
    leaves,
    path_string,
    root_shape,
    set_key,
    under,
)
from ekstwin.kubeapi.objects import clone
from ekstwin.kubeapi.schema import Context

Obj = dict[str, Any]
SSA_SINCE = (1, 16)
TRACK_ON_CREATE_SINCE = (1, 18)
SUBRESOURCE_FIELD_SINCE = (1, 22)
BEFORE_FIRST_APPLY = "before-first-apply"


@dataclass(slots=True)
class Entry:
    """One managedFields entry, its field set decoded."""

    manager: str
    operation: str
    api_version: str
    time: str
    fields: set[Path]
    subresource: str = ""
    raw: Obj | None = None  # the stored entry, reused while nothing changes

    def identity(self) -> tuple[str, str, str, str]:
        version = "" if self.operation == "Apply" else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    def render(self, minor: tuple[int, int]) -> Obj:
        raw = self.raw
        unchanged = raw is not None and (raw.get("time"), raw.get("apiVersion")) == (
            self.time,
            self.api_version,
        )
        if raw is not None and unchanged and _decoded(raw.get("fieldsV1") or {}) == self.fields:
            return raw
        out: Obj = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode(self.fields),
        }
        if self.subresource and minor >= SUBRESOURCE_FIELD_SINCE:
            out["subresource"] = self.subresource
        return out


@dataclass(frozen=True, slots=True)
class Write:
    """Who writes: the manager, the operation and the API version/subresource used."""

    manager: str
    api_version: str
    subresource: str = ""
    operation: str = "Update"


_DECODED: dict[int, tuple[Any, frozenset[Path]]] = {}


def _decoded(tree: Any) -> frozenset[Path]:
    """``decode(tree)``, remembered per (stored, never mutated) tree."""
    found = _DECODED.get(id(tree))
    if found is not None and found[0] is tree:
        return found[1]
    paths = frozenset(decode(tree))
    if len(_DECODED) > 20_000:
        _DECODED.clear()
    _DECODED[id(tree)] = (tree, paths)
    return paths


def entries_of(obj: Obj) -> list[Entry]:
    out = []
    for raw in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(raw, dict) or not raw.get("manager"):
            continue
        out.append(
            Entry(
                manager=str(raw["manager"]),
                operation=str(raw.get("operation") or "Update"),
                api_version=str(raw.get("apiVersion") or ""),
                time=str(raw.get("time") or ""),
                fields=set(_decoded(raw.get("fieldsV1") or {})),
                subresource=str(raw.get("subresource") or ""),
                raw=raw,
            )
        )
    return out


def store_entries(obj: Obj, entries: list[Entry], minor: tuple[int, int]) -> None:
    """Write ``entries`` (sorted as the apiserver sorts them) into ``obj``'s metadata."""
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, e.time, e.manager, e.api_version, e.subresource))
    metadata = obj.setdefault("metadata", {})
    if kept:
        metadata["managedFields"] = [e.render(minor) for e in kept]
    else:
        metadata.pop("managedFields", None)


def _status_scope(resource_has_status: bool, subresource: str) -> bool | None:
    if subresource == "status":
        return True
    return False if resource_has_status else None


def record_update(
    resource: str,
    ctx: Context,
    old: Obj | None,
    new: Obj,
    write: Write,
    now: str,
    *,
    has_status: bool,
) -> None:
    """Update ``new``'s managedFields for a non-apply write of ``old`` into ``new``.

    ``old`` is ``None`` on create. Objects without managedFields are tracked on create
    from 1.18, and on update only once they carry some.
    """
    incoming = (new.get("metadata") or {}).get("managedFields")
    if old is None:
        if ctx.minor < TRACK_ON_CREATE_SINCE:
            (new.get("metadata") or {}).pop("managedFields", None)
            return
        entries: list[Entry] = []
    else:
        kept = (old.get("metadata") or {}).get("managedFields")
        entries = entries_of(new) if incoming and incoming != kept else entries_of(old)
        if not entries and not incoming:
            (new.get("metadata") or {}).pop("managedFields", None)
            return
    scope = _status_scope(has_status, write.subresource)
    before = _leaves(old, resource, ctx, scope) if old is not None else {}
    after = _leaves(new, resource, ctx, scope)
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    removed = set(before) - set(after)
    _take(entries, write, changed, removed, now)
    store_entries(new, entries, ctx.minor)


_LEAVES: dict[int, tuple[Obj, Context, dict[Path, Any]]] = {}
_STATUS = "f:status"


def _leaves(obj: Obj, resource: str, ctx: Context, scope: bool | None) -> dict[Path, Any]:
    """``leaves`` of ``scope``, from all of ``obj``'s leaves remembered per object: stored
    objects are never changed in place and an update's result is the next update's stored
    object (managedFields, which change after, are not among the leaves)."""
    found = _LEAVES.get(id(obj))
    if found is not None and found[0] is obj and found[1] == ctx:
        every = found[2]
    else:
        every = leaves(obj, resource, ctx, status=None)
        if len(_LEAVES) > 20_000:
            _LEAVES.clear()
        _LEAVES[id(obj)] = (obj, ctx, every)
    if scope is None:
        return every
    return {p: v for p, v in every.items() if (p[0] == _STATUS) == scope}


def _take(
    entries: list[Entry], write: Write, changed: set[Path], removed: set[Path], now: str
) -> None:
    mine = next((e for e in entries if e.identity() == _identity(write)), None)
    for entry in entries:
        if entry is not mine:
            entry.fields -= changed | removed
    if mine is None:
        if not changed:
            return
        mine = Entry(
            write.manager, write.operation, write.api_version, now, set(), write.subresource
        )
        entries.append(mine)
    updated = (mine.fields - removed) | changed
    if updated != mine.fields or changed:
        mine.fields, mine.time = updated, now


def _identity(write: Write) -> tuple[str, str, str, str]:
    version = "" if write.operation == "Apply" else write.api_version
    return (write.manager, write.operation, version, write.subresource)


# --- apply --------------------------------------------------------------------------------


def apply(
    resource: str,
    ctx: Context,
    live: Obj | None,
    config: Obj,
    write: Write,
    now: str,
    *,
    force: bool,
    has_status: bool,
) -> Obj:
    """The object after applying ``config`` as ``write.manager`` (managedFields set).

    ``live`` is ``None`` when the apply creates the object. ``Conflict`` (409) lists the
    fields other managers own that this apply would change, unless ``force``.
    """
    scope = _status_scope(has_status, write.subresource)
    config = clone(config)
    if scope is False:
        config.pop("status", None)
    applied = set(leaves(config, resource, ctx, status=scope))
    base: Obj = clone(live) if live is not None else {}
    entries = entries_of(base)
    if live is not None and not entries:
        owned = set(leaves(base, resource, ctx, status=scope))
        entries = [Entry(BEFORE_FIRST_APPLY, "Update", write.api_version, now, owned)]
    shape = root_shape(resource)
    merged: Obj = _merge(base, config, shape, ctx)
    mine = next((e for e in entries if e.identity() == _identity(write)), None)
    others = [e for e in entries if e is not mine]
    if mine is not None:
        still_owned = applied.union(*(e.fields for e in others))
        for path in sorted(mine.fields - still_owned, key=len, reverse=True):
            if not any(under(p, path) for p in still_owned):
                _remove(merged, path, shape, ctx)
    before = leaves(base, resource, ctx, status=scope)
    after = leaves(merged, resource, ctx, status=scope)
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    removed = set(before) - set(after)
    conflicts = [(e, p) for e in others for p in sorted(e.fields & changed)]
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for entry in others:
        entry.fields -= changed | removed
    if mine is None:
        mine = Entry(write.manager, "Apply", write.api_version, now, set(), write.subresource)
        entries.append(mine)
    if mine.fields != applied or changed or removed:
        mine.time = now
    mine.fields, mine.api_version = applied, write.api_version
    store_entries(merged, entries, ctx.minor)
    return merged


def _merge(live: Any, config: Any, shape: Shape, ctx: Context) -> Any:
    """structured-merge-diff's merge of the applied ``config`` into ``live``."""
    if isinstance(config, dict) and isinstance(live, dict) and shape.kind in {"struct", "map"}:
        out = dict(live)
        for key, value in config.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = _merge(out[key], value, child_shape(shape, key, ctx), ctx)
            else:
                out[key] = clone(value)
        return out
    if isinstance(config, list) and isinstance(live, list) and shape.kind == "assoc":
        merged = [clone(item) for item in live]
        index = {item_key(item, shape.keys): i for i, item in enumerate(merged)}
        for item in config:
            found = index.get(item_key(item, shape.keys))
            if found is None:
                merged.append(clone(item))
            else:
                merged[found] = _merge(merged[found], item, element_shape(shape), ctx)
        return merged
    if isinstance(config, list) and isinstance(live, list) and shape.kind == "set":
        merged = list(live)
        merged.extend(v for v in config if v not in merged)
        return merged
    return clone(config)


def _remove(obj: Any, path: Path, shape: Shape, ctx: Context) -> None:
    """Remove the member at ``path`` (a field, a keyed item or a set value) from ``obj``."""
    node, node_shape = obj, shape
    for element in path[:-1]:
        node, node_shape = _step(node, element, node_shape, ctx)
        if node is None:
            return
    last = path[-1]
    if last.startswith("f:") and isinstance(node, dict):
        node.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(node, list):
        node[:] = [i for i in node if item_key(i, node_shape.keys) != last]
    elif last.startswith("v:") and isinstance(node, list):
        node[:] = [v for v in node if set_key(v) != last]


def _step(node: Any, element: str, shape: Shape, ctx: Context) -> tuple[Any, Shape]:
    if element.startswith("f:") and isinstance(node, dict):
        key = element[2:]
        return node.get(key), child_shape(shape, key, ctx)
    if element.startswith("k:") and isinstance(node, list):
        found = next((i for i in node if item_key(i, shape.keys) == element), None)
        return found, element_shape(shape)
    return None, shape


def _conflict_error(conflicts: list[tuple[Entry, Path]]) -> Conflict:
    """``Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas``."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {_manager_text(entry)}",
            "field": path_string(path),
        }
        for entry, path in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        where = path_string(path)
        message = f"Apply failed with 1 conflict: conflict with {_manager_text(entry)}: {where}"
    else:
        lines: list[str] = []
        by_manager: dict[str, list[Path]] = {}
        texts: dict[str, str] = {}
        for entry, path in conflicts:
            by_manager.setdefault(entry.manager, []).append(path)
            texts[entry.manager] = _manager_text(entry)
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {texts[manager]}:")
            lines.extend(f"- {path_string(p)}" for p in by_manager[manager])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    error = Conflict(message, causes=causes)
    return error


def _manager_text(entry: Entry) -> str:
    text = f'"{entry.manager}"'
    if entry.subresource:
        text += f' with subresource "{entry.subresource}"'
    if entry.operation == "Update":
        text += f" using {entry.api_version}"
    return text
