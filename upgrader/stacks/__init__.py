"""CloudFormation stacks for EKS, built with troposphere, and checks on existing templates.

Besides ``upgrader.adapters`` this is the only package that imports troposphere.
``upgrader.stacks.lint`` needs cfn-lint (a dev dependency) and is not imported here.
"""

from upgrader.stacks.adopt import StackAdoption, adopt
from upgrader.stacks.control_plane import control_plane_template
from upgrader.stacks.managed import managed_nodegroup_template
from upgrader.stacks.render import render
from upgrader.stacks.self_managed import self_managed_nodegroup_template
from upgrader.stacks.specs import ControlPlaneSpec, ManagedNodegroupSpec, SelfManagedNodegroupSpec

__all__ = [
    "ControlPlaneSpec",
    "ManagedNodegroupSpec",
    "SelfManagedNodegroupSpec",
    "StackAdoption",
    "adopt",
    "control_plane_template",
    "managed_nodegroup_template",
    "render",
    "self_managed_nodegroup_template",
]
