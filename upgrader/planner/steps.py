"""The plan's steps in DESIGN order, with their gates, params and predictions.

control plane -> kube-proxy -> CoreDNS -> VPC CNI (one minor per step) -> per node
group: stack update, then capacity-aware roll -> verify. Each step is its record of
:mod:`upgrader.model.steps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from upgrader.capacity.waves import RollPlan
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.gates import MANAGED, GroupRoll, subnet_label
from upgrader.model.node_bootstrap import NODE_CONFIG_PARAMETERS, moves_to_al2023
from upgrader.model.records import JsonObject
from upgrader.model.state import ClusterState
from upgrader.model.steps import (
    AddonStep,
    CniStep,
    ControlPlaneStep,
    NodegroupRollStep,
    NodegroupStackStep,
    StepKind,
    SubnetPrediction,
    SubnetWave,
    VerifyStep,
)
from upgrader.planner import al2023, managed_al2023
from upgrader.planner.groups import NodeGroup
from upgrader.planner.parameters import (
    check_allowed_values,
    image_change,
    update_policy,
    version_parameter,
)
from upgrader.planner.rollback import rollback_parameter
from upgrader.planner.template_change import template_change
from upgrader.planner.templates import adopt, read
from upgrader.planner.versions import ABSENT, AWS_NODE, COREDNS, KUBE_PROXY, SYSTEM, VersionPlan

CONTROL_PLANE_MINUTES = (24, 60)  # eksctl#2096 (about 24 min), eksctl#3310 (about 60 min)

GATES_CONTROL_PLANE = ("STK001", "CAP002", "VER001", "API001", "INS001")
GATES_ADDON = ("VER001", "API001", "POD001")
GATES_CNI = ("VER002", "API001", "POD001", "CAP006")
GATES_NODEGROUP_STACK = ("STK001", "VER001")
GATES_ROLL = ("CAP001", "CAP003", "CAP004", "CAP005", "CAP006", "PDB001", "POD001")
GATES_VERIFY = ("POD001", "CAP005")


def cni_manifest_key(tag: str) -> str:
    """The ``manifests`` key of the compiled aws-node manifest for CNI ``tag``."""
    return f"{AWS_NODE}@{tag}"


def control_plane_step(
    state: ClusterState, config: Config, versions: VersionPlan
) -> ControlPlaneStep:
    """Update the cluster stack's version parameter through a change set."""
    stack = state.stack(config.control_plane_stack)
    parameter = version_parameter(stack, versions.from_.kubernetes) if stack else None
    src, dst = versions.from_.kubernetes, versions.to.kubernetes
    rollback = rollback_parameter(stack) if stack else None
    if stack is not None and parameter is not None:
        check_allowed_values(stack, {parameter: dst})
    return ControlPlaneStep(
        id="control-plane",
        description=(
            f"Upgrade the control plane {src} -> {dst}: change set on stack "
            f"{config.control_plane_stack} setting {parameter or 'its version parameter'}, "
            "then wait for the cluster to be ACTIVE."
        ),
        gates=GATES_CONTROL_PLANE,
        stack=config.control_plane_stack,
        parameter=parameter,
        from_=src,
        to=dst,
        rollback_parameter=rollback,
        rollback_timeout_minutes=config.rollback_timeout_minutes if rollback else None,
        minutes=CONTROL_PLANE_MINUTES,
    )


def _manifest(compiled: Any) -> tuple[JsonObject, ...] | None:
    """A compiled manifest as the objects it holds (the jsonnet adapter returns a list)."""
    if compiled is None:
        return None
    if isinstance(compiled, Mapping):
        return (dict(compiled),)
    return tuple(dict(obj) for obj in compiled)


def _addon_step(
    step_id: str,
    kind: StepKind,
    resource: str,
    name: str,
    src: str,
    dst: str,
    manifest: Any,
    nodes: int,
    why: str,
) -> AddonStep | CniStep:
    record = CniStep if kind is StepKind.CNI else AddonStep
    return record(
        id=step_id,
        kind=kind,
        description=f"Update {resource} {SYSTEM}/{name} {src} -> {dst}. {why}",
        gates=GATES_CNI if kind is StepKind.CNI else GATES_ADDON,
        namespace=SYSTEM,
        name=name,
        resource=resource,
        from_=src,
        to=dst,
        manifest=_manifest(manifest),
        nodes=nodes,
    )


def addon_steps(
    state: ClusterState, versions: VersionPlan, manifests: Mapping[str, Any]
) -> list[AddonStep | CniStep]:
    """kube-proxy, CoreDNS, then the VPC CNI one minor per step (user env kept)."""
    nodes = len(state.nodes)
    f, t = versions.from_, versions.to
    out = []
    if f.kube_proxy not in (ABSENT, t.kube_proxy):
        out.append(
            _addon_step(
                "kube-proxy",
                StepKind.KUBE_PROXY,
                "daemonset",
                KUBE_PROXY,
                f.kube_proxy,
                t.kube_proxy,
                manifests.get(KUBE_PROXY),
                nodes,
                "Rolling update, one node at a time.",
            )
        )
    if f.coredns not in (ABSENT, t.coredns):
        out.append(
            _addon_step(
                "coredns",
                StepKind.COREDNS,
                "deployment",
                COREDNS,
                f.coredns,
                t.coredns,
                manifests.get(COREDNS),
                nodes,
                "Rolling update of the Deployment.",
            )
        )
    previous = f.cni
    for release in versions.cni_steps:
        out.append(
            _addon_step(
                f"cni-{release.tag}",
                StepKind.CNI,
                "daemonset",
                AWS_NODE,
                previous,
                release.tag,
                manifests.get(cni_manifest_key(release.tag)),
                nodes,
                "Whole manifest, the user's env kept; after each node's aws-node restarts, "
                "no pod of that node may stay ContainerCreating.",
            )
        )
        previous = release.tag
    return out


def _name(state: ClusterState, subnet_id: str) -> str:
    subnet = state.subnet(subnet_id)
    return subnet.name if subnet else subnet_id


def _roll_prediction(state: ClusterState, roll: RollPlan) -> tuple[SubnetPrediction, ...]:
    """Each subnet across the roll (and the subnet that stops an AZ, with the wave of one),
    with its free addresses at each wave's peak and after it."""
    per: dict[str, SubnetPrediction] = {}

    def first(subnet_id: str, az: str, free: int, reserve: int) -> SubnetPrediction:
        return per.get(subnet_id) or SubnetPrediction(
            subnet_id=subnet_id,
            name=_name(state, subnet_id),
            az=az,
            free_before=free,
            peak_demand=0,
            released=0,
            free_after=free,
            min_free=free,
            reserve=reserve,
        )

    for wave in roll.waves:
        for b in wave.budgets:
            row = first(b.subnet_id, b.az, b.free_before, b.reserve)
            per[b.subnet_id] = replace(
                row,
                peak_demand=max(row.peak_demand, b.peak_demand),
                released=row.released + b.released,
                free_after=b.free_after,
                min_free=min(row.min_free, b.free_at_peak),
            )
    for blocker in roll.blockers:
        row = first(blocker.subnet_id, blocker.az, blocker.free_ips, blocker.reserve)
        per[blocker.subnet_id] = replace(
            row,
            peak_demand=max(row.peak_demand, blocker.demand),
            min_free=min(row.min_free, blocker.free_ips - blocker.demand),
        )
    free = {s: row.free_before for s, row in per.items()}
    series: dict[str, list[SubnetWave]] = {s: [] for s in per}
    for wave in roll.waves:  # a wave's budgets name only the subnets it touches
        touched = {b.subnet_id: b for b in wave.budgets}
        for s in per:
            hit = touched.get(s)
            peak, free[s] = (
                (free[s], free[s]) if hit is None else (hit.free_at_peak, hit.free_after)
            )
            series[s].append(SubnetWave(free_at_peak=peak, free_after=free[s]))
    return tuple(
        replace(per[s], waves=tuple(series[s])) for s in sorted(per, key=lambda s: (per[s].az, s))
    )


def _changes(state: ClusterState, group: NodeGroup, dst: str) -> tuple[dict[str, str], str]:
    """The parameter changes of the group's stack update, and what its image becomes."""
    stack = group.stack
    if group.kind != MANAGED:
        return image_change(stack, dst, state.ami_parameters)
    key = version_parameter(stack, group.managed.version if group.managed else "")
    if key is None:
        raise BadInputError(
            f"stack {stack.name}",
            "takes its node group version from no parameter",
            "make the AWS::EKS::Nodegroup Version a parameter (Ref) of the template",
        )
    return {key: dst}, dst


def nodegroup_stack_step(
    state: ClusterState, group: NodeGroup, dst: str, template: str | None
) -> tuple[NodegroupStackStep, str]:
    """The group's stack update, and what its image becomes. ``template`` is the rendered
    new template of a stack on a launch configuration or moving from Amazon Linux 2 to
    AL2023 (required for those)."""
    stack = group.stack
    adoption = read(stack)
    changes, image_to = _changes(state, group, dst)
    move = group.moving
    migrating = group.kind != MANAGED and bool(adoption.on_launch_configuration)
    to_al2023 = group.kind != MANAGED and moves_to_al2023(stack, dst)
    new_template = migrating or to_al2023 or move is not None
    if new_template and template is None:
        raise ValueError(f"no migrated template was rendered for stack {stack.name}")
    if group.move is None or move is not None:  # else AMI001 blocks the plan
        check_allowed_values(stack, changes, template if new_template else None)
    change, policy = None, update_policy(adoption, stack.parameters, group.kind == MANAGED)
    if move is not None and template is not None:
        change = template_change(stack, adoption, template, managed_al2023.reason(move, dst))
    elif new_template and template is not None:
        policy = update_policy(adopt(template), stack.parameters, False)
        moved = al2023.reason(stack, dst, image_to) if to_al2023 else None
        change = template_change(stack, adoption, template, moved)
        if to_al2023:
            changes = {**changes, **al2023.node_config_parameters(state, stack)}
    migration = ", migrating its launch configuration to a launch template" if migrating else ""
    hidden, nodeadm, launched = frozenset(NODE_CONFIG_PARAMETERS), "", ""
    if to_al2023:
        migration += ", moving it to Amazon Linux 2023 (nodeadm NodeConfig user data)"
        nodeadm = f"; {', '.join(NODE_CONFIG_PARAMETERS)} for the NodeConfig"
    if move is not None:
        migration += (
            f", adding its Amazon Linux 2023 successor {move.successor} "
            f"({move.successor_ami_type}) beside it"
        )
        launched = f" EKS launches the successor's {len(group.nodes)} node(s) at once."
    step = NodegroupStackStep(
        id=f"nodegroup-stack-{group.name}",
        description=(
            f"Update stack {stack.name} of node group {group.name} "
            f"({', '.join(f'{k}={v}' for k, v in sorted(changes.items()) if k not in hidden)}"
            f"{nodeadm}) through a change "
            f"set{migration}; running nodes are replaced by the next step, drained first."
            + launched
        ),
        gates=GATES_NODEGROUP_STACK,
        stack=stack.name,
        nodegroup=group.name,
        parameters=tuple(sorted(changes.items())),
        update_policy=policy,
        template=change,
    )
    return step, image_to


def nodegroup_steps(
    state: ClusterState,
    versions: VersionPlan,
    group: NodeGroup,
    roll: GroupRoll,
    template: str | None = None,
) -> tuple[NodegroupStackStep, NodegroupRollStep, str]:
    """The group's stack update and roll, and what its image becomes (``template``: see
    :func:`nodegroup_stack_step`)."""
    dst = versions.to.kubernetes
    stack = group.stack
    move = group.moving
    stack_step, image_to = nodegroup_stack_step(state, group, dst, template)
    by_node = {n.name: n.instance_id for n in state.nodes}
    wave_ids = [
        tuple(sorted(by_node[n] for step in wave.steps for n in step.drained if n in by_node))
        for wave in roll.roll.waves
    ]
    blocked = ", ".join(
        f"{b.az} ({subnet_label(state.subnet(b.subnet_id), b.subnet_id)})"
        for b in roll.roll.blockers
    )
    if move is not None:
        how = (
            f"Move the {len(roll.nodes)} {group.instance_type.name} node(s) of {group.name} "
            f"to its successor {move.successor}: wait until the successor's nodes are Ready "
            f"at {dst}, cordon every node of {group.name}, then drain them one by one "
            "through the Eviction API (PodDisruptionBudgets respected); the next step "
            "deletes the drained group."
        )
    else:
        how = (
            f"Replace the {len(roll.nodes)} {group.instance_type.name} node(s) of {group.name} "
            f"in {len(wave_ids)} wave(s): surge new nodes, wait Ready, cordon and drain the "
            "old ones through the Eviction API, terminate them."
        )
    roll_step = NodegroupRollStep(
        id=f"nodegroup-roll-{group.name}",
        description=how + (f" Blocked in {blocked} (CAP001)." if blocked else ""),
        gates=GATES_ROLL,
        nodegroup=group.name,
        stack=stack.name,
        asg=roll.asg,
        group_kind=group.kind,
        instance_type=group.instance_type.name,
        waves=tuple(wave_ids),
        surge=max((len(w) for w in wave_ids), default=0),
        successor=move.successor if move is not None else None,
        predicted_waves=len(roll.roll.waves),
        lower_bound=roll.roll.lower_bound_waves,
        subnets=_roll_prediction(state, roll.roll),
    )
    return stack_step, roll_step, image_to


def verify_step() -> VerifyStep:
    """Every node at the target, aws-node at the target, nothing stuck, leaks reported."""
    return VerifyStep(
        id="verify",
        description=(
            "Verify: every node's kubelet at the target minor, aws-node at the target CNI, "
            "no pod stuck in ContainerCreating, leaked ENIs reported."
        ),
        gates=GATES_VERIFY,
    )
