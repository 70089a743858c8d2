"""The objects a compiled manifest holds, as API001 reads them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from upgrader.gates.inputs import ApiUse


def api_uses(source: str, manifest: Any) -> tuple[ApiUse, ...]:
    """Every object in a compiled manifest: an object, a ``*List`` with ``items``, a
    list of those, or a mapping of names to those (as jsonnet often emits)."""
    out: list[ApiUse] = []

    def walk(node: Any) -> None:
        if isinstance(node, list | tuple):
            for item in node:
                walk(item)
        elif isinstance(node, Mapping):
            if isinstance(node.get("apiVersion"), str) and isinstance(node.get("kind"), str):
                if node["kind"].endswith("List") and isinstance(node.get("items"), list):
                    walk(node["items"])
                    return
                meta = node.get("metadata") or {}
                out.append(
                    ApiUse(
                        source=source,
                        api_version=node["apiVersion"],
                        kind=node["kind"],
                        namespace=meta.get("namespace"),
                        name=str(meta.get("name", "")),
                    )
                )
            else:
                for key in sorted(node):
                    walk(node[key])

    walk(manifest)
    return tuple(out)
