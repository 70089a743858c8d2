"""Plain helpers over Kubernetes objects held as dicts: metadata, owners, names, hashes, time."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from upgrader.errors import VersionError
from upgrader.semver import Version

if TYPE_CHECKING:
    from ekstwin.kubeapi import Store

Obj = dict[str, Any]

# The alphabet of k8s.io/apimachinery rand.String: no vowels, no 0/1/3 (no words, no look-alikes).
SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def meta(obj: Obj) -> Obj:
    """``metadata`` of ``obj`` (created empty if missing)."""
    result: Obj = obj.setdefault("metadata", {})
    return result


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str | None:
    ns = obj.get("metadata", {}).get("namespace")
    return str(ns) if ns else None


def uid_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("uid", ""))


def labels_of(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = obj.get("metadata", {}).get("labels") or {}
    return labels


def generation_of(obj: Obj) -> int:
    return int(obj.get("metadata", {}).get("generation") or 1)


def is_deleting(obj: Obj) -> bool:
    """The object has a deletionTimestamp (it is terminating)."""
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def controller_uid(obj: Obj) -> str | None:
    """uid of the ownerReference marked ``controller: true``, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def controller_ref(owner: Obj) -> Obj:
    """An ownerReference to ``owner`` as a controller sets it on what it creates."""
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def by_controller(objs: list[Obj]) -> dict[str, list[Obj]]:
    """Objects grouped by the uid of their controller ownerReference."""
    grouped: dict[str, list[Obj]] = {}
    for obj in objs:
        owner = controller_uid(obj)
        if owner is not None:
            grouped.setdefault(owner, []).append(obj)
    return grouped


def random_suffix(rng: random.Random, length: int = 5) -> str:
    """A generateName-style suffix such as ``x7k2q``."""
    return "".join(rng.choice(SAFE_ALPHANUMS) for _ in range(length))


def _fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(template: Obj, collision_count: int = 0) -> str:
    """Stable hash of a pod template, in the style of ``pod-template-hash`` labels.

    Kubernetes hashes the Go object with FNV-32a and maps the decimal digits onto
    :data:`SAFE_ALPHANUMS`; this hashes canonical JSON instead, so values differ
    from a real cluster but have the same shape and stability.
    """
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    digits = str(_fnv32a(data))
    return "".join(SAFE_ALPHANUMS[ord(d) % len(SAFE_ALPHANUMS)] for d in digits)


def without_label(template: Obj, key: str) -> Obj:
    """Deep copy of a pod template with one label removed (to compare templates)."""
    result = copy.deepcopy(template)
    labels = result.get("metadata", {}).get("labels")
    if labels and key in labels:
        del labels[key]
    return result


def iso(ts: float) -> str:
    """Epoch seconds as Kubernetes writes timestamps (RFC 3339, seconds, Z)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> float | None:
    """RFC 3339 timestamp to epoch seconds (``None`` stays ``None``)."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def scaled_value(value: int | str | None, total: int, *, round_up: bool, default: int) -> int:
    """An IntOrString (``3`` or ``"25%"``) resolved against ``total``."""
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        pct = int(text[:-1])
        scaled = pct * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(text)


def status_patch(old: Obj, new: Obj) -> Obj | None:
    """A merge patch turning status ``old`` into ``new``; ``None`` when equal."""
    if old == new:
        return None
    patch: Obj = dict(new)
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def write_status(store: Store, resource: str, obj: Obj, old: Obj, new: Obj) -> bool:
    """Patch ``obj``'s status from ``old`` to ``new`` through the status subresource;
    False (and no write) when nothing changed."""
    patch = status_patch(old, new)
    if patch is None:
        return False
    store.patch(
        resource,
        name_of(obj),
        {"status": patch},
        namespace=namespace_of(obj),
        subresource="status",
    )
    return True


def kube_minor(store: Store) -> tuple[int, int]:
    """The emulated cluster's Kubernetes minor, e.g. ``(1, 12)``; messages vary by release."""
    try:
        return Version.parse(store.kubernetes_version).minor_key
    except VersionError:
        return (1, 99)


def read(store: Store, resource: str, namespace: str | None = None) -> list[Obj]:
    """Every stored object of ``resource``, shared with the store: never mutate them.

    Saves the deep copy :meth:`Store.list` makes, which dominates a pass's cost.
    """
    return store.select(store.resource_type(resource), namespace)
