"""Read-only snapshots of twin state for in-process callers, and the hook lists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class InstanceView:
    """One EC2 instance as the world builder and controllers see it."""

    instance_id: str
    state: str
    instance_type: str
    image_id: str
    subnet_id: str
    az: str
    private_ip: str
    private_dns_name: str
    launch_time: float
    tags: dict[str, str]
    asg_name: str | None
    user_data: str = ""  # decoded


@dataclass(frozen=True, slots=True)
class EniView:
    """One network interface attached to an instance."""

    eni_id: str
    subnet_id: str
    device_index: int
    primary_ip: str
    secondary_ips: tuple[str, ...]
    description: str
    status: str


ClusterVersionHook = Callable[[str, str], None]
NodegroupUpdateHook = Callable[[str, str, str], None]
AddonAppliedHook = Callable[[str, str, str, str | None], None]


@dataclass(slots=True)
class TwinHooks:
    """Callbacks fired after the twin changes state (never while it holds its lock).

    ``cluster_version_changed(cluster, version)`` when a control-plane update completes;
    ``nodegroup_updated(cluster, nodegroup, image_id)`` when a managed nodegroup starts
    rolling to a new AMI (the Kubernetes side drains and replaces the nodes);
    ``addon_applied(cluster, addon, version, configuration_values)`` when a managed add-on's
    create or update completes (the Kubernetes side points its DaemonSet or Deployment at
    the version's image).
    """

    cluster_version_changed: list[ClusterVersionHook] = field(default_factory=list)
    nodegroup_updated: list[NodegroupUpdateHook] = field(default_factory=list)
    addon_applied: list[AddonAppliedHook] = field(default_factory=list)
