"""The templates upgrader would own for a config's stacks at a target version
(``upgrader stacks render``).

A node-group stack still on a launch configuration gets exactly the template its plan's
change set carries (:func:`upgrader_stacks.migrate.migrate`). Every other stack gets the
builder template of its kind (control plane, self-managed on a launch template, managed)
with the discovered values as parameter defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Template

from upgrader.catalog.versions import catalog
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.gates import MANAGED, SELF_MANAGED
from upgrader.model.state import ClusterState
from upgrader.planner.groups import NodeGroup, discover_groups
from upgrader.planner.parameters import SSM_PREFIX
from upgrader_stacks.control_plane import control_plane_template
from upgrader_stacks.managed import managed_nodegroup_template
from upgrader_stacks.migrate import migrate, needs_migration
from upgrader_stacks.render import render_yaml
from upgrader_stacks.self_managed import self_managed_nodegroup_template
from upgrader_stacks.specs import ControlPlaneSpec, ManagedNodegroupSpec, SelfManagedNodegroupSpec

CONTROL_PLANE = "control-plane"
MIGRATION = "migration"  # the plan's change-set template
BUILDER = "builder"  # the stacks/ builder of the stack's kind
DEFAULT_VOLUME_GIB = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnedTemplate:
    """One stack's template as upgrader would own it, as CloudFormation YAML."""

    stack: str
    kind: str  # control-plane | self-managed | managed
    source: str  # migration | builder
    body: str


def _family(group: NodeGroup, kubernetes: str) -> str | None:
    """The AMI family of the group's SSM path when the target has it, else the default."""
    path = next((v for _, v in group.stack.parameters if v.startswith(SSM_PREFIX)), "")
    parts = path[len(SSM_PREFIX) :].split("/")
    family = parts[1] if len(parts) > 1 else None
    return family if family in catalog().kubernetes(kubernetes).ami_families else None


def _vpc(state: ClusterState, group: NodeGroup) -> str:
    given = group.stack.parameter("VpcId")
    if given:
        return given
    found = sorted({s.vpc_id for s in state.subnets if s.subnet_id in group.subnet_ids})
    return next((v for v in found if v), "")


def _self_managed(
    state: ClusterState, config: Config, group: NodeGroup, kubernetes: str
) -> Template:
    asg = group.asg
    if asg is None:
        raise BadInputError(
            f"stack {group.stack.name}",
            "holds no Auto Scaling group that discovery found",
            "list under stacks.nodegroups only stacks that hold a node group",
        )
    volume = group.stack.parameter("NodeVolumeSize") or ""
    spec = SelfManagedNodegroupSpec(
        cluster_name=config.cluster,
        nodegroup_name=group.name,
        kubernetes_version=kubernetes,
        vpc_id=_vpc(state, group),
        subnet_ids=group.subnet_ids,
        instance_type=group.instance_type.name,
        min_size=asg.min_size,
        desired_size=asg.desired,
        max_size=asg.max_size,
        ami_family=_family(group, kubernetes),
        volume_size_gib=int(volume) if volume.isdigit() else DEFAULT_VOLUME_GIB,
        control_plane_security_group_id=(
            group.stack.parameter("ClusterControlPlaneSecurityGroup") or None
        ),
        cluster_endpoint=state.cluster.endpoint,
    )
    template = self_managed_nodegroup_template(spec)
    arguments = group.stack.parameter("BootstrapArguments")
    if arguments and "BootstrapArguments" in template.parameters:
        template.parameters["BootstrapArguments"].Default = arguments  # the user's kubelet args
    return template


def _managed(config: Config, group: NodeGroup, kubernetes: str) -> Template:
    managed = group.managed
    assert managed is not None
    return managed_nodegroup_template(
        ManagedNodegroupSpec(
            cluster_name=config.cluster,
            nodegroup_name=managed.name,
            kubernetes_version=kubernetes,
            subnet_ids=group.subnet_ids,
            instance_type=group.instance_type.name,
            min_size=managed.min_size,
            desired_size=managed.desired,
            max_size=managed.max_size,
        )
    )


def owned_templates(
    state: ClusterState, config: Config, kubernetes: str
) -> tuple[OwnedTemplate, ...]:
    """The config's stacks in config order (control plane first), each with the template
    upgrader would own for it at Kubernetes ``kubernetes``."""
    cluster = state.cluster
    plane = control_plane_template(
        ControlPlaneSpec(
            cluster_name=cluster.name,
            kubernetes_version=kubernetes,
            subnet_ids=tuple(sorted(cluster.subnet_ids)),
            security_group_ids=tuple(sorted(cluster.security_group_ids)),
        )
    )
    out = [
        OwnedTemplate(
            stack=config.control_plane_stack,
            kind=CONTROL_PLANE,
            source=BUILDER,
            body=render_yaml(plane),
        )
    ]
    for group in discover_groups(state, config):
        if group.kind == SELF_MANAGED and needs_migration(group.stack):
            body, source = migrate(group.stack), MIGRATION
        elif group.kind == MANAGED:
            body, source = render_yaml(_managed(config, group, kubernetes)), BUILDER
        else:
            template = _self_managed(state, config, group, kubernetes)
            body, source = render_yaml(template), BUILDER
        out.append(OwnedTemplate(stack=group.stack.name, kind=group.kind, source=source, body=body))
    return tuple(out)
