"""``/version`` and the discovery documents (``/api``, ``/apis``, resource lists)."""

from __future__ import annotations

import hashlib
from typing import Any

from ekstwin.kubeapi.resources import Minor, Registry, ResourceType
from ekstwin.kubeapi.scale import AUTOSCALING_V1, has_scale, scale_api_version

# Last EKS patch release, its build suffix and Go toolchain per minor (approximate where
# EKS shipped several builds; clients only parse the shape).
_EKS_BUILDS: dict[Minor, tuple[int, str]] = {
    (1, 10): (13, "go1.9.3"),
    (1, 11): (10, "go1.10.8"),
    (1, 12): (10, "go1.10.8"),
    (1, 13): (12, "go1.11.13"),
    (1, 14): (9, "go1.12.12"),
    (1, 15): (12, "go1.12.17"),
    (1, 16): (15, "go1.13.15"),
    (1, 17): (17, "go1.13.15"),
    (1, 18): (20, "go1.13.15"),
    (1, 19): (16, "go1.15.15"),
    (1, 20): (15, "go1.15.15"),
    (1, 21): (14, "go1.16.15"),
    (1, 22): (17, "go1.16.15"),
    (1, 23): (17, "go1.19.6"),
    (1, 24): (17, "go1.20.10"),
}
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def version_info(minor: Minor, seed: int = 0) -> dict[str, str]:
    """A complete VersionInfo like EKS reports (``gitVersion: v1.12.10-eks-<hash>``)."""
    patch, go = _EKS_BUILDS.get(minor, (0, "go1.21.5"))
    digest = hashlib.sha1(f"eks-{minor}-{seed}".encode()).hexdigest()
    major_s, minor_s = str(minor[0]), str(minor[1])
    return {
        "major": major_s,
        "minor": f"{minor_s}+",
        "gitVersion": f"v{major_s}.{minor_s}.{patch}-eks-{digest[:6]}",
        "gitCommit": digest,
        "gitTreeState": "clean",
        "buildDate": f"20{18 + (minor[1] - 10) // 3:02d}-06-01T00:00:00Z",
        "goVersion": go,
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry, minor: Minor) -> dict[str, Any]:
    """``GET /apis``: every served named group, preferred version first."""
    groups = registry.group_versions(minor)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in groups.items() if name],
    }


def api_group(registry: Registry, minor: Minor, group: str) -> dict[str, Any] | None:
    """``GET /apis/{group}``, or ``None`` when the group is not served."""
    versions = registry.group_versions(minor).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def resource_list(
    registry: Registry, minor: Minor, group: str, version: str
) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``/apis/{group}/{version}``, or ``None`` when not served."""
    rtypes = registry.resources_in(group, version, minor)
    if not rtypes:
        return None
    group_version = f"{group}/{version}" if group else version
    resources: list[dict[str, Any]] = []
    for rtype in rtypes:
        resources.append(_entry(rtype, rtype.plural, rtype.kind, list(rtype.verbs) or _VERBS))
        if rtype.status_subresource:
            resources.append(
                _entry(rtype, f"{rtype.plural}/status", rtype.kind, ["get", "patch", "update"])
            )
        if has_scale(rtype.key):
            scale = _entry(rtype, f"{rtype.plural}/scale", "Scale", ["get", "patch", "update"])
            if scale_api_version(group_version) == AUTOSCALING_V1:
                scale.update(group="autoscaling", version="v1")
            resources.append(scale)
        if rtype.key == "pods":
            eviction = _entry(rtype, "pods/eviction", "Eviction", ["create"])
            eviction.update(group="policy", version="v1" if minor >= (1, 22) else "v1beta1")
            resources.append(eviction)
            resources.append(_entry(rtype, "pods/exec", "PodExecOptions", ["create", "get"]))
            resources.append(_entry(rtype, "pods/log", "Pod", ["get"]))
        if rtype.key == "nodes":
            resources.append(_entry(rtype, "nodes/proxy", "NodeProxyOptions", _PROXY_VERBS))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


_PROXY_VERBS = ["create", "delete", "get", "patch", "update"]


def _entry(rtype: ResourceType, name: str, kind: str, verbs: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "singularName": rtype.singular if "/" not in name else "",
        "namespaced": rtype.namespaced,
        "kind": kind,
        "verbs": verbs,
    }
    if rtype.short_names and "/" not in name:
        entry["shortNames"] = list(rtype.short_names)
    return entry
