"""Hand-built ClusterStates (Staging, Tight, Modern-like) and configs for unit tests.

Shapes follow discovery's conventions (DESIGN §8): subnets named by their Name tag,
nodes by private DNS name, ENIs described ``aws-K8S-<instance>``. Free addresses are
the subnet's usable addresses minus what the nodes' ENIs and other tenants hold.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from upgrader.capacity.node import node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import bundled
from upgrader.config import GATE_DEFAULTS, Config
from upgrader.model.aws import (
    AutoScalingGroup,
    EksCluster,
    Eni,
    Instance,
    ManagedNodegroup,
    Pairs,
    Stack,
    StackResource,
    Subnet,
)
from upgrader.model.insights import Deprecation, Insight, InsightStatus, UpgradeInsights
from upgrader.model.kube import Container, DaemonSet, Node, Pdb, Pod, Workload
from upgrader.model.state import ClusterState
from upgrader.model.unowned import FargateProfile, FargateSelector, NodeClass, NodePool
from upgrader.semver import Version

MIB = 1024 * 1024
ECR = "602401143452.dkr.ecr.us-west-2.amazonaws.com"
SSM = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended/image_id"
CONTROL_PLANE_TEMPLATE = """\
Parameters:
  KubernetesVersion: {Type: String}
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Version: !Ref KubernetesVersion
"""
MANAGED_TEMPLATE = """\
Resources:
  Nodegroup:
    Type: AWS::EKS::Nodegroup
    Properties:
      Version: !Ref KubernetesVersion
"""
SELF_MANAGED_TEMPLATE = """\
Resources:
  NodeGroup:
    Type: AWS::AutoScaling::AutoScalingGroup
  NodeLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
"""
NAMESPACES = ("app", "api", "auth", "billing", "search", "jobs", "notify", "reports", "monitoring")


@dataclass(frozen=True, kw_only=True)
class SubnetSpec:
    name: str
    az: str
    cidr: str
    used: int = 0  # addresses other tenants hold


@dataclass(frozen=True, kw_only=True)
class GroupSpec:
    name: str
    stack: str
    kind: str  # self-managed | managed
    instance_type: str
    subnets: tuple[str, ...]  # one node per subnet name, in order
    pods_per_node: int
    cpu_m: int = 100
    memory: int = 128 * MIB


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    name: str
    region: str
    kubernetes: str
    kubelet: str
    kube_proxy: str
    coredns: str
    cni: str
    cni_env: Mapping[str, str]
    subnets: tuple[SubnetSpec, ...]
    groups: tuple[GroupSpec, ...]
    pdbs: tuple[Pdb, ...] = ()
    extra_pods: tuple[Pod, ...] = ()
    ami_parameters: Mapping[str, str] = field(default_factory=dict)


def subnet_id(name: str) -> str:
    return "subnet-0" + hashlib.sha256(name.encode()).hexdigest()[:16]


def _usable(cidr: str) -> int:
    return ipaddress.ip_network(cidr).num_addresses - 5  # AWS reserves 5 per subnet


def _pod(ns: str, name: str, node: str, *, owner: str, cpu_m: int, memory: int) -> Pod:
    host = owner == "DaemonSet"
    return Pod(
        namespace=ns,
        name=name,
        node=node,
        phase="Running",
        host_network=host,
        ip="10.0.0.1",
        owner_kind=owner,
        owner_name=name.rsplit("-", 1)[0],
        cpu_m=cpu_m,
        memory=memory,
        created="2019-08-01T00:00:00Z",
    )


def build(spec: ClusterSpec) -> ClusterState:
    """A ClusterState with one node per (group, subnet) and its pods, ENIs and stacks."""
    cni = CniSettings.from_env(Version.parse(spec.cni), spec.cni_env)
    subnets = {s.name: s for s in spec.subnets}
    held: dict[str, int] = {s.name: s.used for s in spec.subnets}
    instances: list[Instance] = []
    nodes: list[Node] = []
    pods: list[Pod] = list(spec.extra_pods)
    enis: list[Eni] = []
    asgs: list[AutoScalingGroup] = []
    managed: list[ManagedNodegroup] = []
    stacks: list[Stack] = [
        Stack(
            name=f"{spec.name}-eks",
            stack_id=f"arn:aws:cloudformation:{spec.region}:1:stack/{spec.name}-eks/1",
            status="CREATE_COMPLETE",
            parameters=(("KubernetesVersion", spec.kubernetes),),
            resources=(
                StackResource(
                    logical_id="Cluster",
                    resource_type="AWS::EKS::Cluster",
                    physical_id=spec.name,
                    status="CREATE_COMPLETE",
                ),
            ),
            template_body=CONTROL_PLANE_TEMPLATE,
        )
    ]
    for gi, g in enumerate(spec.groups):
        inst_type = bundled().get(g.instance_type)
        asg_name = f"{g.stack}-NodeGroup-{gi:04d}"
        ids = []
        for ni, sname in enumerate(g.subnets):
            sub = subnets[sname]
            octet = 10 + gi * 10 + ni
            net = ipaddress.ip_network(sub.cidr)
            ip = str(net.network_address + octet)
            dns = f"ip-{ip.replace('.', '-')}.{spec.region}.compute.internal"
            iid = f"i-0{gi:02d}{ni:02d}{octet:013x}"
            ids.append(iid)
            instances.append(
                Instance(
                    instance_id=iid,
                    instance_type=g.instance_type,
                    state="running",
                    az=sub.az,
                    subnet_id=subnet_id(sname),
                    private_ip=ip,
                    private_dns_name=dns,
                    image_id=f"ami-{spec.kubernetes.replace('.', '')}old",
                    launch_time="2019-08-01T00:00:00Z",
                    asg_name=asg_name,
                )
            )
            nodes.append(
                Node(
                    name=dns,
                    instance_id=iid,
                    az=sub.az,
                    instance_type=g.instance_type,
                    kubelet_version=spec.kubelet,
                    kube_proxy_version=spec.kubelet,
                    ready=True,
                    unschedulable=False,
                    allocatable_pods=inst_type.max_enis * (inst_type.ipv4_per_eni - 1) + 2,
                    allocatable_cpu_m=(inst_type.vcpus or 0) * 1000 - 80,
                    allocatable_memory=(inst_type.memory_mib or 0) * MIB * 9 // 10,
                    nodegroup=g.name if g.kind == "managed" else None,
                )
            )
            for ds in ("aws-node", "kube-proxy"):
                pods.append(
                    _pod("kube-system", f"{ds}-{octet}", dns, owner="DaemonSet", cpu_m=10, memory=0)
                )
            pods.append(
                _pod(
                    "kube-system",
                    f"coredns-{octet}",
                    dns,
                    owner="ReplicaSet",
                    cpu_m=100,
                    memory=70 * MIB,
                )
            )
            for k in range(g.pods_per_node):
                ns = NAMESPACES[k % len(NAMESPACES)]
                pods.append(
                    _pod(
                        ns,
                        f"{ns}-{octet}-{k:02d}",
                        dns,
                        owner="ReplicaSet",
                        cpu_m=g.cpu_m,
                        memory=g.memory,
                    )
                )
            a = node_addresses(inst_type, cni, g.pods_per_node + 1)
            per, extra = divmod(a.subnet_ips, max(a.enis_attached, 1))
            for e in range(a.enis_attached):
                enis.append(
                    Eni(
                        eni_id=f"eni-{iid[2:]}{e}",
                        subnet_id=subnet_id(sname),
                        status="in-use",
                        description="" if e == 0 else f"aws-K8S-{iid}",
                        instance_id=iid,
                        addresses=per + (1 if e < extra else 0),
                    )
                )
            held[sname] += a.subnet_ips
        group_subnets = tuple(sorted(subnet_id(s) for s in dict.fromkeys(g.subnets)))
        asgs.append(
            AutoScalingGroup(
                name=asg_name,
                min_size=len(ids),
                max_size=len(ids) * 2,
                desired=len(ids),
                subnet_ids=group_subnets,
                instance_ids=tuple(ids),
                launch_template_id=f"lt-{gi:04d}",
                launch_template_version="1",
            )
        )
        if g.kind == "managed":
            managed.append(
                ManagedNodegroup(
                    name=g.name,
                    version=spec.kubernetes,
                    release_version=f"{spec.kubernetes}.0-20241115",
                    status="ACTIVE",
                    asg_names=(asg_name,),
                    subnet_ids=group_subnets,
                    instance_types=(g.instance_type,),
                    desired=len(ids),
                    min_size=len(ids),
                    max_size=len(ids) * 2,
                )
            )
            stacks.append(
                Stack(
                    name=g.stack,
                    stack_id=f"arn:stack/{g.stack}/1",
                    status="UPDATE_COMPLETE",
                    parameters=(("KubernetesVersion", spec.kubernetes),),
                    resources=(
                        StackResource(
                            logical_id="Nodegroup",
                            resource_type="AWS::EKS::Nodegroup",
                            physical_id=f"{spec.name}/{g.name}",
                            status="CREATE_COMPLETE",
                        ),
                    ),
                    template_body=MANAGED_TEMPLATE,
                )
            )
        else:
            stacks.append(
                Stack(
                    name=g.stack,
                    stack_id=f"arn:stack/{g.stack}/1",
                    status="CREATE_COMPLETE",
                    parameters=tuple(
                        sorted(
                            {
                                "NodeGroupName": g.name,
                                "NodeImageId": "",
                                "NodeImageIdSSMParam": SSM.format(spec.kubernetes),
                                "NodeInstanceType": g.instance_type,
                            }.items()
                        )
                    ),
                    resources=(
                        StackResource(
                            logical_id="NodeGroup",
                            resource_type="AWS::AutoScaling::AutoScalingGroup",
                            physical_id=asg_name,
                            status="CREATE_COMPLETE",
                        ),
                    ),
                    template_body=SELF_MANAGED_TEMPLATE,
                )
            )
    state_subnets = tuple(
        Subnet(
            subnet_id=subnet_id(s.name),
            name=s.name,
            az=s.az,
            cidr=s.cidr,
            available_ips=_usable(s.cidr) - held[s.name],
        )
        for s in spec.subnets
    )
    env = tuple(sorted({**spec.cni_env, "AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG"}.items()))
    n = len(nodes)
    return ClusterState(
        region=spec.region,
        cluster=EksCluster(
            name=spec.name,
            version=spec.kubernetes,
            platform_version="eks.1",
            status="ACTIVE",
            endpoint=f"https://{spec.name}.eks.example",
            subnet_ids=tuple(s.subnet_id for s in state_subnets),
        ),
        subnets=state_subnets,
        stacks=tuple(stacks),
        asgs=tuple(asgs),
        managed_nodegroups=tuple(managed),
        instances=tuple(instances),
        enis=tuple(enis),
        ami_parameters=tuple(sorted(spec.ami_parameters.items())),
        server_version=f"{spec.kubelet}",
        nodes=tuple(nodes),
        pods=tuple(sorted(pods, key=lambda p: (p.namespace, p.name))),
        daemonsets=(
            DaemonSet(
                namespace="kube-system",
                name="aws-node",
                api_version="apps/v1",
                containers=(
                    Container(name="aws-node", image=f"{ECR}/amazon-k8s-cni:{spec.cni}", env=env),
                ),
                update_strategy="RollingUpdate",
                max_unavailable="10%",
                desired=n,
                ready=n,
                updated=n,
            ),
            DaemonSet(
                namespace="kube-system",
                name="kube-proxy",
                api_version="apps/v1",
                containers=(
                    Container(name="kube-proxy", image=f"{ECR}/eks/kube-proxy:{spec.kube_proxy}"),
                ),
                update_strategy="RollingUpdate",
                max_unavailable="1",
                desired=n,
                ready=n,
                updated=n,
            ),
        ),
        workloads=(
            Workload(
                kind="Deployment",
                namespace="kube-system",
                name="coredns",
                api_version="apps/v1",
                replicas=n,
                ready=n,
                containers=(Container(name="coredns", image=f"{ECR}/eks/coredns:{spec.coredns}"),),
            ),
        ),
        pdbs=spec.pdbs,
    )


def pdb(
    ns: str,
    name: str,
    *,
    expected: int,
    min_available: str | None = None,
    max_unavailable: str | None = None,
    allowed: int | None = None,
) -> Pdb:
    """A PDB with counters as the disruption controller would set them (all healthy)."""
    if allowed is None:
        if max_unavailable is not None:
            allowed = int(max_unavailable)
        else:
            allowed = max(expected - int(min_available or "0"), 0)
    return Pdb(
        namespace=ns,
        name=name,
        api_version="policy/v1beta1",
        min_available=min_available,
        max_unavailable=max_unavailable,
        selector=(("app", name),),
        expected_pods=expected,
        current_healthy=expected,
        desired_healthy=expected - allowed,
        disruptions_allowed=allowed,
    )


STAGING_SPEC = ClusterSpec(
    name="staging",
    region="ap-northeast-1",
    kubernetes="1.12",
    kubelet="v1.12.10-eks-ffbd9",
    kube_proxy="v1.12.6",
    coredns="v1.2.2",
    cni="v1.3.2",
    cni_env={"WARM_ENI_TARGET": "1"},
    subnets=(
        SubnetSpec(name="private-a", az="ap-northeast-1a", cidr="10.0.0.0/24"),
        SubnetSpec(name="private-c", az="ap-northeast-1c", cidr="10.0.1.0/24"),
    ),
    groups=(
        GroupSpec(
            name="workers",
            stack="staging-workers",
            kind="self-managed",
            instance_type="r5.xlarge",
            subnets=("private-a", "private-c"),
            pods_per_node=28,
        ),
    ),
    pdbs=(
        pdb("app", "web", expected=8, max_unavailable="1"),
        pdb("auth", "auth", expected=6, min_available="3"),
    ),
    ami_parameters={SSM.format("1.13"): "ami-0113new"},
)


def staging(**changes: object) -> ClusterState:
    """The seed's Staging: 1.12, 2 x r5.xlarge in private-a/private-c (/24), 28 workload
    pods (+ CoreDNS) per node, aws-node v1.3.2 with WARM_ENI_TARGET=1."""
    return build(replace(STAGING_SPEC, **changes))  # type: ignore[arg-type]


def tight() -> ClusterState:
    """Staging with private-a nearly full: 45 addresses free."""
    state = staging()
    a = next(s for s in state.subnets if s.name == "private-a")
    subnets = tuple(replace(s, available_ips=45) if s is a else s for s in state.subnets)
    return replace(state, subnets=subnets)


MODERN_SPEC = ClusterSpec(
    name="modern",
    region="eu-west-1",
    kubernetes="1.31",
    kubelet="v1.31.2-eks-94953ac",
    kube_proxy="v1.31.2-eksbuild.3",
    coredns="v1.11.3-eksbuild.1",
    cni="v1.19.2",
    cni_env={
        "WARM_ENI_TARGET": "1",
        "WARM_PREFIX_TARGET": "1",
        "ENABLE_PREFIX_DELEGATION": "false",
    },
    subnets=tuple(
        SubnetSpec(
            name=f"modern-private-{z}", az=f"eu-west-1{z}", cidr=f"10.20.{4 * i}.0/22", used=40
        )
        for i, z in enumerate("abc")
    ),
    groups=(
        GroupSpec(
            name="general",
            stack="modern-general",
            kind="managed",
            instance_type="m5.xlarge",
            subnets=("modern-private-a", "modern-private-b", "modern-private-c"),
            pods_per_node=10,
        ),
        GroupSpec(
            name="memory",
            stack="modern-memory",
            kind="self-managed",
            instance_type="r5.xlarge",
            subnets=("modern-private-a", "modern-private-b", "modern-private-c"),
            pods_per_node=4,
            cpu_m=500,
            memory=2048 * MIB,
        ),
    ),
    pdbs=(
        pdb("shop", "frontend", expected=12, max_unavailable="1"),
        pdb("shop", "cart", expected=9, min_available="6"),
    ),
    ami_parameters={SSM.format("1.32"): "ami-0132new"},
)


def upgrade_insight(
    status: InsightStatus = InsightStatus.PASSING,
    *,
    version: str = "1.32",
    deprecations: tuple[Deprecation, ...] = (),
    **changes: object,
) -> Insight:
    """EKS's "Deprecated APIs removed in Kubernetes v<version>" insight, as the twin
    serves it, with ``status``."""
    insight = Insight(
        id=f"0f1e2d3c-4b5a-4697-8877-{version.replace('.', ''):0>12}",
        name=f"Deprecated APIs removed in Kubernetes v{version}",
        kubernetes_version=version,
        status=status,
        reason="No deprecated API usage detected within the last 30 days.",
        description=f"Checks for usage of deprecated APIs scheduled for removal in v{version}.",
        recommendation=(
            "Update manifests and API clients to use newer Kubernetes APIs if applicable "
            f"before upgrading to Kubernetes v{version}."
        ),
        deprecations=deprecations,
        links=(
            (
                "Kubernetes deprecation guide",
                "https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
            ),
        ),
    )
    return replace(insight, **changes)  # type: ignore[arg-type]


FLOWSCHEMAS = Deprecation(
    usage="/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
    replaced_with="/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
    stop_serving_version="1.32",
    start_serving_replacement_version="1.29",
    clients=(),
)
MODERN_INSIGHTS = UpgradeInsights(
    insights=(
        upgrade_insight(deprecations=(FLOWSCHEMAS,)),
        upgrade_insight(
            id="5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            name="Kubelet version skew",
            reason="Node kubelet versions match the cluster control plane version.",
            description=(
                "Checks for kubelet versions of worker nodes in the cluster to see if upgrade "
                "would cause noncompliance with supported Kubernetes kubelet version skew policy."
            ),
            recommendation=(
                "Upgrade your worker nodes to match the Kubernetes version of your cluster "
                "control plane."
            ),
            links=(),
        ),
    )
)


def modern(**changes: object) -> ClusterState:
    """A current cluster: 1.31, 3 AZs, a managed m5.xlarge group and a self-managed
    r5.xlarge group, CNI v1.19.2; EKS's upgrade insights for 1.32 all pass."""
    state = build(replace(MODERN_SPEC, **changes))  # type: ignore[arg-type]
    return replace(state, insights=MODERN_INSIGHTS)


def modern_129(**changes: object) -> ClusterState:
    """Modern (a managed group and a self-managed group on an SSM AMI parameter), at 1.29
    with aws-node v1.19.2."""
    spec: dict[str, object] = {
        "kubernetes": "1.29",
        "kubelet": "v1.29.10-eks-94953ac",
        "kube_proxy": "v1.29.10-eksbuild.3",
        "coredns": "v1.11.1-eksbuild.4",
        "cni": "v1.19.2",
        "ami_parameters": {},
    }
    return modern(**{**spec, **changes})


def config(
    state: ClusterState,
    *,
    target: str,
    cni: str | None = None,
    env: Mapping[str, str] | None = None,
    nodegroups: Sequence[str] | None = None,
    gates: Mapping[str, int] | None = None,
) -> Config:
    """A Config for ``state``'s stacks (``<cluster>-eks`` and every node-group stack)."""
    name = state.cluster.name
    stacks = nodegroups
    if stacks is None:
        stacks = tuple(s.name for s in state.stacks if s.name != f"{name}-eks")
    return Config(
        path=Path("upgrader.yaml"),
        cluster=name,
        region=state.region,
        control_plane_stack=f"{name}-eks",
        nodegroup_stacks=tuple(stacks),
        target_kubernetes=Version.parse(target),
        target_cni=Version.parse(cni) if cni else None,
        cni_env=tuple(sorted((env or {}).items())),
        gates=tuple(sorted({**GATE_DEFAULTS, **(gates or {})}.items())),
    )


FARGATE_LABELS = (("eks.amazonaws.com/compute-type", "fargate"),)


def with_unowned(
    state: ClusterState, *, fargate_kubelet: str | None = None, karpenter_kubelet: str | None = None
) -> ClusterState:
    """``state`` plus what upgrader does not own: a Fargate profile with two nodes running a
    Deployment's pods, a Karpenter NodePool (v1, ``al2023@latest``) with two nodes."""
    kubelet = state.nodes[0].kubelet_version
    az, sub = state.subnets[0].az, state.subnets[0].subnet_id

    def node(name: str, instance: str, labels: Pairs, version: str) -> Node:
        return replace(
            state.nodes[0],
            name=name,
            instance_id=instance,
            az=az,
            kubelet_version=version,
            kube_proxy_version=version,
            nodegroup=None,
            labels=labels,
        )

    fargate = [
        node(f"fargate-ip-10-0-9-{i}.{state.region}.compute.internal", f"fargate-ip-10-0-9-{i}",
             FARGATE_LABELS, fargate_kubelet or kubelet)
        for i in (1, 2)
    ]  # fmt: skip
    karpenter = [
        node(f"ip-10-0-8-{i}.{state.region}.compute.internal", f"i-0karpenter00000{i}",
             (("karpenter.sh/nodepool", "default"),), karpenter_kubelet or kubelet)
        for i in (1, 2)
    ]  # fmt: skip
    pods = [
        replace(state.pods[0], namespace="jobs", name=f"runner-5d8f7c9b6-{i}", node=n.name,
                owner_kind="ReplicaSet", owner_name="runner-5d8f7c9b6", host_network=False)
        for i, n in enumerate(fargate)
    ]  # fmt: skip
    return replace(
        state,
        nodes=tuple(sorted((*state.nodes, *fargate, *karpenter), key=lambda n: n.name)),
        pods=tuple(sorted((*state.pods, *pods), key=lambda p: (p.namespace, p.name))),
        workloads=(
            *state.workloads,
            Workload(
                kind="Deployment",
                namespace="jobs",
                name="runner",
                api_version="apps/v1",
                replicas=2,
                ready=2,
            ),
        ),
        fargate_profiles=(
            FargateProfile(
                name="batch",
                status="ACTIVE",
                selectors=(FargateSelector(namespace="jobs"),),
                subnet_ids=(sub,),
            ),
        ),
        nodepools=(NodePool(name="default", api_version="karpenter.sh/v1", node_class="default"),),
        nodeclasses=(
            NodeClass(
                name="default",
                api_version="karpenter.k8s.aws/v1",
                ami_selectors=("alias=al2023@latest",),
            ),
        ),
    )
