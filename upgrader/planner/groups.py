"""Node groups as the config's stacks define them, and their capacity-aware rolls."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from upgrader.capacity import waves
from upgrader.capacity.node import node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import InstanceType, bundled
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.gates import MANAGED, MANAGED_SURGE_PER_AZ, SELF_MANAGED, GroupRoll
from upgrader.model.aws import AutoScalingGroup, Eni, Instance, ManagedNodegroup, Stack
from upgrader.model.kube import Node
from upgrader.model.managed_ami import ManagedMove, managed_move
from upgrader.model.state import ClusterState
from upgrader.model.unowned import node_owner

ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"
NODEGROUP_TYPE = "AWS::EKS::Nodegroup"
NODEGROUP_NAME_PARAMETER = "NodeGroupName"
INSTANCE_TYPE_PARAMETER = "NodeInstanceType"
_GONE = frozenset({"terminated", "shutting-down", "stopped", "stopping"})
_FINISHED = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroup:
    """One node group of the config: its stack, ASG, instances and Kubernetes nodes."""

    name: str
    stack: Stack
    kind: str
    asg: AutoScalingGroup | None
    managed: ManagedNodegroup | None
    instance_type: InstanceType
    subnet_ids: tuple[str, ...]
    instances: tuple[Instance, ...]
    nodes: tuple[Node, ...]  # sorted by name
    # a managed group on Amazon Linux 2 rolled to a minor without AL2 AMIs: its move to
    # an AL2023 successor group (blue/green in its stack)
    move: ManagedMove | None = None

    @property
    def moving(self) -> ManagedMove | None:
        """The move to AL2023 upgrader makes (None when gate AMI001 blocks it)."""
        return self.move if self.move is not None and self.move.problem is None else None

    @property
    def image_ids(self) -> tuple[str, ...]:
        return tuple(sorted({i.image_id for i in self.instances}))

    @property
    def running_types(self) -> tuple[str, ...]:
        """The instance types of the group's running nodes and instances."""
        found = {n.instance_type for n in self.nodes} | {i.instance_type for i in self.instances}
        return tuple(sorted(found - {""}))

    @property
    def launch_types(self) -> tuple[str, ...]:
        """The types new nodes launch as: the managed group's instance types, else the
        stack's ``NodeInstanceType``; empty when neither says (a launch template's own)."""
        if self.managed is not None:
            return tuple(sorted(set(self.managed.instance_types)))
        launch = self.stack.parameter(INSTANCE_TYPE_PARAMETER)
        return (launch,) if launch else ()


def _managed(state: ClusterState, stack: Stack) -> ManagedNodegroup | None:
    for res in stack.resources_of(NODEGROUP_TYPE):
        pid = res.physical_id
        for m in sorted(state.managed_nodegroups, key=lambda m: m.name):
            if m.name == pid or pid.endswith("/" + m.name):
                return m
    return None


def _asg(state: ClusterState, names: Sequence[str]) -> AutoScalingGroup | None:
    return next((a for a in state.asgs if a.name in names), None)


def _instance_type(
    stack: Stack,
    managed: ManagedNodegroup | None,
    instances: Sequence[Instance],
    nodes: Sequence[Node],
) -> InstanceType:
    name = (
        (nodes[0].instance_type if nodes else None)
        or (instances[0].instance_type if instances else None)
        or (managed.instance_types[0] if managed and managed.instance_types else None)
        or stack.parameter(INSTANCE_TYPE_PARAMETER)
    )
    if not name:
        raise BadInputError(
            f"stack {stack.name}",
            "has no instances and names no instance type",
            f"set the {INSTANCE_TYPE_PARAMETER} parameter or scale the group to one node",
        )
    return bundled().get(name)


def discover_groups(state: ClusterState, config: Config) -> tuple[NodeGroup, ...]:
    """The node groups of ``config.nodegroup_stacks``, in config order. A stack that is
    missing is skipped (gate STK001 reports it); one with no group is bad input. Fargate and
    Karpenter nodes belong to no group: upgrader never drains or replaces them."""
    out = []
    for stack_name in config.nodegroup_stacks:
        stack = state.stack(stack_name)
        if stack is None:
            continue
        managed = _managed(state, stack)
        if managed is not None:
            kind, name = MANAGED, managed.name
            asg = _asg(state, managed.asg_names)
            subnet_ids = managed.subnet_ids
        else:
            asg_names = [r.physical_id for r in stack.resources_of(ASG_TYPE)]
            asg = _asg(state, asg_names)
            if asg is None:
                raise BadInputError(
                    f"stack {stack_name}",
                    "holds no Auto Scaling group or EKS node group that discovery found",
                    "list under stacks.nodegroups only stacks that hold a node group",
                )
            kind = SELF_MANAGED
            name = stack.parameter(NODEGROUP_NAME_PARAMETER) or stack_name
            subnet_ids = asg.subnet_ids
        ids = set(asg.instance_ids) if asg else set()
        instances = sorted(
            (i for i in state.instances if i.instance_id in ids and i.state not in _GONE),
            key=lambda i: i.instance_id,
        )
        live = {i.instance_id for i in instances}
        nodes = sorted(
            (
                n
                for n in state.nodes
                if node_owner(n) is None
                and (n.instance_id in live or (managed is not None and n.nodegroup == managed.name))
            ),
            key=lambda n: n.name,
        )
        out.append(
            NodeGroup(
                name=name,
                stack=stack,
                kind=kind,
                asg=asg,
                managed=managed,
                instance_type=_instance_type(stack, managed, instances, nodes),
                subnet_ids=tuple(sorted(subnet_ids)),
                instances=tuple(instances),
                nodes=tuple(nodes),
                move=(
                    managed_move(stack, managed, config.target_kubernetes.minor_str)
                    if managed is not None
                    else None
                ),
            )
        )
    return tuple(out)


def vpc_pods_by_node(state: ClusterState) -> dict[str, int]:
    """Per node, the pods that hold a VPC address (not host-network, not finished)."""
    out: dict[str, int] = defaultdict(int)
    for p in state.pods:
        if p.node and p.needs_vpc_ip and p.phase not in _FINISHED:
            out[p.node] += 1
    return out


@dataclass(frozen=True, slots=True)
class _Index:
    instances: dict[str, Instance]
    enis: dict[str, list[Eni]]
    vpc_pods: dict[str, int]

    @classmethod
    def of(cls, state: ClusterState) -> _Index:
        enis: dict[str, list[Eni]] = defaultdict(list)
        for eni in state.enis:
            if eni.instance_id and eni.status == "in-use":
                enis[eni.instance_id].append(eni)
        return cls(
            instances={i.instance_id: i for i in state.instances},
            enis=enis,
            vpc_pods=vpc_pods_by_node(state),
        )


def _roll_node(
    state: ClusterState, index: _Index, node: Node, inst: InstanceType, current_cni: CniSettings
) -> waves.Node | None:
    """The old node as the wave planner sees it: its subnet, pods and held addresses
    (from its ENIs; from the current CNI's rules when discovery saw none)."""
    instance = index.instances.get(node.instance_id)
    if instance is None or state.subnet(instance.subnet_id) is None:
        return None
    pods = index.vpc_pods.get(node.name, 0)
    held: dict[str, int] = defaultdict(int)
    for eni in index.enis.get(node.instance_id, ()):
        held[eni.subnet_id] += eni.addresses + 16 * eni.prefixes
    own = held.pop(instance.subnet_id, 0)
    if not own and not held:
        own = node_addresses(inst, current_cni, pods).subnet_ips
    pod_subnet = max(held, key=lambda s: (held[s], s)) if held else None
    return waves.Node(
        name=node.name,
        subnet_id=instance.subnet_id,
        pods=pods,
        subnet_ips=own,
        pod_subnet_id=pod_subnet if pod_subnet and state.subnet(pod_subnet) else None,
        pod_subnet_ips=held[pod_subnet] if pod_subnet else 0,
    )


def plan_rolls(
    state: ClusterState,
    groups: Sequence[NodeGroup],
    current_cni: CniSettings,
    target_cni: CniSettings,
    reserve: int,
) -> tuple[GroupRoll, ...]:
    """Roll the groups one after another; each starts from the free addresses the
    previous one leaves. New nodes run the target CNI with the user's env."""
    free = {s.subnet_id: s.available_ips for s in state.subnets}
    index = _Index.of(state)
    out = []
    for g in groups:
        subnets = [
            waves.Subnet(id=s.subnet_id, az=s.az, free_ips=free[s.subnet_id], name=s.name)
            for s in sorted(state.subnets, key=lambda s: s.subnet_id)
        ]
        roll_nodes = [_roll_node(state, index, n, g.instance_type, current_cni) for n in g.nodes]
        nodes = tuple(n for n in roll_nodes if n is not None)
        kubelet_max = max((n.allocatable_pods for n in g.nodes), default=None)
        if g.moving is not None:  # the successor group launches all its nodes at once
            surge: int | None = max(len(nodes), 1)
        else:
            surge = MANAGED_SURGE_PER_AZ if g.kind == MANAGED else None
        roll = waves.plan_roll(
            subnets,
            [
                waves.NodeGroupRoll(
                    name=g.name,
                    instance_type=g.instance_type,
                    cni=target_cni,
                    subnet_ids=tuple(s for s in g.subnet_ids if state.subnet(s) is not None),
                    nodes=nodes,
                    kubelet_max_pods=kubelet_max,
                    max_surge=surge,
                )
            ],
            reserve,
        )
        free.update(roll.free_after)
        out.append(
            GroupRoll(
                name=g.name,
                stack=g.stack.name,
                kind=g.kind,
                asg=g.asg.name if g.asg else None,
                instance_type=g.instance_type,
                cni=target_cni,
                subnet_ids=g.subnet_ids,
                nodes=tuple(n.name for n in nodes),
                kubelet_max_pods=kubelet_max,
                roll=roll,
                forced_surge_per_az=surge,
                successor=g.moving.successor if g.moving is not None else None,
                running_types=g.running_types,
                launch_types=g.launch_types,
            )
        )
    return tuple(out)
