"""The three PATCH kinds: JSON merge (RFC 7386), strategic merge, JSON patch (RFC 6902)."""

from __future__ import annotations

from typing import Any

from ekstwin.kubeapi.errors import BadRequest, Invalid
from ekstwin.kubeapi.objects import clone

# Strategic-merge keys by field name for the lists upgrade tools touch. Lists not named
# here are replaced wholesale (tolerations, args, command, ...).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "addresses": "type",
    "hostAliases": "ip",
}
# Lists of scalars merged as sets under strategic merge.
MERGE_SCALAR_LISTS = {"finalizers"}


def apply_patch(obj: dict[str, Any], body: Any, patch_type: str) -> dict[str, Any]:
    """A new object: ``obj`` with ``body`` applied; ``obj`` itself is not changed."""
    if patch_type == "json":
        if not isinstance(body, list):
            raise BadRequest("json patch must be a list of operations")
        return json_patch(obj, body)
    if not isinstance(body, dict):
        raise BadRequest(f"{patch_type} patch body must be a JSON object")
    if patch_type == "merge":
        merged: dict[str, Any] = merge_patch(obj, body)
        return merged
    if patch_type == "strategic":
        result: dict[str, Any] = strategic_merge(obj, body)
        return result
    raise BadRequest(f"unknown patch type {patch_type!r}")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: dict[str, Any]) -> Any:
    """Strategic merge: like merge patch, but keyed lists merge by their merge key."""
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            drop = set(map(_hashable, value or []))
            result[field] = [v for v in result.get(field) or [] if _hashable(v) not in drop]
            continue
        if key.startswith("$"):  # $setElementOrder/..., $retainKeys: ordering hints only
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            result[key] = value
    return result


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [clone(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    existing = list(current) if isinstance(current, list) else []
    if field in MERGE_SCALAR_LISTS:
        merged = [clone(v) for v in existing]
        seen = {_hashable(v) for v in merged}
        merged.extend(v for v in patch if _hashable(v) not in seen)
        return merged
    key = MERGE_KEYS.get(field)
    if field == "ports":
        key = (
            "containerPort"
            if any("containerPort" in p for p in patch if isinstance(p, dict))
            else "port"
        )
    if key is None or not all(isinstance(item, dict) for item in patch):
        replaced: list[Any] = clone(patch)
        return replaced
    merged = [clone(v) for v in existing]
    for item in patch:
        index = next(
            (
                i
                for i, old in enumerate(merged)
                if isinstance(old, dict) and old.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(strategic_merge({}, item))
        else:
            merged[index] = strategic_merge(merged[index], item)
    return merged


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


# --- RFC 6902 -------------------------------------------------------------------------


def json_patch(obj: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """Apply RFC 6902 operations in order; a failed ``test`` or bad path is 422 Invalid."""
    doc: Any = clone(obj)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise BadRequest(f"invalid json patch operation: {operation!r}")
        op, path = operation["op"], str(operation["path"])
        if op == "add":
            doc = _add(doc, path, clone(_value(operation)))
        elif op == "remove":
            doc, _ = _remove(doc, path)
        elif op == "replace":
            doc, _ = _remove(doc, path)
            doc = _add(doc, path, clone(_value(operation)))
        elif op in {"move", "copy"}:
            source = str(operation.get("from", ""))
            if op == "move":
                doc, value = _remove(doc, source)
            else:
                value = clone(_get(doc, source))
            doc = _add(doc, path, value)
        elif op == "test":
            if _get(doc, path) != _value(operation):
                raise Invalid(f"the server rejected our request: test operation failed at {path}")
        else:
            raise BadRequest(f"unknown json patch op {op!r}")
    if not isinstance(doc, dict):
        raise Invalid("the server rejected our request: a patch must leave an object")
    return doc


def _value(operation: dict[str, Any]) -> Any:
    if "value" not in operation:
        raise BadRequest(f"json patch {operation['op']} at {operation['path']} needs a value")
    return operation["value"]


def _tokens(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise BadRequest(f"invalid json pointer {path!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _fail(path: str) -> Invalid:
    return Invalid(f"the server rejected our request: path {path!r} does not exist")


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    tokens = _tokens(path)
    if not tokens:
        raise _fail(path)
    current = doc
    for token in tokens[:-1]:
        current = _step(current, token, path)
    return current, tokens[-1]


def _step(current: Any, token: str, path: str) -> Any:
    if isinstance(current, dict) and token in current:
        return current[token]
    if isinstance(current, list) and token.isdigit() and int(token) < len(current):
        return current[int(token)]
    raise _fail(path)


def _get(doc: Any, path: str) -> Any:
    current = doc
    for token in _tokens(path):
        current = _step(current, token, path)
    return current


def _add(doc: Any, path: str, value: Any) -> Any:
    if path == "":
        return value
    parent, token = _parent(doc, path)
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        if token == "-":
            parent.append(value)
        elif token.isdigit() and int(token) <= len(parent):
            parent.insert(int(token), value)
        else:
            raise _fail(path)
    else:
        raise _fail(path)
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    parent, token = _parent(doc, path)
    if isinstance(parent, dict) and token in parent:
        return doc, parent.pop(token)
    if isinstance(parent, list) and token.isdigit() and int(token) < len(parent):
        return doc, parent.pop(int(token))
    raise _fail(path)
