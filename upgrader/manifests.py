"""Pure checks and canonical forms for compiled Kubernetes manifests.

Evaluation (jsonnet, files) lives in ``upgrader.adapters.jsonnet``; this module only looks
at the resulting objects: canonical form for comparison and output, structural validation,
and the APIs a target Kubernetes version no longer serves (gate API001).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import yaml

from upgrader.catalog.versions import catalog
from upgrader.semver import Version

Obj = dict[str, Any]

# Empty values that mean something and survive normalisation (``emptyDir: {}`` is a volume).
_KEEP_EMPTY = frozenset({"emptyDir"})
# Lists whose order carries no meaning, sorted by these keys.
_SORT_BY = {"env": "name", "volumes": "name", "volumeMounts": "mountPath"}
# Apply order: definitions and identities before the workloads that use them.
_KIND_ORDER = (
    "CustomResourceDefinition",
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
)
_POD_TEMPLATE_KINDS = frozenset({"DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"})


class RemovedApiUse(NamedTuple):
    """An object whose apiVersion the target Kubernetes version no longer serves."""

    ref: str
    api: str
    replacement: str
    removed_in: str


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def ref(obj: Obj) -> str:
    """``Kind namespace/name`` (or ``Kind name`` for cluster-scoped objects)."""
    meta = _meta(obj)
    name = meta.get("name", "?")
    where = f"{meta['namespace']}/{name}" if meta.get("namespace") else str(name)
    return f"{obj.get('kind', '?')} {where}"


def _clean(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        out = {}
        for k in sorted(value):
            item = _clean(value[k], k)
            if item is None or (item in ({}, []) and k not in _KEEP_EMPTY):
                continue
            out[k] = item
        return out
    if isinstance(value, list):
        items = [_clean(v) for v in value if v is not None]
        sort_key = _SORT_BY.get(key or "")
        if sort_key and all(isinstance(i, dict) for i in items):
            items.sort(key=lambda i: str(i.get(sort_key, "")))
        return items
    return value


def _order(obj: Obj) -> tuple[int, str, str, str]:
    kind = str(obj.get("kind", ""))
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    meta = _meta(obj)
    return (rank, kind, str(meta.get("namespace", "")), str(meta.get("name", "")))


def normalise(objs: Iterable[Obj]) -> list[Obj]:
    """Canonical form: sorted keys, no null/empty fields, env/volumes/mounts sorted by name,
    objects in apply order (CRDs and RBAC first, then workloads)."""
    return sorted((_clean(obj) for obj in objs), key=_order)


def removed_apis(objs: Iterable[Obj], target_kubernetes: str | Version) -> list[RemovedApiUse]:
    """Objects using an apiVersion of their kind that ``target_kubernetes`` no longer serves."""
    cat = catalog()
    target = cat.kubernetes(target_kubernetes).version
    removed = {
        (api.api_version, api.kind): api
        for release in cat.releases
        if release.version <= target
        for api in release.removed_apis
    }
    found = []
    for obj in objs:
        api = removed.get((str(obj.get("apiVersion")), str(obj.get("kind"))))
        if api is not None:
            found.append(
                RemovedApiUse(ref(obj), api.api_version, api.replacement, api.removed_in.minor_str)
            )
    return found


def unknown_apis(objs: Iterable[Obj]) -> list[str]:
    """``Kind ns/name: apiVersion`` of every object whose apiVersion no Kubernetes release
    serves for its kind (kinds the catalog tracks only)."""
    cat = catalog()
    found = []
    for obj in objs:
        kind, api = str(obj.get("kind")), str(obj.get("apiVersion"))
        known = cat.known_api_versions(kind)
        if known and api not in known:
            listed = ", ".join(sorted(known))
            found.append(f"{ref(obj)} uses {api}, which no release serves (known: {listed})")
    return found


def api_problems(objs: Iterable[Obj], target_kubernetes: str | Version) -> list[str]:
    """Every object the target cannot take: a removed apiVersion or one never served."""
    listed = list(objs)
    removed = [
        f"{u.ref} uses {u.api}, removed in {u.removed_in}: use {u.replacement}"
        for u in removed_apis(listed, target_kubernetes)
    ]
    return removed + unknown_apis(listed)


def _containers(spec: Obj) -> list[Obj]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _workload_problems(obj: Obj, where: str) -> list[str]:
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    pod = template.get("spec") or {}
    problems = []
    if not pod.get("containers"):
        problems.append(f"{where}: spec.template.spec.containers is empty")
    for c in _containers(pod):
        if not c.get("image"):
            problems.append(f"{where}: container {c.get('name', '?')!r} has no image")
    labels = (template.get("metadata") or {}).get("labels") or {}
    wanted = (spec.get("selector") or {}).get("matchLabels") or {}
    if obj.get("kind") != "Job" and not wanted:
        problems.append(f"{where}: spec.selector.matchLabels is empty")
    for key, value in sorted(wanted.items()):
        if labels.get(key) != value:
            problems.append(
                f"{where}: selector {key}={value} does not match the pod template labels"
            )
    return problems


def validate(objs: Iterable[Obj]) -> list[str]:
    """Structural problems: missing kind/apiVersion/name, duplicates, workloads without
    containers or images, selectors that do not match their pod template."""
    problems = []
    seen: set[tuple[str, str, str]] = set()
    for index, obj in enumerate(objs):
        if not isinstance(obj, dict):
            problems.append(f"object #{index + 1}: is not a mapping")
            continue
        meta = _meta(obj)
        where = ref(obj) if meta and meta.get("name") else f"object #{index + 1}"
        for field in ("apiVersion", "kind"):
            if not obj.get(field):
                problems.append(f"{where}: {field} is missing")
        if not meta or not meta.get("name"):
            problems.append(f"{where}: metadata.name is missing")
            continue
        key = (str(obj.get("kind")), str(meta.get("namespace", "")), str(meta["name"]))
        if key in seen:
            problems.append(f"{where}: defined more than once")
        seen.add(key)
        if obj.get("kind") in _POD_TEMPLATE_KINDS:
            problems.extend(_workload_problems(obj, where))
    return problems


def to_yaml(objs: Iterable[Obj]) -> str:
    """Deterministic multi-document YAML of the normalised objects."""
    return "".join(
        "---\n" + yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, width=1000)
        for obj in normalise(objs)
    )


def file_name(key: str) -> str:
    """Output file for a component key: ``aws-node@v1.4.1`` -> ``aws-node-v1.4.1.yaml``."""
    return key.replace("@", "-").replace("/", "-") + ".yaml"
