"""The managed node group stack: AWS::EKS::Nodegroup and its node role.

Changing the ``KubernetesVersion`` parameter makes EKS roll the group itself, draining
nodes and honouring PodDisruptionBudgets (ForceUpdateEnabled stays off), at most
``MaxUnavailable`` nodes at a time.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Parameter, Ref, Template, eks

from upgrader_stacks.iam import service_role
from upgrader_stacks.parameters import (
    kubernetes_version_parameter,
    kubernetes_versions,
    size_parameter,
    subnets_parameter,
)
from upgrader_stacks.self_managed import NODE_ROLE_POLICIES
from upgrader_stacks.specs import MANAGED_NODEGROUPS_SINCE, ManagedNodegroupSpec

VERSION_PARAMETER = "KubernetesVersion"
NODEGROUP_RESOURCE = "Nodegroup"
# EKS AmiType per catalog AMI family (x86_64, standard variants).
AMI_TYPES = {
    "amazon-linux-2": "AL2_x86_64",
    "amazon-linux-2023": "AL2023_x86_64_STANDARD",
}


def managed_nodegroup_template(spec: ManagedNodegroupSpec) -> Template:
    """Template for managed node group ``spec.nodegroup_name`` of ``spec.cluster_name``.

    ``KubernetesVersion`` only allows the minors for which EKS publishes the group's AMI
    family (amazon-linux-2 ends at 1.32): moving past that needs a new AmiType, which
    replaces the group.
    """
    t = Template(
        Description=f"upgrader: managed node group {spec.nodegroup_name} "
        f"of cluster {spec.cluster_name}"
    )
    version = t.add_parameter(
        kubernetes_version_parameter(
            VERSION_PARAMETER,
            spec.kubernetes_version,
            f"Kubernetes minor of the nodes ({spec.family} AMIs)",
            kubernetes_versions(spec.family, since=MANAGED_NODEGROUPS_SINCE),
        )
    )
    subnets = t.add_parameter(
        subnets_parameter("Subnets", spec.subnet_ids, "Subnets the nodes are launched in")
    )
    instance_type = t.add_parameter(
        Parameter(
            "NodeInstanceType",
            Type="String",
            Default=spec.instance_type,
            Description="EC2 instance type of the nodes",
        )
    )
    sizes = [
        t.add_parameter(size_parameter(title, default, description, low))
        for title, default, description, low in (
            ("NodeGroupMinSize", spec.min_size, "Minimum size of the group", 0),
            ("NodeGroupDesiredSize", spec.desired_size, "Desired size of the group", 0),
            ("NodeGroupMaxSize", spec.max_size, "Maximum size of the group", 1),
        )
    ]
    role = t.add_resource(service_role("NodeInstanceRole", "ec2.amazonaws.com", NODE_ROLE_POLICIES))
    extra = {"Labels": dict(spec.labels)} if spec.labels else {}
    group = t.add_resource(
        eks.Nodegroup(
            NODEGROUP_RESOURCE,
            ClusterName=spec.cluster_name,
            NodegroupName=spec.nodegroup_name,
            NodeRole=GetAtt(role, "Arn"),
            Subnets=Ref(subnets),
            InstanceTypes=[Ref(instance_type)],
            AmiType=AMI_TYPES[spec.family],
            Version=Ref(version),
            ScalingConfig=eks.ScalingConfig(
                MinSize=Ref(sizes[0]), DesiredSize=Ref(sizes[1]), MaxSize=Ref(sizes[2])
            ),
            UpdateConfig=eks.UpdateConfig(MaxUnavailable=spec.max_unavailable),
            **extra,
        )
    )
    t.add_output(
        [
            Output("NodegroupName", Value=GetAtt(group, "NodegroupName")),
            Output("NodegroupArn", Value=GetAtt(group, "Arn")),
            Output("NodeInstanceRole", Value=GetAtt(role, "Arn")),
            Output(VERSION_PARAMETER, Value=Ref(version)),
        ]
    )
    return t
