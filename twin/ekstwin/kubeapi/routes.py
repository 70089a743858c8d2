"""Parse Kubernetes REST paths into the resource, namespace, name and subresource they address."""

from __future__ import annotations

from dataclasses import dataclass

from ekstwin.kubeapi import errors
from ekstwin.kubeapi.resources import Minor, Registry, ResourceType

_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True, slots=True)
class Route:
    """A resource request.

    ``/apis/{group}/{version}[/watch][/namespaces/{ns}]/{plural}[/{name}[/{sub}]]``
    """

    rtype: ResourceType
    group: str
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_path: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def parse_resource_path(segments: list[str], registry: Registry, minor: Minor) -> Route:
    """Route for path ``segments`` (``["api", "v1", ...]`` or ``["apis", g, v, ...]``).

    ``NotFound`` when the resource is unknown or its API version is not served at ``minor``.
    """
    if segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    else:
        group, version, rest = segments[1], segments[2], segments[3:]
    watch_path = bool(rest) and rest[0] == "watch"
    if watch_path:
        rest = rest[1:]
    namespace: str | None = None
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and not (len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES)
    ):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise errors.no_such_resource()
    rtype = registry.lookup(group, version, rest[0], minor)
    if rtype is None or (namespace is not None and not rtype.namespaced):
        raise errors.no_such_resource()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if rtype.namespaced and name is not None and namespace is None:
        raise errors.no_such_resource()
    return Route(rtype, group, version, namespace, name, subresource, watch_path)
