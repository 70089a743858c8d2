"""A managed node group on Amazon Linux 2 that must move to AL2023, and how.

EKS publishes no AL2 AMI from Kubernetes 1.33, and a managed node group's ``AmiType``
(like its ``NodegroupName``) cannot change in place: CloudFormation would replace the
resource, and refuses to for a named group. So the group moves blue/green inside its own
stack: a second ``AWS::EKS::Nodegroup`` (the successor, ``<name>-al2023``) joins the
template at the new minor, the old group's nodes are drained into it, and a second stack
update removes the old group. Pure: read from discovery and the stack's template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from upgrader.catalog.versions import catalog
from upgrader.model.aws import ManagedNodegroup, Stack
from upgrader.model.cfn_yaml import dump_template, load_template
from upgrader.model.node_bootstrap import AL2

NODEGROUP_TYPE = "AWS::EKS::Nodegroup"
# EKS AmiType of Amazon Linux 2 -> its Amazon Linux 2023 counterpart
AL2023_AMI_TYPES = {
    "AL2_x86_64": "AL2023_x86_64_STANDARD",
    "AL2_ARM_64": "AL2023_ARM_64_STANDARD",
    "AL2_x86_64_GPU": "AL2023_x86_64_NVIDIA",
}
DEFAULT_AMI_TYPE = "AL2_x86_64"  # what a group created without AmiType runs (before 1.30)
SUCCESSOR_SUFFIX = "-al2023"
NAME_LIMIT = 63  # EKS node group names: 1-63 characters


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedMove:
    """What the move of one managed group to AL2023 changes: the old resource and group,
    the successor's logical ID, name and AmiType, and what blocks the move (gate AMI001)."""

    resource: str  # the old AWS::EKS::Nodegroup's logical ID
    nodegroup: str
    ami_type: str
    successor_resource: str
    successor: str
    successor_ami_type: str | None  # None: no AL2023 counterpart known
    launch_template: bool  # the group launches from the user's launch template

    @property
    def problem(self) -> str | None:
        """Why upgrader cannot move the group by itself, or None."""
        if self.successor_ami_type is None:
            return (
                f"its AmiType {self.ami_type} has no Amazon Linux 2023 counterpart upgrader "
                f"knows (it knows {', '.join(sorted(AL2023_AMI_TYPES))})"
            )
        if self.launch_template:
            return (
                "it launches from a launch template of yours, whose user data (bootstrap.sh "
                "arguments merged by EKS on AL2) and AMI must be ported to AL2023 (nodeadm "
                "NodeConfig) by hand"
            )
        return None


def ami_type(group: ManagedNodegroup) -> str:
    """The group's AmiType (discovery always gives one; a bare state record may not)."""
    return group.ami_type or DEFAULT_AMI_TYPE


def successor_name(name: str) -> str:
    """The AL2023 successor of node group ``name``, within EKS's name limit."""
    return name[: NAME_LIMIT - len(SUCCESSOR_SUFFIX)] + SUCCESSOR_SUFFIX


def template_resources(body: str) -> dict[str, Any]:
    """The ``Resources`` of a stack template (empty when it cannot be read)."""
    try:
        template = load_template(body)
    except yaml.YAMLError:
        return {}
    resources = template.get("Resources") if isinstance(template, Mapping) else None
    return dict(resources) if isinstance(resources, Mapping) else {}


def nodegroup_resource(stack: Stack, name: str) -> str | None:
    """The logical ID of the ``AWS::EKS::Nodegroup`` of ``stack`` that is group ``name``."""
    for res in stack.resources_of(NODEGROUP_TYPE):
        if res.physical_id == name or res.physical_id.endswith("/" + name):
            return res.logical_id
    declared = [
        k
        for k, v in template_resources(stack.template_body).items()
        if isinstance(v, Mapping) and v.get("Type") == NODEGROUP_TYPE
    ]
    return declared[0] if len(declared) == 1 else None


def managed_move(stack: Stack, group: ManagedNodegroup, minor: str) -> ManagedMove | None:
    """How ``group`` moves to AL2023 when rolled to Kubernetes ``minor``; None when it
    stays (not on Amazon Linux 2, or ``minor`` still has AL2 AMIs)."""
    running = ami_type(group)
    if not running.startswith("AL2_") or AL2 in catalog().kubernetes(minor).ami_families:
        return None
    resource = nodegroup_resource(stack, group.name) or "Nodegroup"
    taken = set(template_resources(stack.template_body))
    successor_resource = resource + "AL2023"
    while successor_resource in taken:
        successor_resource += "X"
    return ManagedMove(
        resource=resource,
        nodegroup=group.name,
        ami_type=running,
        successor_resource=successor_resource,
        successor=successor_name(group.name),
        successor_ami_type=AL2023_AMI_TYPES.get(running),
        launch_template=group.launch_template,
    )


def without_resource(body: str, logical_id: str) -> str:
    """``body`` without resource ``logical_id`` (the retired group), dumped the way every
    template upgrader writes is."""
    template = dict(load_template(body))
    resources = dict(template["Resources"])
    resources.pop(logical_id, None)
    template["Resources"] = resources
    return dump_template(template)
