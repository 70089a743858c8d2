"""The EKS control-plane stack: AWS::EKS::Cluster, its service role and its outputs.

The Kubernetes version is the ``KubernetesVersion`` parameter, so an upgrade is a change set
that changes one parameter value and leaves the template untouched. The cluster's
``RollbackConfig.TimeoutMinutes`` (how long an EKS version rollback may take before EKS
cancels it) is the ``RollbackTimeoutMinutes`` parameter, set from the config's
``rollback.timeout_minutes`` by each upgrade.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Join, Not, Output, Parameter, Ref, Template, eks

from upgrader.config import ROLLBACK_TIMEOUT_DEFAULT, ROLLBACK_TIMEOUT_RANGE
from upgrader_stacks.iam import service_role
from upgrader_stacks.parameters import (
    kubernetes_version_parameter,
    kubernetes_versions,
    subnets_parameter,
)
from upgrader_stacks.specs import ControlPlaneSpec

VERSION_PARAMETER = "KubernetesVersion"
ROLLBACK_PARAMETER = "RollbackTimeoutMinutes"
CLUSTER_RESOURCE = "Cluster"
CLUSTER_ROLE_POLICIES = ("AmazonEKSClusterPolicy",)


def control_plane_template(spec: ControlPlaneSpec) -> Template:
    """Template for the control plane of ``spec.cluster_name`` at ``spec.kubernetes_version``."""
    t = Template(Description=f"upgrader: EKS control plane of cluster {spec.cluster_name}")
    version = t.add_parameter(
        kubernetes_version_parameter(
            VERSION_PARAMETER,
            spec.kubernetes_version,
            "Kubernetes minor of the control plane; raise it one minor at a time",
            kubernetes_versions(),
        )
    )
    subnets = t.add_parameter(
        subnets_parameter("SubnetIds", spec.subnet_ids, "Subnets for the control-plane ENIs")
    )
    # CommaDelimitedList (not List<SecurityGroup::Id>) so that "none" is a valid value.
    groups = t.add_parameter(
        Parameter(
            "SecurityGroupIds",
            Type="CommaDelimitedList",
            Default=",".join(spec.security_group_ids),
            Description="Extra security groups for the control-plane ENIs (may be empty)",
        )
    )
    t.add_condition("HasSecurityGroupIds", Not(Equals(Join("", Ref(groups)), "")))
    rollback = t.add_parameter(
        Parameter(
            ROLLBACK_PARAMETER,
            Type="Number",
            Default=ROLLBACK_TIMEOUT_DEFAULT,
            MinValue=ROLLBACK_TIMEOUT_RANGE[0],
            MaxValue=ROLLBACK_TIMEOUT_RANGE[1],
            Description="Minutes an EKS version rollback may take before EKS cancels it",
        )
    )
    role = t.add_resource(service_role("ClusterRole", "eks.amazonaws.com", CLUSTER_ROLE_POLICIES))
    cluster = t.add_resource(
        eks.Cluster(
            CLUSTER_RESOURCE,
            Name=spec.cluster_name,
            Version=Ref(version),
            RoleArn=GetAtt(role, "Arn"),
            ResourcesVpcConfig=eks.ResourcesVpcConfig(
                SubnetIds=Ref(subnets),
                SecurityGroupIds=If("HasSecurityGroupIds", Ref(groups), Ref("AWS::NoValue")),
            ),
            RollbackConfig=eks.RollbackConfig(TimeoutMinutes=Ref(rollback)),
        )
    )
    t.add_output(
        [
            Output("ClusterName", Value=Ref(cluster), Description="EKS cluster name"),
            Output("ClusterArn", Value=GetAtt(cluster, "Arn")),
            Output("Endpoint", Value=GetAtt(cluster, "Endpoint")),
            Output("CertificateAuthorityData", Value=GetAtt(cluster, "CertificateAuthorityData")),
            Output(VERSION_PARAMETER, Value=Ref(version)),
        ]
    )
    return t
