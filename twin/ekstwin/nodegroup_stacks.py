"""A scenario node group's CloudFormation stack: template body and parameters.

``template: upgrader`` renders the product's troposphere builders (a launch template, or
an EKS managed node group); ``template: aws-2019`` is AWS's 2019 node-group template
verbatim, given the parameters its users passed: the cluster's control-plane security
group, an EC2 key pair and the SSM path of the Amazon Linux 2 EKS AMI.
"""

from __future__ import annotations

from dataclasses import dataclass

from ekstwin.scenario import AL2, TEMPLATE_AWS_2019, Scenario, ScenarioNodeGroup
from ekstwin.templates import aws_2019_nodegroup
from upgrader.catalog.versions import catalog
from upgrader_stacks.managed import managed_nodegroup_template
from upgrader_stacks.render import render
from upgrader_stacks.self_managed import self_managed_nodegroup_template
from upgrader_stacks.specs import ManagedNodegroupSpec, SelfManagedNodegroupSpec


@dataclass(frozen=True, slots=True)
class Network:
    """What the world made before the node-group stacks."""

    vpc_id: str
    subnet_ids: dict[str, str]  # by scenario subnet name
    control_plane_security_group: str | None = None  # needed by aws-2019 groups
    key_name: str | None = None  # needed by aws-2019 groups


@dataclass(frozen=True, slots=True)
class NodegroupStack:
    body: str
    parameters: dict[str, str]


def sizes(ng: ScenarioNodeGroup) -> tuple[int, int, int]:
    """(min, desired, max): room above desired for upgrader's surge; min 1 lets it scale a
    group back in."""
    return min(1, ng.desired), ng.desired, max(2 * ng.desired, ng.desired + 2)


def stack_for(scenario: Scenario, ng: ScenarioNodeGroup, network: Network) -> NodegroupStack:
    """Body and parameters of ``ng``'s stack."""
    ids = tuple(network.subnet_ids[n] for n in ng.subnets)
    # List parameters are passed explicitly: moto 5.2.5 does not split list Defaults.
    subnets = ",".join(ids)
    if ng.template == TEMPLATE_AWS_2019:
        return NodegroupStack(aws_2019_nodegroup(), _aws_2019_parameters(scenario, ng, network))
    low, desired, high = sizes(ng)
    version = scenario.kubernetes.minor_str
    if ng.kind == "managed":
        template = managed_nodegroup_template(
            ManagedNodegroupSpec(
                cluster_name=scenario.name,
                nodegroup_name=ng.name,
                kubernetes_version=version,
                subnet_ids=ids,
                instance_type=ng.instance_type,
                min_size=low,
                desired_size=desired,
                max_size=high,
            )
        )
    else:
        template = self_managed_nodegroup_template(
            SelfManagedNodegroupSpec(
                cluster_name=scenario.name,
                nodegroup_name=ng.name,
                kubernetes_version=version,
                vpc_id=network.vpc_id,
                subnet_ids=ids,
                instance_type=ng.instance_type,
                min_size=low,
                desired_size=desired,
                max_size=high,
            )
        )
    return NodegroupStack(render(template), {"Subnets": subnets})


def _aws_2019_parameters(
    scenario: Scenario, ng: ScenarioNodeGroup, network: Network
) -> dict[str, str]:
    if network.control_plane_security_group is None or network.key_name is None:
        raise ValueError(f"{TEMPLATE_AWS_2019} needs a control-plane security group and a key")
    low, desired, high = sizes(ng)
    release = catalog().kubernetes(scenario.kubernetes.minor_str)
    return {
        "ClusterName": scenario.name,
        "ClusterControlPlaneSecurityGroup": network.control_plane_security_group,
        "NodeGroupName": ng.name,
        "NodeAutoScalingGroupMinSize": str(low),
        "NodeAutoScalingGroupDesiredCapacity": str(desired),
        "NodeAutoScalingGroupMaxSize": str(high),
        "NodeInstanceType": ng.instance_type,
        "NodeImageIdSSMParam": release.ami_ssm_parameter(AL2),
        "KeyName": network.key_name,
        "VpcId": network.vpc_id,
        "Subnets": ",".join(network.subnet_ids[n] for n in ng.subnets),
    }
