"""Creates a scenario's world in the twins: VPC, subnets and their other tenants,
the control-plane stack built by ``upgrader_stacks``, the node-group stacks
(``ekstwin.nodegroup_stacks``), leaked ENIs; and the cluster's Kubernetes objects
(``ekstwin.system``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ekstwin.aws import AwsTwin
from ekstwin.kubeapi import AlreadyExists, Store
from ekstwin.nodegroup_stacks import Network, stack_for
from ekstwin.scenario import TEMPLATE_AWS_2019, Scenario, ScenarioNodeGroup
from upgrader.catalog.instances import bundled as bundled_instances
from upgrader_stacks.control_plane import control_plane_template
from upgrader_stacks.render import render
from upgrader_stacks.specs import ControlPlaneSpec

LEAKED_INSTANCE = "i-0leaked{index:011d}"


@dataclass(frozen=True, slots=True)
class World:
    """Names and IDs of what :func:`build_aws` created."""

    vpc_id: str
    subnet_ids: dict[str, str]
    control_plane_stack: str
    nodegroup_stacks: tuple[str, ...]


def control_plane_stack(scenario: Scenario) -> str:
    return f"{scenario.name}-eks"


def nodegroup_stack(scenario: Scenario, ng: ScenarioNodeGroup) -> str:
    return f"{scenario.name}-{ng.name}"


def vpc_cidr(scenario: Scenario) -> str:
    """The smallest /16-or-larger network holding every subnet of the scenario."""
    nets = [ipaddress.ip_network(s.cidr) for s in scenario.subnets]
    net = nets[0].supernet(new_prefix=min(16, nets[0].prefixlen))
    while not all(n.subnet_of(net) for n in nets):  # type: ignore[arg-type]
        net = net.supernet()
    return str(net)


def build_aws(scenario: Scenario, twin: AwsTwin) -> World:
    """Network, other tenants' addresses, stacks and faults in the AWS twin."""
    twin.seed_eks_amis()
    vpc = twin.create_vpc(vpc_cidr(scenario), f"{scenario.name}-vpc")
    cluster_tag = {
        f"kubernetes.io/cluster/{scenario.name}": "shared",
        "kubernetes.io/role/internal-elb": "1",
    }
    subnets = {
        s.name: twin.create_subnet(vpc, s.cidr, s.az, s.name, tags=cluster_tag)
        for s in scenario.subnets
    }
    for s in scenario.subnets:
        if s.used:
            twin.take_addresses(subnets[s.name], s.used)

    network = Network(vpc, subnets)
    if any(ng.template == TEMPLATE_AWS_2019 for ng in scenario.nodegroups):
        # What a 2019 setup had: the VPC stack's control-plane security group, given to the
        # cluster and to the node-group stacks, and an EC2 key pair for the nodes.
        network = Network(
            vpc,
            subnets,
            control_plane_security_group=twin.create_security_group(
                vpc, f"{scenario.name}-control-plane", "Cluster communication with worker nodes"
            ),
            key_name=twin.create_key_pair(f"{scenario.name}-nodes"),
        )

    cp_stack = control_plane_stack(scenario)
    cp = ControlPlaneSpec(
        cluster_name=scenario.name,
        kubernetes_version=scenario.kubernetes.minor_str,
        subnet_ids=tuple(subnets[n] for n in scenario.control_plane_subnets),
    )
    # List parameters are passed explicitly: moto 5.2.5 does not split list Defaults.
    cp_params = {
        "SubnetIds": ",".join(cp.subnet_ids),
        "SecurityGroupIds": network.control_plane_security_group or "",
    }
    twin.deploy_stack(cp_stack, render(control_plane_template(cp)), cp_params)
    for profile in scenario.fargate:
        twin.create_fargate_profile(
            scenario.name,
            profile.name,
            profile.namespaces,
            tuple(subnets[n] for n in profile.subnets),
        )

    ng_stacks = []
    for ng in scenario.nodegroups:
        stack = stack_for(scenario, ng, network)
        name = nodegroup_stack(scenario, ng)
        twin.deploy_stack(name, stack.body, stack.parameters)
        ng_stacks.append(name)

    _leak_enis(scenario, twin, subnets)
    return World(vpc, subnets, cp_stack, tuple(ng_stacks))


def _leak_enis(scenario: Scenario, twin: AwsTwin, subnets: dict[str, str]) -> None:
    """ENIs ipamd left behind (#69): `available`, described after an instance that is gone,
    holding a full ENI's addresses of the first node group's instance type."""
    if not scenario.nodegroups:
        return
    itype = bundled_instances().get(scenario.nodegroups[0].instance_type)
    index = 0
    for subnet, count in scenario.faults.leaked_enis:
        for _ in range(count):
            instance = LEAKED_INSTANCE.format(index=index)
            twin.create_eni(subnets[subnet], f"aws-K8S-{instance}", itype.secondary_ips_per_eni)
            index += 1


def create_all(store: Store, objects: list[tuple[str, dict[str, Any]]]) -> None:
    """Create (resource, object) pairs; ones that exist already are left alone."""
    for resource, obj in objects:
        try:
            store.create(resource, obj, namespace=obj["metadata"].get("namespace"))
        except AlreadyExists:
            continue
