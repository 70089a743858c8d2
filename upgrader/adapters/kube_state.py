"""The Kubernetes side of discovery: one list per resource, mapped to model records."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from upgrader.adapters.kube import Json, KubeReader
from upgrader.model.aws import Pairs
from upgrader.model.kube import Container, DaemonSet, LiveObject, Node, Pdb, Pod, Workload
from upgrader.model.unowned import NodeClass, NodePool

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
# Preferred first: the group versions each kind may be served at, newest to oldest.
DAEMONSET_VERSIONS = ("apps/v1", "apps/v1beta2", "extensions/v1beta1")
DEPLOYMENT_VERSIONS = ("apps/v1", "apps/v1beta2", "apps/v1beta1", "extensions/v1beta1")
STATEFULSET_VERSIONS = ("apps/v1", "apps/v1beta2", "apps/v1beta1")
PDB_VERSIONS = ("policy/v1", "policy/v1beta1")
INGRESS_VERSIONS = ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1")
NODEPOOL_VERSIONS = ("karpenter.sh/v1", "karpenter.sh/v1beta1")  # listed only where served
NODECLASS_VERSIONS = ("karpenter.k8s.aws/v1", "karpenter.k8s.aws/v1beta1")


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeState:
    server_version: str
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    daemonsets: tuple[DaemonSet, ...]
    workloads: tuple[Workload, ...]
    pdbs: tuple[Pdb, ...]
    live_objects: tuple[LiveObject, ...]
    nodepools: tuple[NodePool, ...] = ()
    nodeclasses: tuple[NodeClass, ...] = ()


def read(reader: KubeReader) -> KubeState:
    """One list per resource type (paged), whatever the number of nodes and pods."""
    version = reader.get("/version")
    served = reader.served_versions()
    events = reader.list_all("/api/v1/events", (("fieldSelector", "type=Warning"),))
    warnings = newest_warnings(events)
    daemonsets = _list_preferred(reader, served, DAEMONSET_VERSIONS, "daemonsets")
    deployments = _list_preferred(reader, served, DEPLOYMENT_VERSIONS, "deployments")
    statefulsets = _list_preferred(reader, served, STATEFULSET_VERSIONS, "statefulsets")
    ingresses = _list_preferred(reader, served, INGRESS_VERSIONS, "ingresses")
    pdbs = _list_preferred(reader, served, PDB_VERSIONS, "poddisruptionbudgets")
    nodepools = _list_preferred(reader, served, NODEPOOL_VERSIONS, "nodepools")
    nodeclasses = _list_preferred(reader, served, NODECLASS_VERSIONS, "ec2nodeclasses")
    return KubeState(
        server_version=str(version.get("gitVersion", "")),
        nodes=tuple(
            sorted((node(o) for o in reader.list_all("/api/v1/nodes")), key=lambda n: n.name)
        ),
        pods=tuple(
            sorted(
                (pod(o, warnings) for o in reader.list_all("/api/v1/pods")),
                key=lambda p: (p.namespace, p.name),
            )
        ),
        daemonsets=tuple(daemonset(o) for o in _sorted(daemonsets)),
        workloads=tuple(
            [workload("Deployment", o) for o in _sorted(deployments)]
            + [workload("StatefulSet", o) for o in _sorted(statefulsets)]
        ),
        pdbs=tuple(pdb(o) for o in _sorted(pdbs)),
        live_objects=tuple(
            obj
            for kind, items in (
                ("DaemonSet", daemonsets),
                ("Deployment", deployments),
                ("StatefulSet", statefulsets),
                ("Ingress", ingresses),
            )
            for obj in (live_object(kind, o) for o in _sorted(items))
            if obj is not None
        ),
        nodepools=tuple(nodepool(o) for o in _sorted(nodepools)),
        nodeclasses=tuple(nodeclass(o) for o in _sorted(nodeclasses)),
    )


def _list_preferred(
    reader: KubeReader, served: frozenset[str], versions: tuple[str, ...], plural: str
) -> list[Json]:
    """All objects of ``plural`` at its newest served group version; [] when none is served."""
    for group_version in versions:
        if group_version in served:
            # A group version may be served without this resource (extensions/v1beta1).
            items = reader.list_optional(f"/apis/{group_version}/{plural}")
            if items is not None:
                return items
    return []


def _sorted(items: list[Json]) -> list[Json]:
    return sorted(items, key=lambda o: (_meta(o).get("namespace", ""), _meta(o).get("name", "")))


def _meta(obj: Json) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def _pairs(mapping: dict[str, Any] | None) -> Pairs:
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


def _quantity(value: Any) -> Decimal:
    """A Kubernetes quantity (``100m``, ``128Mi``, ``4``) as a number; absent is 0."""
    if value in (None, ""):
        return Decimal(0)
    number: Decimal = parse_quantity(str(value))  # type: ignore[no-untyped-call]
    return number


def _millicores(value: Any) -> int:
    return math.ceil(_quantity(value) * 1000)


def _bytes(value: Any) -> int:
    return math.ceil(_quantity(value))


def _int_or_string(value: Any) -> str | None:
    return None if value is None else str(value)


def node(obj: Json) -> Node:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    labels: dict[str, str] = meta.get("labels") or {}
    provider = str(spec.get("providerID", ""))  # aws:///<az>/<instance id>
    parts = provider.removeprefix("aws://").strip("/").split("/")
    allocatable = status.get("allocatable") or {}
    info = status.get("nodeInfo") or {}
    conditions = status.get("conditions") or []
    return Node(
        name=str(meta.get("name", "")),
        instance_id=parts[-1] if provider else "",
        az=next(
            (labels[k] for k in ZONE_LABELS if k in labels), parts[0] if len(parts) > 1 else ""
        ),
        instance_type=next((labels[k] for k in TYPE_LABELS if k in labels), ""),
        kubelet_version=str(info.get("kubeletVersion", "")),
        kube_proxy_version=str(info.get("kubeProxyVersion", "")),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        unschedulable=bool(spec.get("unschedulable", False)),
        allocatable_pods=int(allocatable.get("pods", 0)),
        allocatable_cpu_m=_millicores(allocatable.get("cpu")),
        allocatable_memory=_bytes(allocatable.get("memory")),
        nodegroup=labels.get(NODEGROUP_LABEL),
        labels=_pairs(labels),
    )


def newest_warnings(events: list[Json]) -> dict[tuple[str, str], str]:
    """(namespace, pod name) -> message of its newest Warning event."""
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    for event in events:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") != "Pod":
            continue
        key = (str(involved.get("namespace", "")), str(involved.get("name", "")))
        when = str(
            event.get("lastTimestamp")
            or event.get("eventTime")
            or _meta(event).get("creationTimestamp")
            or ""
        )
        if key not in newest or when >= newest[key][0]:
            newest[key] = (when, str(event.get("message", "")))
    return {key: message for key, (_, message) in newest.items()}


def pod(obj: Json, warnings: dict[tuple[str, str], str]) -> Pod:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    owners = meta.get("ownerReferences") or []
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else {})
    requests = [
        (c.get("resources") or {}).get("requests") or {} for c in spec.get("containers") or []
    ]
    statuses = status.get("containerStatuses") or []
    waiting = ((statuses[0].get("state") or {}).get("waiting") or {}) if statuses else {}
    key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
    reason = waiting.get("reason")
    stuck = status.get("phase") == "Pending" and reason == "ContainerCreating"
    return Pod(
        namespace=key[0],
        name=key[1],
        node=spec.get("nodeName"),
        phase=str(status.get("phase", "")),
        host_network=bool(spec.get("hostNetwork", False)),
        ip=status.get("podIP"),
        owner_kind=owner.get("kind"),
        owner_name=owner.get("name"),
        cpu_m=sum(_millicores(r.get("cpu")) for r in requests),
        memory=sum(_bytes(r.get("memory")) for r in requests),
        waiting_reason=None if reason is None else str(reason),
        created=str(meta.get("creationTimestamp", "")),
        terminating=meta.get("deletionTimestamp") is not None,
        labels=_pairs(meta.get("labels")),
        last_event=warnings.get(key) if stuck else None,
    )


def _containers(pod_spec: Json) -> tuple[Container, ...]:
    return tuple(
        Container(
            name=str(c.get("name", "")),
            image=str(c.get("image", "")),
            env=tuple(
                sorted(
                    (str(e["name"]), str(e["value"]))
                    for e in c.get("env") or []
                    if "name" in e and "value" in e
                )
            ),
        )
        for c in pod_spec.get("containers") or []
    )


def daemonset(obj: Json) -> DaemonSet:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    return DaemonSet(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        api_version=str(obj.get("apiVersion", "")),
        containers=_containers((spec.get("template") or {}).get("spec") or {}),
        update_strategy=str(strategy.get("type", "RollingUpdate")),
        max_unavailable=_int_or_string((strategy.get("rollingUpdate") or {}).get("maxUnavailable")),
        desired=int(status.get("desiredNumberScheduled", 0)),
        ready=int(status.get("numberReady", 0)),
        updated=int(status.get("updatedNumberScheduled", 0)),
    )


def workload(kind: str, obj: Json) -> Workload:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    replicas = spec.get("replicas")
    return Workload(
        kind=kind,
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        api_version=str(obj.get("apiVersion", "")),
        replicas=1 if replicas is None else int(replicas),
        ready=int(status.get("readyReplicas", 0)),
        containers=_containers((spec.get("template") or {}).get("spec") or {}),
        selector=_pairs((spec.get("selector") or {}).get("matchLabels")),
    )


def pdb(obj: Json) -> Pdb:
    meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    return Pdb(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        api_version=str(obj.get("apiVersion", "")),
        min_available=_int_or_string(spec.get("minAvailable")),
        max_unavailable=_int_or_string(spec.get("maxUnavailable")),
        selector=_pairs((spec.get("selector") or {}).get("matchLabels")),
        expected_pods=int(status.get("expectedPods", 0)),
        current_healthy=int(status.get("currentHealthy", 0)),
        desired_healthy=int(status.get("desiredHealthy", 0)),
        disruptions_allowed=int(status.get("disruptionsAllowed", 0)),
    )


def live_object(kind: str, obj: Json) -> LiveObject | None:
    """The object as last applied (kubectl's annotation), or None when never applied."""
    meta = _meta(obj)
    text = (meta.get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        applied = json.loads(text)
    except ValueError:
        return None
    if not isinstance(applied, dict) or not applied.get("apiVersion"):
        return None
    return LiveObject(
        api_version=str(applied["apiVersion"]),
        kind=str(applied.get("kind") or kind),
        namespace=meta.get("namespace"),
        name=str(meta.get("name", "")),
    )


def _budget(raw: Json) -> str:
    """``10%``, or ``0 (0 9 * * mon-fri, 8h; Drifted)`` with its schedule and reasons."""
    extra = [str(raw[k]) for k in ("schedule", "duration") if raw.get(k)]
    if raw.get("reasons"):
        extra.append(", ".join(str(r) for r in raw["reasons"]))
    nodes = str(raw.get("nodes", "10%"))  # Karpenter's default budget
    return f"{nodes} ({'; '.join(extra)})" if extra else nodes


def nodepool(obj: Json) -> NodePool:
    """A Karpenter NodePool (v1: ``nodeClassRef`` {group, kind, name}; v1beta1: {apiVersion,
    kind, name}; both keep budgets under ``spec.disruption``)."""
    spec = obj.get("spec") or {}
    template = (spec.get("template") or {}).get("spec") or {}
    budgets = (spec.get("disruption") or {}).get("budgets") or []
    return NodePool(
        name=str(_meta(obj).get("name", "")),
        api_version=str(obj.get("apiVersion", "")),
        node_class=str((template.get("nodeClassRef") or {}).get("name", "")),
        budgets=tuple(_budget(b) for b in budgets if isinstance(b, dict)),
    )


def _selector_term(term: Json) -> str:
    """One ``amiSelectorTerms`` entry as ``key=value`` pairs (``alias=al2023@latest``)."""
    parts = []
    for key, value in sorted(term.items()):
        shown = (
            ",".join(f"{k}={v}" for k, v in sorted(value.items()))
            if isinstance(value, dict)
            else value
        )
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def nodeclass(obj: Json) -> NodeClass:
    spec = obj.get("spec") or {}
    return NodeClass(
        name=str(_meta(obj).get("name", "")),
        api_version=str(obj.get("apiVersion", "")),
        ami_family=str(spec.get("amiFamily") or ""),
        ami_selectors=tuple(
            _selector_term(t) for t in spec.get("amiSelectorTerms") or [] if isinstance(t, dict)
        ),
    )
