"""The plan's steps: one frozen record per kind, with what apply needs (``params``) and
what the planner predicted (``predicted``), as the plan file carries them (DESIGN §6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, TypeAlias

from upgrader.model.records import JsonObject, RecordError, from_json, to_json

PARAMS = {"section": "params"}
PREDICTED = {"section": "predicted"}


class StepKind(StrEnum):
    CONTROL_PLANE = "control-plane"
    KUBE_PROXY = "kube-proxy"
    COREDNS = "coredns"
    CNI = "cni"
    MANAGED_ADDON = "managed-addon"
    MANAGED_ADDON_STACK = "managed-addon-stack"
    MANAGED_ADDON_ADOPT = "managed-addon-adopt"
    FARGATE_RESTART = "fargate-restart"
    NODEGROUP_STACK = "nodegroup-stack"
    NODEGROUP_ROLL = "nodegroup-roll"
    VERIFY = "verify"


@dataclass(frozen=True, kw_only=True)
class ResourceChange:
    """One resource a change set changes, as CloudFormation describes it."""

    action: str  # Add, Modify, Remove
    logical_id: str
    type: str
    replacement: str | None  # True, False, Conditional; None where CloudFormation gives none


@dataclass(frozen=True, kw_only=True)
class ChangeSet:
    """The change set a step executes (created by ``plan``, never executed by it)."""

    name: str
    id: str
    stack: str
    status: str  # CREATE_COMPLETE, or NO_CHANGES (then nothing was left behind)
    changes: tuple[ResourceChange, ...]


@dataclass(frozen=True, kw_only=True)
class TemplateChange:
    """A new template the change set carries (a launch-configuration group migrated to a
    launch template, an Amazon Linux 2 group moved to AL2023), with the diff the runbook
    shows and why."""

    body: str
    diff: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class StepBase:
    """What every step has. ``gates`` are the IDs re-checked right before it."""

    json_sections: ClassVar[tuple[str, ...]] = ("params", "predicted")

    id: str
    description: str
    gates: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ControlPlaneStep(StepBase):
    """The cluster stack's version parameter set through a change set."""

    kind: ClassVar[StepKind] = StepKind.CONTROL_PLANE
    stack: str = field(metadata=PARAMS)
    parameter: str | None = field(metadata=PARAMS)
    from_: str = field(metadata={**PARAMS, "key": "from"})
    to: str = field(metadata=PARAMS)
    change_set: ChangeSet | None = field(default=None, metadata=PARAMS)
    # The stack parameter the cluster's RollbackConfig.TimeoutMinutes takes, and the value
    # the change set gives it (None: the template has none, EKS's default applies).
    rollback_parameter: str | None = field(default=None, metadata=PARAMS)
    rollback_timeout_minutes: int | None = field(default=None, metadata=PARAMS)
    minutes: tuple[int, int] = field(metadata=PREDICTED)

    def stack_parameters(self) -> dict[str, str]:
        """The parameters the step's change set sets."""
        wanted = {str(self.parameter): self.to}
        if self.rollback_parameter is not None and self.rollback_timeout_minutes is not None:
            wanted[self.rollback_parameter] = str(self.rollback_timeout_minutes)
        return wanted


@dataclass(frozen=True, kw_only=True)
class ManifestStep(StepBase):
    """A DaemonSet or Deployment of kube-system replaced by a compiled manifest."""

    namespace: str = field(metadata=PARAMS)
    name: str = field(metadata=PARAMS)
    resource: str = field(metadata=PARAMS)  # daemonset | deployment
    from_: str = field(metadata={**PARAMS, "key": "from"})
    to: str = field(metadata=PARAMS)
    manifest: tuple[JsonObject, ...] | None = field(metadata=PARAMS)
    nodes: int = field(metadata=PREDICTED)
    kind: StepKind
    kinds: ClassVar[frozenset[StepKind]] = frozenset()

    def __post_init__(self) -> None:
        if self.kind not in self.kinds:
            raise RecordError(f"step {self.id}", f"kind {self.kind} is not a {type(self).__name__}")


@dataclass(frozen=True, kw_only=True)
class AddonStep(ManifestStep):
    """kube-proxy or CoreDNS to the target's version."""

    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.KUBE_PROXY, StepKind.COREDNS})


@dataclass(frozen=True, kw_only=True)
class CniStep(ManifestStep):
    """aws-node to the next CNI release: one minor per step, the user's env kept."""

    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.CNI})


@dataclass(frozen=True, kw_only=True)
class ManagedAddonStep(StepBase):
    """An EKS managed add-on to a version EKS offers for the step's Kubernetes minor:
    ``UpdateAddon`` with ``resolveConflicts`` PRESERVE and the add-on's own
    ``configurationValues`` sent back byte for byte, then ``DescribeUpdate`` until done."""

    kind: ClassVar[StepKind] = StepKind.MANAGED_ADDON
    addon: str = field(metadata=PARAMS)
    from_: str = field(metadata={**PARAMS, "key": "from"})
    to: str = field(metadata=PARAMS)
    resolve_conflicts: str = field(metadata=PARAMS)
    configuration_values: str | None = field(metadata=PARAMS)
    nodes: int = field(metadata=PREDICTED)


@dataclass(frozen=True, kw_only=True)
class ManagedAddonStackStep(ManagedAddonStep):
    """An EKS add-on declared in a stack (``AWS::EKS::Addon`` ``resource``) moved through a
    change set on that stack setting ``parameter`` (its ``AddonVersion``). Its
    ``ResolveConflicts`` and ``ConfigurationValues`` stay as the template has them
    (``resolve_conflicts`` shows the template's, ``configuration_values`` EKS's)."""

    kind: ClassVar[StepKind] = StepKind.MANAGED_ADDON_STACK
    stack: str = field(metadata=PARAMS)
    resource: str = field(metadata=PARAMS)
    parameter: str = field(metadata=PARAMS)
    change_set: ChangeSet | None = field(default=None, metadata=PARAMS)

    def stack_parameters(self) -> dict[str, str]:
        """The parameters the step's change set sets."""
        return {self.parameter: self.to}


@dataclass(frozen=True, kw_only=True)
class ManagedAddonAdoptStep(ManagedAddonStep):
    """A self-managed add-on made an EKS managed one (``addons.adopt``): ``CreateAddon`` at
    the release it runs, ``resolveConflicts`` OVERWRITE (EKS takes its objects over), for
    vpc-cni the config's ``cni.env`` as ``configurationValues``; ``from_`` is the image tag
    the self-managed object runs."""

    kind: ClassVar[StepKind] = StepKind.MANAGED_ADDON_ADOPT


@dataclass(frozen=True, kw_only=True)
class NodegroupStackStep(StepBase):
    """A node group's stack updated through a change set (new AMI or version)."""

    kind: ClassVar[StepKind] = StepKind.NODEGROUP_STACK
    stack: str = field(metadata=PARAMS)
    nodegroup: str = field(metadata=PARAMS)
    parameters: tuple[tuple[str, str], ...] = field(metadata=PARAMS)
    change_set: ChangeSet | None = field(default=None, metadata=PARAMS)
    update_policy: str = field(metadata=PARAMS)
    template: TemplateChange | None = field(default=None, metadata=PARAMS)
    # The managed node group this update deletes: the Amazon Linux 2 group whose nodes
    # the roll before it drained into its AL2023 successor (None: deletes none).
    retires: str | None = field(default=None, metadata=PARAMS)

    def stack_parameters(self) -> dict[str, str]:
        """The parameters the step's change set sets."""
        return dict(self.parameters)


@dataclass(frozen=True, kw_only=True)
class SubnetWave:
    """One subnet during one wave of a roll: its free addresses at the wave's peak (the
    new nodes launched, the old ones not yet terminated) and after the wave."""

    free_at_peak: int
    free_after: int


@dataclass(frozen=True, kw_only=True)
class SubnetPrediction:
    """One subnet across a roll: free before, the peak demand, released, free after,
    the lowest free count at any wave's peak, and the reserve kept.

    ``waves`` has one entry per wave of the roll, in order (a wave that takes nothing
    here keeps its free count); empty in a plan written before it was recorded."""

    subnet_id: str
    name: str
    az: str
    free_before: int
    peak_demand: int
    released: int
    free_after: int
    min_free: int
    reserve: int
    waves: tuple[SubnetWave, ...] = ()


@dataclass(frozen=True, kw_only=True)
class NodegroupRollStep(StepBase):
    """A node group's nodes replaced in capacity-aware waves (instance IDs per wave)."""

    kind: ClassVar[StepKind] = StepKind.NODEGROUP_ROLL
    nodegroup: str = field(metadata=PARAMS)
    stack: str = field(metadata=PARAMS)
    asg: str | None = field(metadata=PARAMS)
    group_kind: str = field(metadata={**PARAMS, "key": "kind"})  # self-managed | managed
    instance_type: str = field(metadata=PARAMS)
    waves: tuple[tuple[str, ...], ...] = field(metadata=PARAMS)
    surge: int = field(metadata=PARAMS)
    # A managed group moving to Amazon Linux 2023: the successor group its stack update
    # created, whose nodes must be Ready before the old group's are cordoned and drained
    # (None: the group's nodes are replaced in place).
    successor: str | None = field(default=None, metadata=PARAMS)
    predicted_waves: int = field(metadata={**PREDICTED, "key": "waves"})
    lower_bound: int | None = field(metadata=PREDICTED)
    subnets: tuple[SubnetPrediction, ...] = field(metadata=PREDICTED)


@dataclass(frozen=True, kw_only=True)
class FargateRestartStep(StepBase):
    """The workloads with pods on Fargate restarted as ``kubectl rollout restart`` does
    (a pod template annotation), so that each new pod starts on a kubelet of ``to``: a
    Fargate pod keeps the kubelet it started with. ``manual`` names pods no Deployment
    owns (StatefulSets, Jobs, bare pods), to restart by hand: the runbook says so."""

    kind: ClassVar[StepKind] = StepKind.FARGATE_RESTART
    to: str = field(metadata=PARAMS)
    workloads: tuple[str, ...] = field(metadata=PARAMS)  # "Deployment batch/runner"
    manual: tuple[str, ...] = field(default=(), metadata=PARAMS)  # "batch/job-x-1"
    pods: int = field(metadata=PREDICTED)


@dataclass(frozen=True, kw_only=True)
class VerifyStep(StepBase):
    """Every node at the target, aws-node at the target, no pod stuck, leaks reported."""

    kind: ClassVar[StepKind] = StepKind.VERIFY


Step: TypeAlias = (
    ControlPlaneStep
    | AddonStep
    | CniStep
    | ManagedAddonStep
    | ManagedAddonStackStep
    | ManagedAddonAdoptStep
    | NodegroupStackStep
    | NodegroupRollStep
    | FargateRestartStep
    | VerifyStep
)
StackStep: TypeAlias = ControlPlaneStep | NodegroupStackStep | ManagedAddonStackStep


def change_set_inputs(step: StackStep) -> tuple[dict[str, str], str | None]:
    """The parameters a stack step's change set sets, and the new template it carries
    (a migrated node-group template; None: the stack's own)."""
    template = step.template if isinstance(step, NodegroupStackStep) else None
    return step.stack_parameters(), template.body if template is not None else None


RECORDS: Mapping[StepKind, type[Step]] = {
    StepKind.CONTROL_PLANE: ControlPlaneStep,
    StepKind.KUBE_PROXY: AddonStep,
    StepKind.COREDNS: AddonStep,
    StepKind.CNI: CniStep,
    StepKind.MANAGED_ADDON: ManagedAddonStep,
    StepKind.MANAGED_ADDON_STACK: ManagedAddonStackStep,
    StepKind.MANAGED_ADDON_ADOPT: ManagedAddonAdoptStep,
    StepKind.NODEGROUP_STACK: NodegroupStackStep,
    StepKind.NODEGROUP_ROLL: NodegroupRollStep,
    StepKind.FARGATE_RESTART: FargateRestartStep,
    StepKind.VERIFY: VerifyStep,
}


def step_to_json(step: Step) -> JsonObject:
    """A step as the plan file holds it: id, kind, description, gates, params, predicted."""
    return {**to_json(step), "kind": str(step.kind)}


def step_from_json(raw: object, path: str) -> Step:
    """A step of any kind from the plan file; :class:`RecordError` naming what is wrong."""
    if not isinstance(raw, Mapping):
        raise RecordError(path, "is not an object")
    known = ", ".join(str(k) for k in StepKind)
    try:
        kind = StepKind(str(raw.get("kind")))
    except ValueError:
        raise RecordError(f"{path}.kind", f"{raw.get('kind')!r} is not one of {known}") from None
    cls = RECORDS[kind]
    fields = {f.name for f in dataclasses.fields(cls)}
    body = dict(raw) if "kind" in fields else {k: v for k, v in raw.items() if k != "kind"}
    return from_json(cls, body, path)
