"""``plan.context``: what the runbook shows without rediscovering anything."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.config import Config
from upgrader.model.addons import SELF_MANAGED_OBJECTS, image_tag
from upgrader.model.context import (
    AddonContext,
    CniContext,
    FargateProfileContext,
    FargateWorkloadContext,
    NodegroupContext,
    NodePoolContext,
    PlanContext,
    StackNames,
    SubnetContext,
    UnownedContext,
    UnownedNodesContext,
)
from upgrader.model.kube import Pod
from upgrader.model.state import ClusterState
from upgrader.model.unowned import FARGATE, KARPENTER, karpenter_pool, node_owner
from upgrader.planner.groups import NodeGroup

_FINISHED = frozenset({"Succeeded", "Failed"})
OTHER = "other"  # a node of no configured node group, neither Fargate nor Karpenter


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


def addon_rows(state: ClusterState) -> tuple[AddonContext, ...]:
    """Every EKS managed add-on, and each known add-on running self-managed (its DaemonSet
    or Deployment in kube-system without an EKS add-on), by name."""
    rows = [
        AddonContext(
            name=a.name,
            managed=True,
            version=a.version,
            status=a.status,
            configured=bool(a.configuration_values),
            stack=a.stack,
        )
        for a in state.addons
    ]
    managed = {a.name for a in state.addons}
    for name, kind, obj in SELF_MANAGED_OBJECTS:
        found = (
            state.daemonset("kube-system", obj)
            if kind == "DaemonSet"
            else state.workload(kind, "kube-system", obj)
        )
        if found is not None and name not in managed:
            rows.append(
                AddonContext(
                    name=name,
                    managed=False,
                    version=image_tag(found.containers),
                    runs_as=f"{kind} kube-system/{obj}",
                )
            )
    return tuple(sorted(rows, key=lambda r: r.name))


def _fargate_workload(state: ClusterState, pod: Pod) -> FargateWorkloadContext:
    """What to restart for a pod on Fargate: its Deployment (through the ReplicaSet),
    StatefulSet or other owner, else the pod itself."""
    kind, name = pod.owner_kind or "Pod", pod.owner_name or pod.name
    if kind == "ReplicaSet":
        deployment = max(
            (
                w.name
                for w in state.workloads
                if w.kind == "Deployment"
                and w.namespace == pod.namespace
                and name.startswith(w.name + "-")
            ),
            key=len,
            default=None,
        )
        if deployment is not None:
            kind, name = "Deployment", deployment
    return FargateWorkloadContext(kind=kind, namespace=pod.namespace, name=name)


def unowned_context(state: ClusterState, groups: Sequence[NodeGroup]) -> UnownedContext:
    """Fargate profiles, Karpenter NodePools, and the nodes of no configured node group by
    owner, pool and kubelet version; the workloads whose pods run on Fargate."""
    owned = {n.name for g in groups for n in g.nodes}
    buckets: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for node in state.nodes:
        if node.name not in owned:
            owner = node_owner(node) or OTHER
            pool = (karpenter_pool(node) or "") if owner == KARPENTER else ""
            buckets[owner, pool, node.kubelet_version].append(node.name)
    fargate = {n for (owner, _, _), names in buckets.items() if owner == FARGATE for n in names}
    classes = {c.name: c for c in state.nodeclasses}
    return UnownedContext(
        fargate_profiles=tuple(
            FargateProfileContext(
                name=f.name,
                status=f.status,
                selectors=tuple(s.shown for s in f.selectors),
                subnet_ids=f.subnet_ids,
            )
            for f in state.fargate_profiles
        ),
        fargate_workloads=tuple(
            sorted(
                {
                    _fargate_workload(state, p)
                    for p in state.pods
                    if p.node in fargate and p.phase not in _FINISHED
                },
                key=lambda w: (w.namespace, w.kind, w.name),
            )
        ),
        nodepools=tuple(
            NodePoolContext(
                name=p.name,
                api_version=p.api_version,
                node_class=p.node_class,
                ami_selectors=classes[p.node_class].ami_selectors
                if p.node_class in classes
                else (),
                follows_control_plane=classes[p.node_class].follows_control_plane
                if p.node_class in classes
                else None,
                budgets=p.budgets,
            )
            for p in state.nodepools
        ),
        nodes=tuple(
            UnownedNodesContext(owner=owner, pool=pool, kubelet=kubelet, nodes=tuple(sorted(names)))
            for (owner, pool, kubelet), names in sorted(buckets.items())
        ),
    )


def build_context(
    state: ClusterState,
    config: Config,
    cni: CniSettings,
    env: tuple[tuple[str, str], ...],
    rows: Sequence[NodegroupContext],
    groups: Sequence[NodeGroup] = (),
) -> PlanContext:
    """The plan's context; ``cni`` is the TARGET release with the user's env, the
    settings every prediction in the plan uses; ``groups`` own the nodes upgrader rolls."""
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
        insights=state.insights,
        addons=addon_rows(state),
        unowned=unowned_context(state, groups),
    )
