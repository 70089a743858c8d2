"""``discover``: read one cluster's AWS and Kubernetes state in one read-only pass."""

from __future__ import annotations

import boto3

from upgrader.adapters import aws_state, cloudformation, eks_auth, kube_state
from upgrader.adapters.aws import Aws
from upgrader.adapters.kube import KubeReader
from upgrader.catalog.versions import catalog
from upgrader.config import Config
from upgrader.errors import BadInputError, UpgraderError
from upgrader.model.aws import EksCluster, Stack
from upgrader.model.state import ClusterState

ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"
EKS_CLUSTER_TYPE = "AWS::EKS::Cluster"


def discover(config: Config, *, session: boto3.session.Session | None = None) -> ClusterState:
    """Everything a plan is made from: AWS first, then Kubernetes. Makes no mutating call.

    The number of calls grows with pages and node groups, never with nodes or pods.
    """
    aws = Aws.connect(config.region, session)
    cluster, access = aws_state.eks_cluster(aws, config.cluster)
    stacks = tuple(
        cloudformation.read_stack(aws, name)
        for name in (config.control_plane_stack, *config.nodegroup_stacks)
    )
    _check_control_plane(stacks[0], config)
    nodegroup_stacks = stacks[1:]
    managed = aws_state.managed_nodegroups(aws, config.cluster, nodegroup_stacks)
    asgs = aws_state.auto_scaling_groups(
        aws,
        [r.physical_id for s in nodegroup_stacks for r in s.resources_of(ASG_TYPE)]
        + [name for m in managed for name in m.asg_names],
    )
    subnet_ids = sorted(
        {
            *cluster.subnet_ids,
            *(s for a in asgs for s in a.subnet_ids),
            *(s for m in managed for s in m.subnet_ids),
        }
    )
    instances = aws_state.instances(aws, [i for a in asgs for i in a.instance_ids])
    subnets = aws_state.subnets(aws, subnet_ids)
    enis = aws_state.enis(aws, subnet_ids)
    amis = aws_state.ssm_parameters(aws, ami_parameter_paths(cluster, config))
    insights = aws_state.upgrade_insights(aws, config.cluster, insight_versions(cluster, config))
    addons = aws_state.eks_addons(aws, config.cluster, stacks)
    minors = insight_versions(cluster, config)
    adopting = [n for n in config.adopt_addons if n not in {a.name for a in addons}]
    versions = aws_state.addon_versions(aws, (a.name for a in addons), minors)
    if adopting:  # created at the running minor first (addons.adopt), then as the others
        versions += aws_state.addon_versions(aws, adopting, [cluster.version, *minors])
    fargate = aws_state.fargate_profiles(aws, config.cluster)
    reader = _kube_reader(config, access, aws)
    try:
        kube = kube_state.read(reader)
    finally:
        reader.close()
    return ClusterState(
        region=config.region,
        cluster=cluster,
        subnets=subnets,
        stacks=stacks,
        asgs=asgs,
        managed_nodegroups=managed,
        instances=instances,
        enis=enis,
        ami_parameters=amis,
        server_version=kube.server_version,
        nodes=kube.nodes,
        pods=kube.pods,
        daemonsets=kube.daemonsets,
        workloads=kube.workloads,
        pdbs=kube.pdbs,
        live_objects=kube.live_objects,
        insights=insights,
        addons=addons,
        addon_versions=versions,
        fargate_profiles=fargate,
        nodepools=kube.nodepools,
        nodeclasses=kube.nodeclasses,
    )


def _check_control_plane(stack: Stack, config: Config) -> None:
    """The control-plane stack must hold this cluster, or its change set would update
    something else (checked before any write)."""
    clusters = [r.physical_id for r in stack.resources_of(EKS_CLUSTER_TYPE)]
    if config.cluster in clusters:
        return
    problem = (
        f"holds EKS cluster {', '.join(clusters)}, not {config.cluster}"
        if clusters
        else f"holds no {EKS_CLUSTER_TYPE}"
    )
    raise BadInputError(
        f"CloudFormation stack {stack.name} (stacks.control_plane in {config.path})",
        problem,
        f"set stacks.control_plane to the stack that holds {EKS_CLUSTER_TYPE} "
        f"{config.cluster} (aws cloudformation describe-stack-resources --physical-resource-id "
        f"{config.cluster})",
    )


def _kube_reader(config: Config, access: aws_state.ClusterAccess, aws: Aws) -> KubeReader:
    """From the config's kubeconfig, else the EKS endpoint and CA with an IAM token."""
    if config.kubeconfig is not None:
        return KubeReader.from_kubeconfig(config.kubeconfig)
    return KubeReader.from_endpoint(
        access.endpoint,
        access.certificate_authority,
        eks_auth.credentials(config.cluster, aws.session),
        cluster=config.cluster,
    )


def ami_parameter_paths(cluster: EksCluster, config: Config) -> list[str]:
    """SSM paths of every EKS AMI family for the current Kubernetes version and every minor
    up to the target (a plan of several hops rolls node groups at each of them)."""
    paths: list[str] = []
    for version in (cluster.version, *insight_versions(cluster, config)):
        try:
            release = catalog().kubernetes(version)
        except (UpgraderError, ValueError):
            continue  # a version the catalog does not know has no AMI path to look up
        paths += [path for _, path in release.ami_ssm_parameters]
    return paths


def insight_versions(cluster: EksCluster, config: Config) -> list[str]:
    """The minors the control plane goes to (after the current, up to the target): those
    EKS's upgrade insights are asked about. None once the cluster is at the target."""
    known = catalog()
    try:
        now = known.kubernetes(cluster.version).version.minor_key
        target = known.kubernetes(config.target_kubernetes).version.minor_key
    except (UpgraderError, ValueError):
        return [config.target_kubernetes.minor_str]  # the planner names the unknown version
    return [v.minor_str for v in known.kubernetes_versions() if now < v.minor_key <= target]
