"""Typed, lenient views of ``plan.context`` (shapes: ``upgrader/model/plan.py``).

A key the planner left out renders as a placeholder instead of failing: the runbook
must still come out for review when a plan is partial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from upgrader.model.plan import Plan

UNKNOWN = "?"


def _str(raw: Mapping[str, Any], key: str, default: str = UNKNOWN) -> str:
    value = raw.get(key)
    return default if value is None else str(value)


def _int(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: int | None) -> str:
    """An optional count as table text."""
    return UNKNOWN if value is None else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetView:
    subnet_id: str
    name: str
    az: str
    cidr: str
    free: int | None
    control_plane: bool

    @property
    def label(self) -> str:
        """Name tag and ID, e.g. ``private-a (subnet-0a1b)``."""
        return f"{self.name} ({self.subnet_id})" if self.name else self.subnet_id


@dataclass(frozen=True, slots=True, kw_only=True)
class NodegroupView:
    name: str
    stack: str
    kind: str
    asg: str | None
    instance_type: str
    memory_mib: int | None
    vcpus: int | None
    max_enis: int | None
    ipv4_per_eni: int | None
    max_ips: int | None
    max_pods: int | None
    nodes: int | None
    pods: int | None
    subnet_ids: tuple[str, ...]
    image_from: str
    image_to: str

    @property
    def memory(self) -> str:
        """Memory as the seed's table writes it (``32 GiB``)."""
        return UNKNOWN if self.memory_mib is None else f"{self.memory_mib / 1024:g} GiB"

    @property
    def ips(self) -> int | None:
        """Max IPs: every address of every ENI (the seed's column)."""
        if self.max_ips is not None:
            return self.max_ips
        if self.max_enis is None or self.ipv4_per_eni is None:
            return None
        return self.max_enis * self.ipv4_per_eni


def subnets(plan: Plan) -> list[SubnetView]:
    """The cluster's subnets, by AZ then name."""
    views = [
        SubnetView(
            subnet_id=_str(raw, "subnet_id"),
            name=_str(raw, "name", ""),
            az=_str(raw, "az"),
            cidr=_str(raw, "cidr"),
            free=_int(raw, "free"),
            control_plane=bool(raw.get("control_plane", False)),
        )
        for raw in plan.context.get("subnets", [])
    ]
    return sorted(views, key=lambda s: (s.az, s.name, s.subnet_id))


def nodegroups(plan: Plan) -> list[NodegroupView]:
    """The node groups, in plan order."""
    return [
        NodegroupView(
            name=_str(raw, "name"),
            stack=_str(raw, "stack"),
            kind=_str(raw, "kind"),
            asg=None if raw.get("asg") is None else str(raw["asg"]),
            instance_type=_str(raw, "instance_type"),
            memory_mib=_int(raw, "memory_mib"),
            vcpus=_int(raw, "vcpus"),
            max_enis=_int(raw, "max_enis"),
            ipv4_per_eni=_int(raw, "ipv4_per_eni"),
            max_ips=_int(raw, "max_ips"),
            max_pods=_int(raw, "max_pods"),
            nodes=_int(raw, "nodes"),
            pods=_int(raw, "pods"),
            subnet_ids=tuple(str(s) for s in raw.get("subnet_ids", [])),
            image_from=_str(raw, "image_from"),
            image_to=_str(raw, "image_to"),
        )
        for raw in plan.context.get("nodegroups", [])
    ]


def nodegroup(plan: Plan, name: str) -> NodegroupView | None:
    """The node group called ``name``, if the context has it."""
    return next((g for g in nodegroups(plan) if g.name == name), None)


def subnet_label(plan: Plan, subnet_id: str, name: str = "") -> str:
    """``Name (subnet-id)`` for a subnet ID, from the context when the name is not given."""
    if not name:
        found = next((s for s in subnets(plan) if s.subnet_id == subnet_id), None)
        name = found.name if found else ""
    return f"{name} ({subnet_id})" if name else subnet_id


def cni_env(plan: Plan) -> dict[str, str]:
    """The user's aws-node env as planned (not yet redacted)."""
    raw = plan.context.get("cni", {}).get("env", {})
    return {str(k): str(v) for k, v in raw.items()}
