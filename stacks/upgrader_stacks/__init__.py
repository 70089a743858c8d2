"""CloudFormation stacks for EKS, built with troposphere, and checks on existing templates.

Besides ``upgrader.adapters`` this is the only package that imports troposphere.
``tests.support.stack_lint`` needs cfn-lint (a dev dependency) and is not imported here.
"""

from upgrader_stacks.adopt import StackAdoption, adopt
from upgrader_stacks.control_plane import control_plane_template
from upgrader_stacks.managed import managed_nodegroup_template
from upgrader_stacks.render import render
from upgrader_stacks.self_managed import self_managed_nodegroup_template
from upgrader_stacks.specs import ControlPlaneSpec, ManagedNodegroupSpec, SelfManagedNodegroupSpec

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
