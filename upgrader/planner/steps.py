"""The plan's steps in DESIGN order, with their gates, params and predictions.

control plane -> kube-proxy -> CoreDNS -> VPC CNI (one minor per step) -> per node
group: stack update, then capacity-aware roll -> verify. Shapes of ``params`` and
``predicted`` are fixed by the docstring of :mod:`upgrader.model.plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from upgrader.capacity.waves import RollPlan
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.gates import MANAGED, GroupRoll, subnet_label
from upgrader.model.plan import Json, Step
from upgrader.model.state import ClusterState
from upgrader.planner.groups import NodeGroup
from upgrader.planner.parameters import (
    check_allowed_values,
    image_change,
    update_policy,
    version_parameter,
)
from upgrader.planner.template_change import template_change
from upgrader.planner.templates import adopt, read
from upgrader.planner.versions import ABSENT, AWS_NODE, COREDNS, KUBE_PROXY, SYSTEM, VersionPlan

CONTROL_PLANE_MINUTES = [24, 60]  # eksctl#2096 (about 24 min), eksctl#3310 (about 60 min)

GATES_CONTROL_PLANE = ("STK001", "CAP002", "VER001", "API001")
GATES_ADDON = ("VER001", "API001", "POD001")
GATES_CNI = ("VER002", "API001", "POD001")
GATES_NODEGROUP_STACK = ("STK001", "VER001")
GATES_ROLL = ("CAP001", "CAP003", "CAP004", "CAP005", "PDB001", "POD001")
GATES_VERIFY = ("POD001", "CAP005")


def cni_manifest_key(tag: str) -> str:
    """The ``manifests`` key of the compiled aws-node manifest for CNI ``tag``."""
    return f"{AWS_NODE}@{tag}"


def control_plane_step(state: ClusterState, config: Config, versions: VersionPlan) -> Step:
    """Update the cluster stack's version parameter through a change set."""
    stack = state.stack(config.control_plane_stack)
    parameter = version_parameter(stack, versions.from_.kubernetes) if stack else None
    src, dst = versions.from_.kubernetes, versions.to.kubernetes
    if stack is not None and parameter is not None:
        check_allowed_values(stack, {parameter: dst})
    return Step(
        id="control-plane",
        kind="control-plane",
        description=(
            f"Upgrade the control plane {src} -> {dst}: change set on stack "
            f"{config.control_plane_stack} setting {parameter or 'its version parameter'}, "
            "then wait for the cluster to be ACTIVE."
        ),
        gates=GATES_CONTROL_PLANE,
        params={
            "stack": config.control_plane_stack,
            "parameter": parameter,
            "from": src,
            "to": dst,
            "change_set": None,
        },
        predicted={"minutes": list(CONTROL_PLANE_MINUTES)},
    )


def _addon_step(
    step_id: str,
    kind: str,
    resource: str,
    name: str,
    src: str,
    dst: str,
    manifest: Any,
    nodes: int,
    why: str,
) -> Step:
    return Step(
        id=step_id,
        kind=kind,
        description=f"Update {resource} {SYSTEM}/{name} {src} -> {dst}. {why}",
        gates=GATES_CNI if kind == "cni" else GATES_ADDON,
        params={
            "namespace": SYSTEM,
            "name": name,
            "resource": resource,
            "from": src,
            "to": dst,
            "manifest": manifest,
        },
        predicted={"nodes": nodes},
    )


def addon_steps(
    state: ClusterState, versions: VersionPlan, manifests: Mapping[str, Any]
) -> list[Step]:
    """kube-proxy, CoreDNS, then the VPC CNI one minor per step (user env kept)."""
    nodes = len(state.nodes)
    f, t = versions.from_, versions.to
    out = []
    if f.kube_proxy not in (ABSENT, t.kube_proxy):
        out.append(
            _addon_step(
                "kube-proxy",
                "kube-proxy",
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
                "coredns",
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
                "cni",
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


def _roll_prediction(state: ClusterState, roll: RollPlan) -> Json:
    per: dict[str, dict[str, Any]] = {}
    for wave in roll.waves:
        for b in wave.budgets:
            row = per.get(b.subnet_id)
            if row is None:
                row = per[b.subnet_id] = {
                    "subnet_id": b.subnet_id,
                    "name": _name(state, b.subnet_id),
                    "az": b.az,
                    "free_before": b.free_before,
                    "peak_demand": 0,
                    "released": 0,
                    "free_after": b.free_before,
                    "min_free": b.free_before,
                    "reserve": b.reserve,
                }
            row["peak_demand"] = max(row["peak_demand"], b.peak_demand)
            row["released"] += b.released
            row["free_after"] = b.free_after
            row["min_free"] = min(row["min_free"], b.free_at_peak)
    for blocker in roll.blockers:  # the subnet that stops an AZ, with the wave of one
        row = per.setdefault(
            blocker.subnet_id,
            {
                "subnet_id": blocker.subnet_id,
                "name": _name(state, blocker.subnet_id),
                "az": blocker.az,
                "free_before": blocker.free_ips,
                "peak_demand": 0,
                "released": 0,
                "free_after": blocker.free_ips,
                "min_free": blocker.free_ips,
                "reserve": blocker.reserve,
            },
        )
        row["peak_demand"] = max(row["peak_demand"], blocker.demand)
        row["min_free"] = min(row["min_free"], blocker.free_ips - blocker.demand)
    return {
        "waves": len(roll.waves),
        "lower_bound": roll.lower_bound_waves,
        "subnets": [per[s] for s in sorted(per, key=lambda s: (per[s]["az"], s))],
    }


def nodegroup_steps(
    state: ClusterState,
    versions: VersionPlan,
    group: NodeGroup,
    roll: GroupRoll,
    template: str | None = None,
) -> tuple[Step, Step, str]:
    """The group's stack update and roll, and what its image becomes. ``template`` is the
    rendered new template of a stack on a launch configuration (required for one)."""
    dst = versions.to.kubernetes
    stack = group.stack
    adoption = read(stack)
    if group.kind == MANAGED:
        key = version_parameter(stack, group.managed.version if group.managed else "")
        if key is None:
            raise BadInputError(
                f"stack {stack.name}",
                "takes its node group version from no parameter",
                "make the AWS::EKS::Nodegroup Version a parameter (Ref) of the template",
            )
        changes, image_to = {key: dst}, dst
    else:
        changes, image_to = image_change(stack, dst, state.ami_parameters)
    check_allowed_values(stack, changes)
    params: dict[str, Any] = {
        "stack": stack.name,
        "nodegroup": group.name,
        "parameters": dict(sorted(changes.items())),
        "change_set": None,
    }
    migrating = group.kind != MANAGED and bool(adoption.on_launch_configuration)
    if migrating:
        if template is None:
            raise ValueError(f"no migrated template was rendered for stack {stack.name}")
        params["update_policy"] = update_policy(adopt(template), stack.parameters, False)
        params["template"] = template_change(stack, adoption, template)
    else:
        params["update_policy"] = update_policy(adoption, stack.parameters, group.kind == MANAGED)
    migration = ", migrating its launch configuration to a launch template" if migrating else ""
    stack_step = Step(
        id=f"nodegroup-stack-{group.name}",
        kind="nodegroup-stack",
        description=(
            f"Update stack {stack.name} of node group {group.name} "
            f"({', '.join(f'{k}={v}' for k, v in sorted(changes.items()))}) through a change "
            f"set{migration}; running nodes are replaced by the next step, drained first."
        ),
        gates=GATES_NODEGROUP_STACK,
        params=params,
    )
    by_node = {n.name: n.instance_id for n in state.nodes}
    wave_ids = [
        sorted(by_node[n] for step in wave.steps for n in step.drained if n in by_node)
        for wave in roll.roll.waves
    ]
    blocked = ", ".join(
        f"{b.az} ({subnet_label(state.subnet(b.subnet_id), b.subnet_id)})"
        for b in roll.roll.blockers
    )
    roll_step = Step(
        id=f"nodegroup-roll-{group.name}",
        kind="nodegroup-roll",
        description=(
            f"Replace the {len(roll.nodes)} {group.instance_type.name} node(s) of {group.name} "
            f"in {len(wave_ids)} wave(s): surge new nodes, wait Ready, cordon and drain the "
            "old ones through the Eviction API, terminate them."
            + (f" Blocked in {blocked} (CAP001)." if blocked else "")
        ),
        gates=GATES_ROLL,
        params={
            "nodegroup": group.name,
            "stack": stack.name,
            "asg": roll.asg,
            "kind": group.kind,
            "instance_type": group.instance_type.name,
            "waves": wave_ids,
            "surge": max((len(w) for w in wave_ids), default=0),
        },
        predicted=_roll_prediction(state, roll.roll),
    )
    return stack_step, roll_step, image_to


def verify_step() -> Step:
    """Every node at the target, aws-node at the target, nothing stuck, leaks reported."""
    return Step(
        id="verify",
        kind="verify",
        description=(
            "Verify: every node's kubelet at the target minor, aws-node at the target CNI, "
            "no pod stuck in ContainerCreating, leaked ENIs reported."
        ),
        gates=GATES_VERIFY,
        params={},
    )
