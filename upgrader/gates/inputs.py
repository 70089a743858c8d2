"""What every gate reads: the discovered state, the config and the planner's decisions."""

from __future__ import annotations

from dataclasses import dataclass

from upgrader.capacity.settings import CniSettings
from upgrader.capacity.waves import RollPlan
from upgrader.catalog.instances import InstanceType
from upgrader.config import Config
from upgrader.model.aws import Subnet
from upgrader.model.plan import Versions
from upgrader.model.state import ClusterState
from upgrader.semver import Version

SELF_MANAGED = "self-managed"
MANAGED = "managed"
# EKS surges managed groups by max(2 x AZs, maxUnavailable): about two new nodes per AZ,
# whatever the subnets can take (research/upgrade-tools.md §5).
MANAGED_SURGE_PER_AZ = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiUse:
    """One object in a manifest (or live) and the apiVersion it is written with."""

    source: str  # manifest key ("aws-node@v1.5.5", "coredns", ...) or "live"
    api_version: str
    kind: str
    namespace: str | None
    name: str

    @property
    def ref(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupRoll:
    """One node group as the planner will roll it.

    ``nodes`` are the Kubernetes node names in drain order; ``roll`` is the
    :func:`upgrader.capacity.waves.plan_roll` result for this group alone (its
    subnets' free addresses start where the previous group's roll ended);
    ``cni`` is the TARGET CNI release with the user's env. ``running_types`` are the
    instance types its nodes run now, ``launch_types`` those new nodes launch as (empty:
    ``instance_type``).
    """

    name: str
    stack: str
    kind: str  # self-managed | managed
    asg: str | None
    instance_type: InstanceType
    cni: CniSettings
    subnet_ids: tuple[str, ...]
    nodes: tuple[str, ...]
    kubelet_max_pods: int | None
    roll: RollPlan
    forced_surge_per_az: int | None = None  # managed groups: EKS decides the surge
    successor: str | None = None  # a managed group moving to AL2023: its new group
    running_types: tuple[str, ...] = ()
    launch_types: tuple[str, ...] = ()

    @property
    def instance_types(self) -> tuple[tuple[str, bool], ...]:
        """Every type of the group now or after the roll, with whether a node runs it."""
        running = set(self.running_types or (self.instance_type.name,))
        launch = set(self.launch_types or (self.instance_type.name,))
        return tuple((t, t in running) for t in sorted(running | launch))


@dataclass(frozen=True, slots=True, kw_only=True)
class GateInputs:
    """Everything the gates check, as plain frozen data (no I/O)."""

    state: ClusterState
    config: Config
    from_: Versions
    to: Versions
    cni_steps: tuple[Version, ...]  # CNI releases the plan applies, in order
    groups: tuple[GroupRoll, ...]
    manifest_apis: tuple[ApiUse, ...] = ()
    now_iso: str | None = None

    def subnet_label(self, subnet_id: str) -> str:
        """``private-a (subnet-0abc)``, or the bare ID of an unknown subnet."""
        return subnet_label(self.state.subnet(subnet_id), subnet_id)


def subnet_label(subnet: Subnet | None, subnet_id: str) -> str:
    """How findings and tables name a subnet: its Name tag and its ID."""
    if subnet is None or subnet.name in ("", subnet_id):
        return subnet_id
    return f"{subnet.name} ({subnet_id})"
