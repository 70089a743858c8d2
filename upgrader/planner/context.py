"""``plan.context``: what the runbook shows without rediscovering anything."""

from __future__ import annotations

from collections.abc import Sequence

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.config import Config
from upgrader.model.context import (
    CniContext,
    NodegroupContext,
    PlanContext,
    StackNames,
    SubnetContext,
)
from upgrader.model.state import ClusterState
from upgrader.planner.groups import NodeGroup

_FINISHED = frozenset({"Succeeded", "Failed"})


def pool_mode(cni: CniSettings) -> str:
    """WARM_ENI, WARM_IP or PREFIX: the ipamd rule that sizes the pool."""
    if cni.prefix_delegation and cni.behaviour.prefix_delegation:
        return "PREFIX"
    return "WARM_IP" if cni.ip_target_mode else "WARM_ENI"


def nodegroup_row(
    state: ClusterState, group: NodeGroup, cni: CniSettings, image_to: str
) -> NodegroupContext:
    """One row of the capacity table (the seed's columns plus max pods and counts)."""
    inst = group.instance_type
    names = {n.name for n in group.nodes}
    pods = sum(1 for p in state.pods if p.node in names and p.phase not in _FINISHED)
    if group.managed is not None:
        image_from = group.managed.release_version or group.managed.version
    else:
        image_from = ",".join(group.image_ids)
    return NodegroupContext(
        name=group.name,
        stack=group.stack.name,
        kind=group.kind,
        asg=group.asg.name if group.asg else None,
        instance_type=inst.name,
        memory_mib=inst.memory_mib,
        vcpus=inst.vcpus,
        max_enis=inst.max_enis,
        ipv4_per_eni=inst.ipv4_per_eni,
        max_ips=inst.max_enis * inst.ipv4_per_eni,
        max_pods=max_pods(inst, cni).value,
        nodes=len(group.nodes),
        pods=pods,
        subnet_ids=tuple(group.subnet_ids),
        image_from=image_from,
        image_to=image_to,
    )


def build_context(
    state: ClusterState,
    config: Config,
    cni: CniSettings,
    env: tuple[tuple[str, str], ...],
    rows: Sequence[NodegroupContext],
) -> PlanContext:
    """The plan's context; ``cni`` is the TARGET release with the user's env, the
    settings every prediction in the plan uses."""
    plane = set(state.cluster.subnet_ids)
    return PlanContext(
        stacks=StackNames(
            control_plane=config.control_plane_stack, nodegroups=tuple(config.nodegroup_stacks)
        ),
        gates=tuple(sorted(config.gates)),
        cni=CniContext(
            version=cni.version.tag,
            env=tuple(sorted(env)),
            mode=pool_mode(cni),
            notes=tuple(cni.notes()),
        ),
        subnets=tuple(
            SubnetContext(
                subnet_id=s.subnet_id,
                name=s.name,
                az=s.az,
                cidr=s.cidr,
                free=s.available_ips,
                control_plane=s.subnet_id in plane,
            )
            for s in sorted(state.subnets, key=lambda s: (s.az, s.name, s.subnet_id))
        ),
        nodegroups=tuple(rows),
    )
