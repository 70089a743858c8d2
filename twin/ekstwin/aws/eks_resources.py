"""CloudFormation ``AWS::EKS::Cluster`` and ``AWS::EKS::Nodegroup`` backed by moto's EKS.

moto skips both types; these models create real moto clusters and nodegroups. A managed
nodegroup also gets what EKS creates for it: a launch template and an Auto Scaling group
``eks-<nodegroup>-<uuid>`` whose instances carry the EKS tags.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, cast

from moto.autoscaling.models import autoscaling_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.eks.exceptions import InvalidParameterException
from moto.eks.models import eks_backends

from ekstwin.aws import amis, eks_updates
from ekstwin.aws.state import EksUpdate, Operation, TwinState, require
from upgrader.catalog.versions import catalog

CLUSTER_ATTRIBUTES = (
    "Arn",
    "Endpoint",
    "CertificateAuthorityData",
    "ClusterSecurityGroupId",
    "OpenIdConnectIssuerUrl",
    "EncryptionConfigKeyArn",
    "KubernetesNetworkConfig.ServiceIpv4Cidr",
)
NODEGROUP_ATTRIBUTES = ("Arn", "ClusterName", "NodegroupName", "Id")


def vpc_config_from_cfn(props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation ResourcesVpcConfig -> the EKS API's resourcesVpcConfig."""
    return {
        "subnetIds": list(props.get("SubnetIds", [])),
        "securityGroupIds": list(props.get("SecurityGroupIds", [])),
        "endpointPublicAccess": props.get("EndpointPublicAccess", True) in (True, "true"),
        "endpointPrivateAccess": props.get("EndpointPrivateAccess", False) in (True, "true"),
        "publicAccessCidrs": list(props.get("PublicAccessCidrs", ["0.0.0.0/0"])),
    }


class EksCluster(CloudFormationModel):
    """The CloudFormation face of one moto EKS cluster (Ref is the cluster name)."""

    def __init__(self, name: str, account_id: str, region_name: str) -> None:
        self.name = name
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EKS::Cluster"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in CLUSTER_ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def _cluster(self) -> Any:
        return eks_backends[self.account_id][self.region_name].clusters[self.name]

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        cluster = self._cluster()
        values = {
            "Arn": cluster.arn,
            "Endpoint": cluster.endpoint,
            "CertificateAuthorityData": cluster.certificate_authority["data"],
            "ClusterSecurityGroupId": cluster.resources_vpc_config.get(
                "clusterSecurityGroupId", ""
            ),
            "OpenIdConnectIssuerUrl": cluster.identity["oidc"]["issuer"],
            "EncryptionConfigKeyArn": "",
            "KubernetesNetworkConfig.ServiceIpv4Cidr": cluster.kubernetes_network_config.get(
                "serviceIpv4Cidr", ""
            ),
        }
        return values[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EksCluster:
        props = cloudformation_json["Properties"]
        network = props.get("KubernetesNetworkConfig") or {}
        eks_backends[account_id][region_name].create_cluster(
            name=resource_name,
            role_arn=props["RoleArn"],
            resources_vpc_config=vpc_config_from_cfn(props.get("ResourcesVpcConfig", {})),
            version=props.get("Version"),
            kubernetes_network_config=(
                {"serviceIpv4Cidr": network["ServiceIpv4Cidr"]}
                if "ServiceIpv4Cidr" in network
                else None
            ),
            tags={t["Key"]: t["Value"] for t in props.get("Tags", [])},
        )
        return cls(resource_name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EksCluster:
        state = require()
        props = cloudformation_json["Properties"]
        backend = eks_backends[account_id][region_name]
        cluster = backend.clusters[original_resource.name]
        wanted = props.get("Version")
        if wanted and wanted != cluster.version:
            # AWS: CloudFormation calls UpdateClusterVersion (a rollback when ``wanted`` is
            # the previous minor, with the template's RollbackConfig) and waits for it
            eks_updates.start_cluster_version_update(
                state,
                backend,
                cluster.name,
                wanted,
                state.begin(f"cluster {cluster.name}"),
                rollback_timeout=rollback_timeout(props.get("RollbackConfig")),
            )
        return original_resource  # type: ignore[no-any-return]

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        eks_backends[account_id][region_name].delete_cluster(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        eks_backends[account_id][region_name].delete_cluster(self.name)

    def is_created(self) -> bool:
        return True


def rollback_timeout(config: Any) -> Any:
    """RollbackConfig.TimeoutMinutes as the API takes it (CloudFormation passes strings)."""
    value = config.get("TimeoutMinutes") if isinstance(config, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _scaling(props: dict[str, Any]) -> dict[str, int] | None:
    raw = props.get("ScalingConfig")
    if not raw:
        return None
    desired = int(raw.get("DesiredSize", raw.get("MinSize", 1)))
    return {
        "minSize": int(raw.get("MinSize", desired)),
        "maxSize": int(raw.get("MaxSize", desired)),
        "desiredSize": desired,
    }


def _taints(props: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"key": t["Key"], "value": t.get("Value", ""), "effect": t["Effect"]}
        for t in props.get("Taints", [])
    ]


def default_release(version: str) -> str:
    return amis.release_version(catalog().kubernetes(version).kube_proxy)


def nodegroup_family(nodegroup: Any) -> str:
    return amis.AMI_TYPES.get(nodegroup.ami_type, "amazon-linux-2")


def provision_nodegroup(state: TwinState, nodegroup: Any) -> None:
    """Create the launch template and ASG EKS makes for a managed nodegroup."""
    ec2 = ec2_backends[state.account_id][state.region]
    image = amis.ami_id(nodegroup.version, nodegroup_family(nodegroup))
    data: dict[str, Any] = {"ImageId": image, "InstanceType": nodegroup.instance_types[0]}
    if nodegroup.launch_template and nodegroup.launch_template.get("id"):
        user = ec2.get_launch_template(nodegroup.launch_template["id"]).latest_version().data
        data.update({k: v for k, v in user.items() if k in ("ImageId", "InstanceType")})
    template = ec2.create_launch_template(f"eks-{nodegroup.uuid}", "", data, {})
    asg_name = f"eks-{nodegroup.nodegroup_name}-{nodegroup.uuid}"
    tags = {
        "eks:cluster-name": nodegroup.cluster_name,
        "eks:nodegroup-name": nodegroup.nodegroup_name,
        f"kubernetes.io/cluster/{nodegroup.cluster_name}": "owned",
        f"k8s.io/cluster-autoscaler/{nodegroup.cluster_name}": "owned",
        "k8s.io/cluster-autoscaler/enabled": "true",
    }
    scaling = nodegroup.scaling_config
    autoscaling_backends[state.account_id][state.region].create_auto_scaling_group(
        name=asg_name,
        availability_zones=[],
        desired_capacity=scaling["desiredSize"],
        max_size=scaling["maxSize"],
        min_size=scaling["minSize"],
        launch_config_name="",
        launch_template={"LaunchTemplateId": template.id, "Version": "1"},
        vpc_zone_identifier=",".join(nodegroup.subnets),
        default_cooldown=None,
        health_check_period=None,
        health_check_type="EC2",
        load_balancers=[],
        target_group_arns=[],
        placement_group=None,
        termination_policies=["AllocationStrategy", "OldestLaunchTemplate", "OldestInstance"],
        tags=cast(
            Any, [{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in tags.items()]
        ),
    )
    nodegroup.resources["autoScalingGroups"] = [{"name": asg_name}]
    nodegroup.twin_launch_template_id = template.id


def start_nodegroup_version_update(
    state: TwinState, nodegroup: Any, version: str, release: str, operation: Operation
) -> EksUpdate:
    """Point the nodegroup's ASG at a new launch-template version with the new AMI.

    EKS then replaces the nodes (drain-aware); the twin leaves that to the Kubernetes side
    (``hooks.nodegroup_updated``) and stays UPDATING until ``finish_nodegroup_update``.
    """
    cluster = eks_backends[state.account_id][state.region].clusters[nodegroup.cluster_name]
    if tuple(map(int, version.split("."))) > tuple(map(int, cluster.version.split("."))):
        raise InvalidParameterException(
            clusterName=cluster.name,
            nodegroupName=nodegroup.nodegroup_name,
            fargateProfileName=None,
            addonName=None,
            message=f"Requested Nodegroup version {version} is newer than the cluster "
            f"version {cluster.version}",
        )
    ec2 = ec2_backends[state.account_id][state.region]
    template = ec2.get_launch_template(nodegroup.twin_launch_template_id)
    image = amis.ami_id(version, nodegroup_family(nodegroup))
    data = copy.deepcopy(template.latest_version().data)
    data["ImageId"] = image
    new = template.create_version(data, f"Kubernetes {version}")
    asg_name = nodegroup.resources["autoScalingGroups"][0]["name"]
    group = autoscaling_backends[state.account_id][state.region].autoscaling_groups[asg_name]
    group.launch_template_version = str(new.number)
    group.provided_launch_template_version = str(new.number)
    nodegroup.version = version
    nodegroup.release_version = release
    nodegroup.status = "UPDATING"
    update = eks_updates.record_nodegroup_update(
        state, cluster.name, nodegroup.nodegroup_name, version, release
    )
    nodegroup.twin_update = update
    state.nodegroup_operations[(cluster.name, nodegroup.nodegroup_name)] = operation
    for hook in list(state.hooks.nodegroup_updated):
        state.defer(functools.partial(hook, cluster.name, nodegroup.nodegroup_name, image))
    return update


def finish_nodegroup_update(state: TwinState, cluster_name: str, nodegroup_name: str) -> None:
    """The Kubernetes side replaced every node: the nodegroup update is done."""
    cluster = eks_backends[state.account_id][state.region].clusters[cluster_name]
    nodegroup = cluster.nodegroups[nodegroup_name]
    nodegroup.status = "ACTIVE"
    update = getattr(nodegroup, "twin_update", None)
    if update is not None:
        update.status = "Successful"
    operation = state.nodegroup_operations.pop((cluster_name, nodegroup_name), None)
    if operation is not None:
        operation.finish()


class EksNodegroup(CloudFormationModel):
    """The CloudFormation face of one managed nodegroup (Ref is ``cluster/nodegroup``)."""

    def __init__(self, cluster_name: str, nodegroup_name: str, account_id: str, region: str):
        self.cluster_name = cluster_name
        self.nodegroup_name = nodegroup_name
        self.account_id = account_id
        self.region_name = region

    @staticmethod
    def cloudformation_name_type() -> str:
        return "NodegroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EKS::Nodegroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in NODEGROUP_ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return f"{self.cluster_name}/{self.nodegroup_name}"

    def _nodegroup(self) -> Any:
        backend = eks_backends[self.account_id][self.region_name]
        return backend.clusters[self.cluster_name].nodegroups[self.nodegroup_name]

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        values = {
            "Arn": self._nodegroup().arn,
            "ClusterName": self.cluster_name,
            "NodegroupName": self.nodegroup_name,
            "Id": self.physical_resource_id,
        }
        return values[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EksNodegroup:
        state = require()
        props = cloudformation_json["Properties"]
        backend = eks_backends[account_id][region_name]
        cluster_name = props["ClusterName"]
        version = props.get("Version") or backend.clusters[cluster_name].version
        user_template = props.get("LaunchTemplate")
        nodegroup = backend.create_nodegroup(
            cluster_name=cluster_name,
            node_role=props["NodeRole"],
            nodegroup_name=resource_name,
            subnets=list(props["Subnets"]),
            scaling_config=_scaling(props) or {"minSize": 1, "maxSize": 2, "desiredSize": 2},
            disk_size=props.get("DiskSize"),
            instance_types=props.get("InstanceTypes") or ["t3.medium"],
            ami_type=props.get("AmiType") or "AL2_x86_64",
            labels=props.get("Labels") or {},
            taints=_taints(props),
            tags=props.get("Tags") or {},
            launch_template=(
                {"id": user_template.get("Id"), "version": user_template.get("Version")}
                if user_template
                else None
            ),
            capacity_type=props.get("CapacityType"),
            version=version,
            release_version=props.get("ReleaseVersion") or default_release(version),
        )
        provision_nodegroup(state, nodegroup)
        return cls(cluster_name, resource_name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EksNodegroup:
        state = require()
        props = cloudformation_json["Properties"]
        nodegroup = original_resource._nodegroup()
        scaling = _scaling(props)
        if scaling and scaling != nodegroup.scaling_config:
            nodegroup.scaling_config = scaling
            asg_name = nodegroup.resources["autoScalingGroups"][0]["name"]
            group = autoscaling_backends[account_id][region_name].autoscaling_groups[asg_name]
            group.min_size, group.max_size = scaling["minSize"], scaling["maxSize"]
            group.set_desired_capacity(scaling["desiredSize"])
        nodegroup.labels = props.get("Labels") or {}
        nodegroup.taints = _taints(props)
        version = props.get("Version") or nodegroup.version
        release = props.get("ReleaseVersion") or (
            default_release(version) if version != nodegroup.version else nodegroup.release_version
        )
        if (version, release) != (nodegroup.version, nodegroup.release_version):
            # AWS: CloudFormation calls UpdateNodegroupVersion and waits for it
            start_nodegroup_version_update(
                state, nodegroup, version, release, state.begin(f"nodegroup {new_resource_name}")
            )
        return original_resource  # type: ignore[no-any-return]

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        props = cloudformation_json["Properties"]
        delete_nodegroup(account_id, region_name, props["ClusterName"], resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        delete_nodegroup(account_id, region_name, self.cluster_name, self.nodegroup_name)

    def is_created(self) -> bool:
        return True


def delete_nodegroup(account_id: str, region: str, cluster_name: str, name: str) -> None:
    """Delete the nodegroup with its ASG (terminating its instances) and launch template."""
    nodegroup: Any = eks_backends[account_id][region].delete_nodegroup(cluster_name, name)
    for group in nodegroup.resources.get("autoScalingGroups", []):
        backend = autoscaling_backends[account_id][region]
        if group["name"] in backend.autoscaling_groups:
            asg = backend.autoscaling_groups[group["name"]]
            asg.set_desired_capacity(0)
            backend.delete_auto_scaling_group(group["name"])
    template_id = getattr(nodegroup, "twin_launch_template_id", None)
    if template_id:
        ec2_backends[account_id][region].delete_launch_template("", template_id)
