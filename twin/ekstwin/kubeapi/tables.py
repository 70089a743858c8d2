"""Server-side printing: ``meta.k8s.io`` Table responses, as ``kubectl get`` asks for them.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...`` and prints the
columns the server chose; priority-1 columns appear only with ``-o wide``. The columns and
cells follow kube-apiserver's printers (pkg/printers/internalversion); resources without a
printer get Name and Age. Ages are computed on the server, against its (virtual) clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ekstwin.kubeapi.errors import BadRequest
from ekstwin.kubeapi.resources import Minor

Obj = dict[str, Any]
Cells = list[Any]

META_GROUP = "meta.k8s.io"
INCLUDE_OBJECT = ("None", "Metadata", "Object")
NONE = "<none>"
UNKNOWN = "<unknown>"
_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated."
)
_AGE_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC."
)
_ROLE_PREFIX = "node-role.kubernetes.io/"


@dataclass(frozen=True, slots=True)
class Column:
    """One TableColumnDefinition."""

    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> Obj:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME = Column("Name", format="name", description=_NAME_DOC)
AGE = Column("Age", description=_AGE_DOC)


def table_version(accept: str, minor: Minor) -> str | None:
    """The Table version ("v1" or "v1beta1") an Accept header asks for, if any.

    meta.k8s.io/v1 Tables exist from Kubernetes 1.15; before that only v1beta1.
    """
    for media in accept.split(","):
        parts = [p.strip() for p in media.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if parts[0] not in {"application/json", "*/*"} or params.get("as") != "Table":
            continue
        if params.get("g") != META_GROUP:
            continue
        version = params.get("v")
        if version == "v1beta1" or (version == "v1" and minor >= (1, 15)):
            return version
    return None


def human_duration(seconds: float) -> str:
    """Go's ``duration.HumanDuration``: ``45s``, ``5m3s``, ``3h20m``, ``4d2h``, ``2y30d``."""
    s = int(seconds)
    if s < 0:
        return "<invalid>" if s < -1 else "0s"
    minutes, hours = s // 60, s // 3600
    days, years = hours // 24, hours // 24 // 365
    if s < 120:
        text = f"{s}s"
    elif minutes < 10:
        text = _two_units(minutes, "m", s % 60, "s")
    elif minutes < 180:
        text = f"{minutes}m"
    elif hours < 8:
        text = _two_units(hours, "h", minutes % 60, "m")
    elif hours < 48:
        text = f"{hours}h"
    elif hours < 24 * 8:
        text = _two_units(days, "d", hours % 24, "h")
    elif hours < 24 * 365 * 2:
        text = f"{days}d"
    elif hours < 24 * 365 * 8:
        text = _two_units(years, "y", days % 365, "d")
    else:
        text = f"{years}y"
    return text


def _two_units(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit}{small}{small_unit}"


def _since(timestamp: str | None, now: float) -> str:
    if not timestamp:
        return UNKNOWN
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return UNKNOWN
    return human_duration(now - then)


def _meta(obj: Obj) -> Obj:
    found: Obj = obj.get("metadata") or {}
    return found


def _age(obj: Obj, now: float) -> str:
    return _since(_meta(obj).get("creationTimestamp"), now)


def _or_none(value: Any) -> Any:
    return NONE if value in (None, "", []) else value


# --- printers ------------------------------------------------------------------------------


def _terminated_reason(terminated: Obj) -> str:
    if terminated.get("reason"):
        return str(terminated["reason"])
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode', 0)}"


def _init_status(pod: Obj) -> tuple[str | None, int]:
    """(``Init:...`` STATUS while an init container has not succeeded, init restarts)."""
    inits = (pod.get("spec") or {}).get("initContainers") or []
    restarts = 0
    for i, container in enumerate((pod.get("status") or {}).get("initContainerStatuses") or []):
        restarts += int(container.get("restartCount", 0))
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode", 0) == 0:
            continue
        if terminated:
            return f"Init:{_terminated_reason(terminated)}", restarts
        if waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return f"Init:{waiting['reason']}", restarts
        return f"Init:{i}/{len(inits)}", restarts
    return None, restarts


def _pod_status(pod: Obj) -> tuple[str, int, int, int]:
    """(STATUS, ready containers, containers, restarts) as ``printPod`` works them out."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    total = len(spec.get("containers") or [])
    reason = str(status.get("reason") or status.get("phase") or "")
    ready = 0
    init_reason, restarts = _init_status(pod)
    if init_reason is not None:
        reason = init_reason
    else:
        restarts, running = 0, False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += int(container.get("restartCount", 0))
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated:
                reason = _terminated_reason(terminated)
            elif container.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if _pod_ready(status) else "NotReady"
    if _meta(pod).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in {"Succeeded", "Failed"}:
            reason = "Terminating"
    return reason, ready, total, restarts


def _pod_ready(status: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _pod_cells(pod: Obj, now: float) -> Cells:
    reason, ready, total, restarts = _pod_status(pod)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    gates = spec.get("readinessGates") or []
    if gates:
        types = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        passed = sum(1 for g in gates if types.get(g.get("conditionType")) == "True")
        gate_text = f"{passed}/{len(gates)}"
    else:
        gate_text = NONE
    return [
        _meta(pod).get("name", ""),
        f"{ready}/{total}",
        reason,
        str(restarts),
        _age(pod, now),
        _or_none(status.get("podIP")),
        _or_none(spec.get("nodeName")),
        _or_none(status.get("nominatedNodeName")),
        gate_text,
    ]


def _node_roles(node: Obj) -> str:
    roles = set()
    for key, value in (_meta(node).get("labels") or {}).items():
        if key.startswith(_ROLE_PREFIX) and key != _ROLE_PREFIX:
            roles.add(key.removeprefix(_ROLE_PREFIX))
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or NONE


def _node_address(node: Obj, kind: str) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return NONE


def _node_cells(node: Obj, now: float) -> Cells:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    states = []
    if ready is not None:
        states.append("Ready" if ready.get("status") == "True" else "NotReady")
    else:
        states.append("Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    return [
        _meta(node).get("name", ""),
        ",".join(states),
        _node_roles(node),
        _age(node, now),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or UNKNOWN,
        info.get("kernelVersion") or UNKNOWN,
        info.get("containerRuntimeVersion") or UNKNOWN,
    ]


def _pod_template(obj: Obj) -> tuple[str, str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    return (
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
    )


def _selector(obj: Obj) -> str:
    selector = (obj.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression.get("key"), expression.get("operator"), expression["values"]
        if op in {"In", "NotIn"}:
            parts.append(f"{key} {op.lower()} ({','.join(values or [])})")
        elif op == "Exists":
            parts.append(str(key))
        else:
            parts.append(f"!{key}")
    return ",".join(parts) or NONE


def _deployment_cells(obj: Obj, now: float) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers, images = _pod_template(obj)
    return [
        _meta(obj).get("name", ""),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        _age(obj, now),
        containers,
        images,
        _selector(obj),
    ]


def _replicaset_cells(obj: Obj, now: float) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers, images = _pod_template(obj)
    return [
        _meta(obj).get("name", ""),
        int(spec.get("replicas", 1)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        _age(obj, now),
        containers,
        images,
        _selector(obj),
    ]


def _daemonset_cells(obj: Obj, now: float) -> Cells:
    status = obj.get("status") or {}
    template_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    node_selector = ",".join(
        f"{k}={v}" for k, v in sorted((template_spec.get("nodeSelector") or {}).items())
    )
    containers, images = _pod_template(obj)
    return [
        _meta(obj).get("name", ""),
        int(status.get("desiredNumberScheduled", 0)),
        int(status.get("currentNumberScheduled", 0)),
        int(status.get("numberReady", 0)),
        int(status.get("updatedNumberScheduled", 0)),
        int(status.get("numberAvailable", 0)),
        node_selector or NONE,
        _age(obj, now),
        containers,
        images,
        _selector(obj),
    ]


def _namespace_cells(obj: Obj, now: float) -> Cells:
    phase = (obj.get("status") or {}).get("phase", "")
    return [_meta(obj).get("name", ""), phase, _age(obj, now)]


def _event_cells(obj: Obj, now: float) -> Cells:
    first = obj.get("firstTimestamp") or obj.get("eventTime") or _meta(obj).get("creationTimestamp")
    series = obj.get("series") or {}
    last = series.get("lastObservedTime") or obj.get("lastTimestamp") or first
    involved = obj.get("involvedObject") or {}
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    sub = involved.get("fieldPath") or ""
    return [
        _since(last, now),
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        sub,
        f"{component}, {host}" if host else component,
        str(obj.get("message", "")).strip(),
        _since(first, now),
        int(series.get("count") or obj.get("count") or 1),
        _meta(obj).get("name", ""),
    ]


def _pdb_cells(obj: Obj, now: float) -> Cells:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    least, most = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [
        _meta(obj).get("name", ""),
        "N/A" if least is None else str(least),
        "N/A" if most is None else str(most),
        int(status.get("disruptionsAllowed", 0)),
        _age(obj, now),
    ]


def _service_cells(obj: Obj, now: float) -> Cells:
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    ports = ",".join(
        f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort")
        else f"{p.get('port')}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    )
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress)
    if not external:
        external = ",".join(spec.get("externalIPs") or []) or (
            "<pending>" if kind == "LoadBalancer" else NONE
        )
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [
        _meta(obj).get("name", ""),
        kind,
        spec.get("clusterIP") or NONE,
        external,
        ports or NONE,
        _age(obj, now),
        selector or NONE,
    ]


def _generic_cells(obj: Obj, now: float) -> Cells:
    return [_meta(obj).get("name", ""), _age(obj, now)]


Printer = Callable[[Obj, float], Cells]
_CONTAINERS = Column("Containers", priority=1, description="Names of each container.")
_IMAGES = Column("Images", priority=1, description="Images referenced by each container.")
_SELECTOR = Column("Selector", priority=1, description="The label selector of the pods.")

PRINTERS: dict[str, tuple[tuple[Column, ...], Printer]] = {
    "pods": (
        (
            NAME,
            Column("Ready", description="The aggregate readiness state of this pod."),
            Column("Status", description="The aggregate status of the containers in this pod."),
            Column("Restarts", description="The number of times the containers restarted."),
            AGE,
            Column("IP", priority=1, description="IP address allocated to the pod."),
            Column("Node", priority=1, description="Name of the Node this pod is assigned to."),
            Column("Nominated Node", priority=1, description="Node the pod is nominated to."),
            Column("Readiness Gates", priority=1, description="Pod readiness gates."),
        ),
        _pod_cells,
    ),
    "nodes": (
        (
            NAME,
            Column("Status", description="The status of the node"),
            Column("Roles", description="The roles of the node"),
            AGE,
            Column("Version", description="Kubelet Version reported by the node."),
            Column("Internal-IP", priority=1, description="List of internal IPs for the node."),
            Column("External-IP", priority=1, description="List of external IPs for the node."),
            Column("OS-Image", priority=1, description="OS image reported by the node."),
            Column("Kernel-Version", priority=1, description="Kernel version of the node."),
            Column("Container-Runtime", priority=1, description="Container runtime version."),
        ),
        _node_cells,
    ),
    "deployments.apps": (
        (
            NAME,
            Column("Ready", description="Number of the pod with ready state"),
            Column("Up-to-date", "integer", "Total number of updated replicas."),
            Column("Available", "integer", "Total number of available replicas."),
            AGE,
            _CONTAINERS,
            _IMAGES,
            _SELECTOR,
        ),
        _deployment_cells,
    ),
    "replicasets.apps": (
        (
            NAME,
            Column("Desired", "integer", "Number of desired pods."),
            Column("Current", "integer", "Number of actual replicas."),
            Column("Ready", "integer", "The number of ready replicas."),
            AGE,
            _CONTAINERS,
            _IMAGES,
            _SELECTOR,
        ),
        _replicaset_cells,
    ),
    "daemonsets.apps": (
        (
            NAME,
            Column("Desired", "integer", "The number of nodes that should run the pod."),
            Column("Current", "integer", "The number of nodes running the pod."),
            Column("Ready", "integer", "The number of nodes with a ready pod."),
            Column("Up-to-date", "integer", "The number of nodes with the updated pod."),
            Column("Available", "integer", "The number of nodes with an available pod."),
            Column("Node Selector", description="Which nodes should run the pod."),
            AGE,
            _CONTAINERS,
            _IMAGES,
            _SELECTOR,
        ),
        _daemonset_cells,
    ),
    "namespaces": (
        (NAME, Column("Status", description="The status of the namespace"), AGE),
        _namespace_cells,
    ),
    "events": (
        (
            Column("Last Seen", description="Time when this event was last observed."),
            Column("Type", description="Type of this event (Normal, Warning)."),
            Column("Reason", description="Why the action was taken."),
            Column("Object", description="The object this event is about."),
            Column("Subobject", priority=1, description="The field path of the object."),
            Column("Source", priority=1, description="The component reporting this event."),
            Column("Message", description="A description of the status of this operation."),
            Column("First Seen", priority=1, description="Time when this event was first seen."),
            Column("Count", "integer", "The number of times this event has occurred.", 1),
            Column("Name", priority=1, format="name", description=_NAME_DOC),
        ),
        _event_cells,
    ),
    "poddisruptionbudgets.policy": (
        (
            NAME,
            Column("Min Available", description="The minimum number of available pods."),
            Column("Max Unavailable", description="The maximum number of unavailable pods."),
            Column("Allowed Disruptions", "integer", "Number of pod disruptions allowed."),
            AGE,
        ),
        _pdb_cells,
    ),
    "services": (
        (
            NAME,
            Column("Type", description="The type of the service."),
            Column("Cluster-IP", description="The internal IP of the service."),
            Column("External-IP", description="The external IPs of the service."),
            Column("Port(s)", description="The ports the service exposes."),
            AGE,
            Column("Selector", priority=1, description="The label selector of the service."),
        ),
        _service_cells,
    ),
}
_COMPLETED = {
    "Succeeded": "The pod has completed successfully.",
    "Failed": "The pod failed.",
}
GENERIC: tuple[tuple[Column, ...], Printer] = ((NAME, AGE), _generic_cells)


def _row_object(obj: Obj, include: str, version: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"{META_GROUP}/{version}",
        "metadata": _meta(obj),
    }


def build_table(
    resource: str,
    objects: list[Obj],
    *,
    now: float,
    list_metadata: Obj | None = None,
    include_object: str | None = None,
    version: str = "v1",
) -> Obj:
    """A ``meta.k8s.io/<version>`` Table of ``objects`` (stored as ``resource``, e.g. "pods").

    ``include_object`` is the request's ``includeObject``: ``Metadata`` (the default) puts a
    PartialObjectMetadata in each row, ``Object`` the whole object, ``None`` nothing.
    """
    include = include_object or "Metadata"
    if include not in INCLUDE_OBJECT:
        raise BadRequest(
            f'includeObject: Unsupported value: "{include}": supported values: '
            + ", ".join(f'"{v}"' for v in INCLUDE_OBJECT)
        )
    columns, printer = PRINTERS.get(resource, GENERIC)
    rows = []
    for obj in objects:
        row: Obj = {"cells": printer(obj, now), "object": _row_object(obj, include, version)}
        phase = (obj.get("status") or {}).get("phase") if resource == "pods" else None
        if phase in {"Succeeded", "Failed"}:
            row["conditions"] = [
                {
                    "type": "Completed",
                    "status": "True",
                    "reason": phase,
                    "message": _COMPLETED[phase],
                }
            ]
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": f"{META_GROUP}/{version}",
        "metadata": dict(list_metadata or {}),
        "columnDefinitions": [c.definition() for c in columns],
        "rows": rows,
    }
