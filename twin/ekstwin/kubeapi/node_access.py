"""The requests kube-apiserver hands to a node: ``pods/log``, ``pods/exec`` and
``nodes/proxy``. The emulator checks them as the apiserver does (pod, host, container),
then asks the node's :class:`NodeAgent` (the twin's kubelet side) for the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ekstwin.kubeapi.errors import BadRequest

KUBELET_PORT = 10250
POD_SUBRESOURCES = frozenset({"log", "exec"})


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a command run in a container wrote, and its exit code."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


@dataclass(frozen=True, slots=True)
class ProxyAnswer:
    """A node port's HTTP answer; ``refused`` when nothing listens there for the apiserver."""

    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    refused: bool = False


class NodeAgent(Protocol):
    """What the nodes answer (kubelet, container runtime and host ports)."""

    def pod_log(
        self, pod: Mapping[str, Any], container: str, *, previous: bool
    ) -> list[tuple[float, str]]:
        """The container's log lines with their virtual times."""
        ...

    def exec(
        self, pod: Mapping[str, Any], container: str, command: Sequence[str], *, tty: bool
    ) -> ExecResult:
        """Run ``command`` in the container."""
        ...

    def proxy(self, node: Mapping[str, Any], port: int, path: str, query: str) -> ProxyAnswer:
        """GET ``path`` on the node's ``port`` as seen from the control plane."""
        ...


@dataclass(frozen=True, slots=True)
class PodRoute:
    namespace: str
    name: str
    subresource: str


@dataclass(frozen=True, slots=True)
class NodeProxyRoute:
    node: str
    port: int
    path: str


def parse(segments: Sequence[str]) -> PodRoute | NodeProxyRoute | None:
    """The node-bound route of core-v1 path ``segments``, or None for any other path."""
    if list(segments[:2]) != ["api", "v1"]:
        return None
    rest = list(segments[2:])
    if len(rest) == 5 and rest[0] == "namespaces" and rest[2] == "pods":
        if rest[4] in POD_SUBRESOURCES:
            return PodRoute(rest[1], rest[3], rest[4])
        return None
    if len(rest) >= 3 and rest[0] == "nodes" and rest[2] == "proxy":
        node, port = _node_and_port(rest[1])
        return NodeProxyRoute(node, port, "/" + "/".join(rest[3:]))
    return None


def _node_and_port(spec: str) -> tuple[str, int]:
    """``name``, ``name:port`` or ``scheme:name:port`` (the apiserver's proxy forms)."""
    parts = spec.split(":")
    if len(parts) == 3:
        parts = parts[1:]
    if len(parts) == 1:
        return parts[0], KUBELET_PORT
    try:
        return parts[0], int(parts[1])
    except ValueError:
        raise BadRequest(f"invalid port in {spec!r}") from None


def container_of(pod: Mapping[str, Any], requested: str | None) -> str:
    """The container a log or exec request addresses, or the apiserver's 400."""
    name = pod["metadata"]["name"]
    names = [str(c.get("name", "")) for c in pod.get("spec", {}).get("containers", [])]
    if not requested:
        if len(names) == 1:
            return names[0]
        raise BadRequest(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        )
    if requested not in names:
        raise BadRequest(f"container {requested} is not valid for pod {name}")
    return requested


def node_of(pod: Mapping[str, Any]) -> str:
    node = pod.get("spec", {}).get("nodeName")
    if not node:
        raise BadRequest(f"pod {pod['metadata']['name']} does not have a host assigned")
    return str(node)


def waiting_reason(pod: Mapping[str, Any], container: str) -> str | None:
    """Why ``container`` has not started (``ContainerCreating``…), None once it runs."""
    for status in pod.get("status", {}).get("containerStatuses") or []:
        if status.get("name") == container:
            waiting = (status.get("state") or {}).get("waiting")
            return str(waiting.get("reason") or "ContainerCreating") if waiting else None
    return "ContainerCreating"


def render_log(lines: list[tuple[float, str]], query: Mapping[str, str], now: float) -> bytes:
    """The log as the kubelet streams it: ``sinceSeconds``, ``tailLines``, ``timestamps``,
    ``limitBytes`` applied in that order."""
    since = _int(query, "sinceSeconds")
    if since is not None:
        lines = [(t, line) for t, line in lines if t >= now - since]
    tail = _int(query, "tailLines")
    if tail is not None:
        lines = lines[-tail:] if tail else []
    stamped = query.get("timestamps") in {"true", "1"}
    text = "".join(
        (f"{_rfc3339_nano(t)} {line}\n" if stamped else f"{line}\n") for t, line in lines
    ).encode()
    limit = _int(query, "limitBytes")
    return text[:limit] if limit is not None else text


def _int(query: Mapping[str, str], key: str) -> int | None:
    if key not in query:
        return None
    try:
        value = int(query[key])
    except ValueError:
        raise BadRequest(f"invalid value for {key}: {query[key]!r}") from None
    if value < 0:
        raise BadRequest(f"{key}: Invalid value: {value}: must be greater than or equal to 0")
    return value


def _rfc3339_nano(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def node_address(node: Mapping[str, Any]) -> str:
    """The node's InternalIP, where the apiserver dials its ports."""
    for address in node.get("status", {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address", ""))
    return ""
