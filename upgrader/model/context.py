"""``plan.context``: what the runbook shows without rediscovering anything."""

from __future__ import annotations

from dataclasses import dataclass

from upgrader.catalog.instances import memory_shown
from upgrader.model.insights import NO_INSIGHTS, UpgradeInsights


@dataclass(frozen=True, kw_only=True)
class StackNames:
    """The stacks of the config: the cluster's and the node groups'."""

    control_plane: str
    nodegroups: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CniContext:
    """The TARGET CNI release with the user's env: the settings every prediction uses;
    ``mode`` is the ipamd rule that sizes a node's pool."""

    version: str
    env: tuple[tuple[str, str], ...]
    mode: str  # WARM_ENI | WARM_IP | PREFIX
    notes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SubnetContext:
    """One subnet of the cluster as discovered."""

    subnet_id: str
    name: str
    az: str
    cidr: str
    free: int
    control_plane: bool

    @property
    def label(self) -> str:
        """Name tag and ID, e.g. ``private-a (subnet-0a1b)``."""
        return f"{self.name} ({self.subnet_id})" if self.name else self.subnet_id


@dataclass(frozen=True, kw_only=True)
class NodegroupContext:
    """One node group: the seed's capacity columns plus max pods, counts and images."""

    name: str
    stack: str
    kind: str  # self-managed | managed
    asg: str | None
    instance_type: str
    memory_mib: int | None  # None: unknown (a type only the VPC CNI's limits tables list)
    vcpus: int | None
    max_enis: int
    ipv4_per_eni: int
    max_ips: int
    max_pods: int
    nodes: int
    pods: int
    subnet_ids: tuple[str, ...]
    image_from: str
    image_to: str

    @property
    def memory(self) -> str:
        """Memory as the seed's table writes it (``32 GiB``; ``—`` when unknown)."""
        return memory_shown(self.memory_mib)


@dataclass(frozen=True, kw_only=True)
class AddonContext:
    """One add-on as discovered: an EKS managed add-on, or the object it runs as when
    self-managed."""

    name: str
    managed: bool
    version: str  # the add-on version (managed), or the image tag (self-managed)
    status: str = ""  # EKS's status (managed)
    configured: bool = False  # has configurationValues (managed)
    stack: str | None = None  # the config's stack declaring it (AWS::EKS::Addon)
    runs_as: str = ""  # self-managed: "DaemonSet kube-system/aws-node"


@dataclass(frozen=True, kw_only=True)
class FargateProfileContext:
    name: str
    status: str
    selectors: tuple[str, ...]  # "namespace" or "namespace (k=v, ...)"
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class NodePoolContext:
    """A Karpenter NodePool with what its EC2NodeClass says about AMIs."""

    name: str
    api_version: str
    node_class: str
    ami_selectors: tuple[str, ...]
    follows_control_plane: bool | None  # None: its EC2NodeClass was not found
    budgets: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class UnownedNodesContext:
    """Nodes of no configured node group with one owner, pool and kubelet version."""

    owner: str  # fargate | karpenter | other
    pool: str  # the Karpenter NodePool ("" otherwise)
    kubelet: str
    nodes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FargateWorkloadContext:
    """A workload with pods on Fargate: restarting it moves them to the new version."""

    kind: str  # Deployment | StatefulSet | the pod's owner kind | Pod
    namespace: str
    name: str


@dataclass(frozen=True, kw_only=True)
class UnownedContext:
    """What runs on nodes upgrader does not drain or replace: Fargate, Karpenter, others."""

    fargate_profiles: tuple[FargateProfileContext, ...] = ()
    fargate_workloads: tuple[FargateWorkloadContext, ...] = ()
    nodepools: tuple[NodePoolContext, ...] = ()
    nodes: tuple[UnownedNodesContext, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PlanContext:
    """Stacks, gate thresholds used, CNI settings, subnets, node groups, add-ons and the
    nodes upgrader does not own."""

    stacks: StackNames
    gates: tuple[tuple[str, int], ...]
    cni: CniContext
    subnets: tuple[SubnetContext, ...]
    nodegroups: tuple[NodegroupContext, ...]
    insights: UpgradeInsights = NO_INSIGHTS  # EKS's, for the runbook
    addons: tuple[AddonContext, ...] = ()
    unowned: UnownedContext = UnownedContext()

    def nodegroup(self, name: str) -> NodegroupContext | None:
        return next((g for g in self.nodegroups if g.name == name), None)

    def subnet_label(self, subnet_id: str, name: str = "") -> str:
        """``Name (subnet-id)``, the name from the context when not given."""
        if not name:
            found = next((s for s in self.subnets if s.subnet_id == subnet_id), None)
            name = found.name if found else ""
        return f"{name} ({subnet_id})" if name else subnet_id
