"""The resource types the emulator serves and which API versions serve them per cluster version.

Storage is shared per resource (``deployments.apps``); every served API version reads and
writes the same objects, returned with the ``apiVersion`` of the request path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Minor = tuple[int, int]
NEVER: Minor = (99, 0)

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


def parse_minor(version: str) -> Minor:
    """``"1.12"`` (or ``"v1.12.10-eks-1"``) -> ``(1, 12)``; ``ValueError`` otherwise."""
    match = _VERSION_RE.match(version.strip())
    if not match:
        raise ValueError(f"not a Kubernetes version: {version!r} (expected e.g. '1.12')")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True, slots=True)
class ServedVersion:
    """An API version served from ``since`` (inclusive) until ``removed`` (exclusive)."""

    version: str
    since: Minor = (1, 0)
    removed: Minor = NEVER

    def served_at(self, minor: Minor) -> bool:
        return self.since <= minor < self.removed


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One kind of object: its storage key, group, names and served versions."""

    key: str  # kubectl style: "pods", "deployments.apps"
    group: str
    plural: str
    kind: str
    namespaced: bool
    versions: tuple[ServedVersion, ...]
    status_subresource: bool = False
    short_names: tuple[str, ...] = ()
    custom: bool = False
    verbs: tuple[str, ...] = ()  # empty: the usual CRUD/list/watch verbs

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def served(self, minor: Minor) -> list[str]:
        """API versions of this resource served on a cluster at ``minor``, preferred first."""
        return [v.version for v in self.versions if v.served_at(minor)]

    def api_version(self, version: str) -> str:
        """``apps/v1`` or ``v1`` for the core group."""
        return f"{self.group}/{version}" if self.group else version

    def preferred(self, minor: Minor) -> str:
        """The apiVersion objects carry when read in-process."""
        served = self.served(minor)
        return self.api_version(served[0] if served else self.versions[0].version)


def _v(version: str, since: Minor = (1, 0), removed: Minor = NEVER) -> ServedVersion:
    return ServedVersion(version, since, removed)


_V1 = (_v("v1"),)
_APPS = (_v("v1"), _v("v1beta2", removed=(1, 16)))
_APPS_EXT = (*_APPS, _v("v1beta1", removed=(1, 16)))

BUILTIN: tuple[ResourceType, ...] = (
    ResourceType("pods", "", "pods", "Pod", True, _V1, True, ("po",)),
    ResourceType("nodes", "", "nodes", "Node", False, _V1, True, ("no",)),
    ResourceType("namespaces", "", "namespaces", "Namespace", False, _V1, True, ("ns",)),
    ResourceType("configmaps", "", "configmaps", "ConfigMap", True, _V1, False, ("cm",)),
    ResourceType("secrets", "", "secrets", "Secret", True, _V1),
    ResourceType("events", "", "events", "Event", True, _V1, False, ("ev",)),
    ResourceType("services", "", "services", "Service", True, _V1, True, ("svc",)),
    ResourceType(
        "serviceaccounts", "", "serviceaccounts", "ServiceAccount", True, _V1, False, ("sa",)
    ),
    ResourceType("endpoints", "", "endpoints", "Endpoints", True, _V1, False, ("ep",)),
    ResourceType(
        "deployments.apps", "apps", "deployments", "Deployment", True, _APPS_EXT, True, ("deploy",)
    ),
    ResourceType(
        "replicasets.apps", "apps", "replicasets", "ReplicaSet", True, _APPS, True, ("rs",)
    ),
    ResourceType("daemonsets.apps", "apps", "daemonsets", "DaemonSet", True, _APPS, True, ("ds",)),
    ResourceType(
        "statefulsets.apps", "apps", "statefulsets", "StatefulSet", True, _APPS_EXT, True, ("sts",)
    ),
    ResourceType(
        "controllerrevisions.apps",
        "apps",
        "controllerrevisions",
        "ControllerRevision",
        True,
        _APPS_EXT,
    ),
    ResourceType(
        "poddisruptionbudgets.policy",
        "policy",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        (_v("v1", since=(1, 21)), _v("v1beta1", removed=(1, 25))),
        True,
        ("pdb",),
    ),
    ResourceType(
        "leases.coordination.k8s.io",
        "coordination.k8s.io",
        "leases",
        "Lease",
        True,
        (_v("v1", since=(1, 14)), _v("v1beta1", removed=(1, 22))),
    ),
    ResourceType(
        "customresourcedefinitions.apiextensions.k8s.io",
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        (_v("v1", since=(1, 16)), _v("v1beta1", removed=(1, 22))),
        True,
        ("crd", "crds"),
    ),
    ResourceType(
        "clusterroles.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "clusterroles",
        "ClusterRole",
        False,
        (_v("v1"), _v("v1beta1", removed=(1, 22))),
    ),
    ResourceType(
        "clusterrolebindings.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "ClusterRoleBinding",
        False,
        (_v("v1"), _v("v1beta1", removed=(1, 22))),
    ),
    ResourceType(
        "roles.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "roles",
        "Role",
        True,
        (_v("v1"), _v("v1beta1", removed=(1, 22))),
    ),
    *(
        ResourceType(
            f"{plural}.authorization.k8s.io",
            "authorization.k8s.io",
            plural,
            kind,
            False,
            (_v("v1"), _v("v1beta1", removed=(1, 22))),
            verbs=("create",),
        )
        for plural, kind in (
            ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
            ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
        )
    ),
    ResourceType(
        "rolebindings.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "rolebindings",
        "RoleBinding",
        True,
        (_v("v1"), _v("v1beta1", removed=(1, 22))),
    ),
)

# extensions/v1beta1 served the apps workloads until 1.16; same storage as apps.
LEGACY_ALIASES: dict[tuple[str, str], str] = {
    ("extensions", "daemonsets"): "daemonsets.apps",
    ("extensions", "deployments"): "deployments.apps",
    ("extensions", "replicasets"): "replicasets.apps",
}
LEGACY_VERSION = ServedVersion("v1beta1", removed=(1, 16))


class Registry:
    """Built-in resource types plus those defined by stored CustomResourceDefinitions."""

    def __init__(self) -> None:
        self._by_key: dict[str, ResourceType] = {r.key: r for r in BUILTIN}

    def get(self, key: str) -> ResourceType | None:
        return self._by_key.get(key)

    def all(self) -> list[ResourceType]:
        return list(self._by_key.values())

    def lookup(self, group: str, version: str, plural: str, minor: Minor) -> ResourceType | None:
        """The resource a request path names, or ``None`` when that version is not served."""
        alias = LEGACY_ALIASES.get((group, plural))
        if alias is not None:
            return (
                self._by_key[alias]
                if LEGACY_VERSION.served_at(minor) and version == "v1beta1"
                else None
            )
        rtype = self._by_key.get(f"{plural}.{group}" if group else plural)
        if rtype is None or version not in rtype.served(minor):
            return None
        return rtype

    def group_versions(self, minor: Minor) -> dict[str, list[str]]:
        """Served ``group -> [versions]`` (preferred first); the core group is ``""``."""
        out: dict[str, list[str]] = {}
        for rtype in self._by_key.values():
            for version in rtype.served(minor):
                versions = out.setdefault(rtype.group, [])
                if version not in versions:
                    versions.append(version)
        if LEGACY_VERSION.served_at(minor):
            out.setdefault("extensions", []).append("v1beta1")
        return out

    def resources_in(self, group: str, version: str, minor: Minor) -> list[ResourceType]:
        """Resource types served at ``group/version``."""
        if group == "extensions":
            if version != "v1beta1" or not LEGACY_VERSION.served_at(minor):
                return []
            return [self._by_key[key] for key in LEGACY_ALIASES.values()]
        return [r for r in self._by_key.values() if r.group == group and version in r.served(minor)]

    def define_crd(self, crd: dict[str, Any]) -> None:
        """Serve the custom resource a CustomResourceDefinition describes."""
        rtype = crd_resource_type(crd)
        if rtype is not None and rtype.key not in {r.key for r in BUILTIN}:
            self._by_key[rtype.key] = rtype

    def forget_crd(self, crd: dict[str, Any]) -> None:
        rtype = crd_resource_type(crd)
        if rtype is not None and rtype.custom:
            self._by_key.pop(rtype.key, None)


def crd_resource_type(crd: dict[str, Any]) -> ResourceType | None:
    """The resource type of a CRD (v1beta1 or v1 shape), or ``None`` when incomplete."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not (group and plural and kind):
        return None
    listed = [v for v in spec.get("versions") or [] if v.get("served", True)]
    versions = [str(v["name"]) for v in listed if v.get("name")]
    if not versions and spec.get("version"):
        versions = [str(spec["version"])]
    if not versions:
        return None
    has_status = "status" in (spec.get("subresources") or {}) or any(
        "status" in (v.get("subresources") or {}) for v in listed
    )
    return ResourceType(
        key=f"{plural}.{group}",
        group=str(group),
        plural=str(plural),
        kind=str(kind),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        versions=tuple(ServedVersion(v) for v in versions),
        status_subresource=has_status,
        short_names=tuple(names.get("shortNames") or ()),
        custom=True,
    )
