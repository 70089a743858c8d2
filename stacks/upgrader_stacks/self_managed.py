"""The self-managed node group stack: launch template + Auto Scaling group.

Parameter names follow AWS's 2019 ``amazon-eks-nodegroup.yaml`` (NodeImageIdSSMParam,
NodeImageId, NodeAutoScalingGroup*, BootstrapArguments ...) so that the upgrader updates
stacks built here and stacks built from that template the same way.

Never a launch configuration: AWS disabled creating them for new accounts in 2024.
"""

from __future__ import annotations

from troposphere import (
    Base64,
    Equals,
    GetAtt,
    If,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
    autoscaling,
    ec2,
    iam,
)
from troposphere.policies import AutoScalingScheduledAction, UpdatePolicy

from upgrader.catalog.versions import catalog
from upgrader_stacks.iam import service_role
from upgrader_stacks.parameters import size_parameter, subnets_parameter
from upgrader_stacks.specs import SelfManagedNodegroupSpec
from upgrader_stacks.user_data import AL2, al2_user_data, al2023_user_data, bootstrap_arguments

IMAGE_SSM_PARAMETER = "NodeImageIdSSMParam"
IMAGE_ID_PARAMETER = "NodeImageId"
MIN_SIZE_PARAMETER = "NodeAutoScalingGroupMinSize"
DESIRED_PARAMETER = "NodeAutoScalingGroupDesiredCapacity"
MAX_SIZE_PARAMETER = "NodeAutoScalingGroupMaxSize"
LAUNCH_TEMPLATE_RESOURCE = "NodeLaunchTemplate"
GROUP_RESOURCE = "NodeGroup"
NODE_ROLE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)


def _parameters(t: Template, spec: SelfManagedNodegroupSpec) -> None:
    ssm_path = catalog().kubernetes(spec.kubernetes_version).ami_ssm_parameter(spec.family)
    t.add_parameter(
        [
            Parameter(
                "ClusterName",
                Type="String",
                Default=spec.cluster_name,
                Description="EKS cluster the nodes join",
            ),
            Parameter(
                "NodeGroupName",
                Type="String",
                Default=spec.nodegroup_name,
                Description="Name of this node group",
            ),
            Parameter(
                IMAGE_SSM_PARAMETER,
                Type="AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                Default=ssm_path,
                Description="SSM parameter holding the EKS-optimised AMI ID for the nodes",
            ),
            Parameter(
                IMAGE_ID_PARAMETER,
                Type="String",
                Default="",
                Description="(Optional) explicit AMI ID; overrides NodeImageIdSSMParam",
            ),
            Parameter(
                "NodeInstanceType",
                Type="String",
                Default=spec.instance_type,
                Description="EC2 instance type of the nodes",
            ),
            Parameter(
                "NodeVolumeSize",
                Type="Number",
                Default=spec.volume_size_gib,
                MinValue=1,
                Description="Root volume size (GiB)",
            ),
            size_parameter(MIN_SIZE_PARAMETER, spec.min_size, "Minimum size of the group"),
            size_parameter(DESIRED_PARAMETER, spec.desired_size, "Desired size of the group"),
            size_parameter(MAX_SIZE_PARAMETER, spec.max_size, "Maximum size of the group", 1),
            Parameter(
                "VpcId",
                Type="AWS::EC2::VPC::Id",
                Description="VPC of the nodes",
                **({"Default": spec.vpc_id} if spec.vpc_id else {}),
            ),
            subnets_parameter("Subnets", spec.subnet_ids, "Subnets the nodes are launched in"),
        ]
    )
    if spec.family == AL2:
        t.add_parameter(
            Parameter(
                "BootstrapArguments",
                Type="String",
                Default=bootstrap_arguments(spec.max_pods),
                Description="Arguments to /etc/eks/bootstrap.sh",
            )
        )
    else:
        t.add_parameter(
            [
                Parameter(
                    "ClusterEndpoint",
                    Type="String",
                    Default=spec.cluster_endpoint,
                    Description="API server endpoint (nodeadm NodeConfig)",
                ),
                Parameter(
                    "ClusterCertificateAuthority",
                    Type="String",
                    Default=spec.certificate_authority,
                    Description="Cluster CA data, base64 (nodeadm NodeConfig)",
                ),
                Parameter(
                    "ServiceCidr",
                    Type="String",
                    Default=spec.service_cidr,
                    Description="Kubernetes service CIDR (nodeadm NodeConfig)",
                ),
            ]
        )
    if spec.control_plane_security_group_id is not None:
        t.add_parameter(
            Parameter(
                "ClusterControlPlaneSecurityGroup",
                Type="AWS::EC2::SecurityGroup::Id",
                Default=spec.control_plane_security_group_id,
                Description="Security group of the cluster control plane",
            )
        )


def _security_group(t: Template, spec: SelfManagedNodegroupSpec) -> ec2.SecurityGroup:
    group = t.add_resource(
        ec2.SecurityGroup(
            "NodeSecurityGroup",
            GroupDescription=f"Nodes of {spec.cluster_name}/{spec.nodegroup_name}",
            VpcId=Ref("VpcId"),
            Tags=Tags({f"kubernetes.io/cluster/{spec.cluster_name}": "owned"}),
        )
    )
    t.add_resource(
        ec2.SecurityGroupIngress(
            "NodeSecurityGroupIngress",
            Description="Nodes talk to each other",
            GroupId=Ref(group),
            SourceSecurityGroupId=Ref(group),
            IpProtocol="-1",
        )
    )
    if spec.control_plane_security_group_id is not None:
        plane = Ref("ClusterControlPlaneSecurityGroup")
        for title, port_from, port_to in (
            ("NodeSecurityGroupFromControlPlaneIngress", 1025, 65535),
            ("NodeSecurityGroupFromControlPlaneOn443Ingress", 443, 443),
        ):
            t.add_resource(
                ec2.SecurityGroupIngress(
                    title,
                    Description="Control plane reaches kubelets and pods",
                    GroupId=Ref(group),
                    SourceSecurityGroupId=plane,
                    IpProtocol="tcp",
                    FromPort=port_from,
                    ToPort=port_to,
                )
            )
        t.add_resource(
            ec2.SecurityGroupIngress(
                "ClusterControlPlaneSecurityGroupIngress",
                Description="Nodes reach the API server",
                GroupId=plane,
                SourceSecurityGroupId=Ref(group),
                IpProtocol="tcp",
                FromPort=443,
                ToPort=443,
            )
        )
    return group


def self_managed_nodegroup_template(spec: SelfManagedNodegroupSpec) -> Template:
    """Template for a self-managed node group of ``spec.cluster_name``.

    The group has no AutoScalingRollingUpdate: CloudFormation's own rolling update
    terminates nodes without draining them, so the upgrader drains and rolls the nodes
    itself after the stack update. ``AutoScalingScheduledAction:
    IgnoreUnmodifiedGroupSizeProperties`` keeps a stack update from resetting the
    Min/Max/Desired sizes the upgrader surged while rolling.
    """
    t = Template(
        Description=f"upgrader: self-managed node group {spec.nodegroup_name} "
        f"of cluster {spec.cluster_name}"
    )
    _parameters(t, spec)
    t.add_condition("HasNodeImageId", Not(Equals(Ref(IMAGE_ID_PARAMETER), "")))
    role = t.add_resource(service_role("NodeInstanceRole", "ec2.amazonaws.com", NODE_ROLE_POLICIES))
    profile = t.add_resource(
        iam.InstanceProfile("NodeInstanceProfile", Path="/", Roles=[Ref(role)])
    )
    group = _security_group(t, spec)
    body = al2_user_data() if spec.family == AL2 else al2023_user_data(spec.max_pods)
    launch_template = t.add_resource(
        ec2.LaunchTemplate(
            LAUNCH_TEMPLATE_RESOURCE,
            LaunchTemplateData=ec2.LaunchTemplateData(
                ImageId=If("HasNodeImageId", Ref(IMAGE_ID_PARAMETER), Ref(IMAGE_SSM_PARAMETER)),
                InstanceType=Ref("NodeInstanceType"),
                IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
                SecurityGroupIds=[Ref(group)],
                UserData=Base64(Sub(body)),
                BlockDeviceMappings=[
                    ec2.LaunchTemplateBlockDeviceMapping(
                        DeviceName="/dev/xvda",
                        Ebs=ec2.EBSBlockDevice(
                            VolumeSize=Ref("NodeVolumeSize"),
                            VolumeType="gp3",
                            DeleteOnTermination=True,
                        ),
                    )
                ],
                # IMDSv2 only; hop limit 2 so pods (one hop further) can still reach it.
                MetadataOptions=ec2.MetadataOptions(
                    HttpTokens="required", HttpPutResponseHopLimit=2
                ),
            ),
        )
    )
    asg = t.add_resource(
        autoscaling.AutoScalingGroup(
            GROUP_RESOURCE,
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(launch_template),
                Version=GetAtt(launch_template, "LatestVersionNumber"),
            ),
            MinSize=Ref(MIN_SIZE_PARAMETER),
            MaxSize=Ref(MAX_SIZE_PARAMETER),
            DesiredCapacity=Ref(DESIRED_PARAMETER),
            VPCZoneIdentifier=Ref("Subnets"),
            Tags=[
                autoscaling.Tag("Name", Sub("${ClusterName}-${NodeGroupName}-Node"), True),
                autoscaling.Tag(f"kubernetes.io/cluster/{spec.cluster_name}", "owned", True),
            ],
            UpdatePolicy=UpdatePolicy(
                AutoScalingScheduledAction=AutoScalingScheduledAction(
                    IgnoreUnmodifiedGroupSizeProperties=True
                )
            ),
        )
    )
    t.add_output(
        [
            Output("NodeInstanceRole", Value=GetAtt(role, "Arn")),
            Output("NodeSecurityGroup", Value=Ref(group)),
            Output("NodeAutoScalingGroup", Value=Ref(asg)),
            Output("NodeLaunchTemplate", Value=Ref(launch_template)),
            Output(
                "NodeLaunchTemplateVersion",
                Value=GetAtt(launch_template, "LatestVersionNumber"),
            ),
        ]
    )
    return t
