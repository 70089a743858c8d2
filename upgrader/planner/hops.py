"""Plans that move the control plane several minors: one hop per minor.

EKS moves the control plane one minor per update. Each hop is planned as a plan of one
minor on the state the previous hops leave behind (:func:`advance` predicts it), so every
hop keeps every gate. Within a hop:

- the VPC CNI moves (one minor per step) only when the hop's Kubernetes does not
  support the running release; the last hop goes to the plan's CNI target;
- managed node groups roll at every hop: EKS refuses the next control-plane update while
  one is behind the cluster's version;
- a self-managed group rolls only when the next hop would put its kubelets beyond the
  skew policy (2 minors before 1.28, 3 from 1.28), and at the last hop: the fewest rolls
  the policy allows, each to the newest version then possible; a group on Amazon Linux 2
  moves to AL2023 at its first roll to a minor without AL2 AMIs (1.33+), with the template
  rendered for the state that hop starts from (``make_plan``'s ``render_hop``).

Waves of a roll after the first hop are planned by apply from the nodes running when that
hop starts (the plan keeps the predicted count); change sets of a stack's later updates
are created by apply too, as executing a change set drops a stack's others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from upgrader.catalog.versions import catalog
from upgrader.config import Config
from upgrader.gates import MANAGED
from upgrader.model.addons import object_of
from upgrader.model.aws import Stack
from upgrader.model.kube import Container, Node
from upgrader.model.managed_ami import (
    AL2023_AMI_TYPES,
    NODEGROUP_TYPE,
    ami_type,
    template_resources,
)
from upgrader.model.plan import Finding, Hop, Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import (
    ControlPlaneStep,
    FargateRestartStep,
    ManagedAddonStackStep,
    ManagedAddonStep,
    ManifestStep,
    NodegroupRollStep,
    NodegroupStackStep,
    Step,
    StepKind,
)
from upgrader.planner.fargate import fargate_pods
from upgrader.planner.groups import discover_groups
from upgrader.planner.versions import SYSTEM, aws_node_container
from upgrader.semver import Version

LATER_WAVES = (
    " Its waves are planned when this hop starts, from the nodes running then "
    "(the count shown is predicted)."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HopTarget:
    """One hop: its Kubernetes minor and the config a plan of that one minor takes
    (target Kubernetes and CNI of the hop, the node-group stacks rolled at it)."""

    kubernetes: Version
    config: Config

    @property
    def minor(self) -> str:
        return self.kubernetes.minor_str


def minors_between(current: str, target: Version) -> tuple[Version, ...]:
    """The Kubernetes minors after ``current`` up to ``target``, oldest first."""
    known = catalog()
    now = known.kubernetes(current).version
    then = known.kubernetes(target).version
    return tuple(v for v in known.kubernetes_versions() if now < v <= then)


def is_multi_hop(state: ClusterState, config: Config) -> bool:
    """Whether ``config``'s target is more than one minor after the running control plane."""
    known = catalog()
    now = known.kubernetes(state.cluster.version).version
    then = known.kubernetes(config.target_kubernetes).version
    return then > now and known.next_minor(now) != then


def _kubelet_minor(nodes: Iterable[Node], fallback: str) -> str:
    minors = sorted(
        (Version.parse(n.kubelet_version.split("-")[0]) for n in nodes),
        key=lambda v: v.minor_key,
    )
    return minors[0].minor_str if minors else fallback


def roll_schedule(hops: tuple[Version, ...], kubelet: str, managed: bool) -> tuple[bool, ...]:
    """Per hop, whether a group whose oldest kubelet is ``kubelet`` rolls at it."""
    known = catalog()
    rolls = []
    for i, hop in enumerate(hops):
        last = i == len(hops) - 1
        behind_next = not last and not known.kubelet_skew_ok(hops[i + 1], kubelet)
        roll = managed or last or behind_next
        rolls.append(roll)
        if roll:
            kubelet = hop.minor_str
    return tuple(rolls)


def _hop_cni(hop: Version, running: Version, last: bool, config: Config) -> Version | None:
    """The CNI a hop moves to: the plan's target at the last hop; else the running release
    while the hop supports it, else the plan's target where the hop supports that (never
    beyond it), else the hop's recommended release."""
    if last:
        return config.target_cni
    known = catalog()
    release = known.kubernetes(hop)
    final = config.target_cni or known.kubernetes(config.target_kubernetes).cni
    for candidate in (running, final):
        if release.supports_cni(candidate):
            return candidate
    return release.cni


def hop_targets(state: ClusterState, config: Config) -> tuple[HopTarget, ...]:
    """Every hop from the running control plane to ``config``'s target."""
    hops = minors_between(state.cluster.version, config.target_kubernetes)
    groups = discover_groups(state, config)
    schedules = {
        g.stack.name: roll_schedule(
            hops,
            _kubelet_minor(g.nodes, state.cluster.version),
            g.kind == MANAGED,
        )
        for g in groups
    }
    running = Version.parse(aws_node_container(state).tag, "aws-node image tag")
    out = []
    for i, hop in enumerate(hops):
        last = i == len(hops) - 1
        cni = _hop_cni(hop, running, last, config)
        stacks = tuple(s for s in config.nodegroup_stacks if s not in schedules or schedules[s][i])
        out.append(
            HopTarget(
                kubernetes=hop,
                config=dataclasses.replace(
                    config, target_kubernetes=hop, target_cni=cni, nodegroup_stacks=stacks
                ),
            )
        )
        if cni is not None:
            running = cni
    return tuple(out)


# --- the state a hop leaves behind ------------------------------------------------------


def _retag(container: Container, tag: str) -> Container:
    if not container.tag:
        return container
    return dataclasses.replace(container, image=container.image.rsplit(":", 1)[0] + ":" + tag)


def _retagged(containers: tuple[Container, ...], name: str, tag: str) -> tuple[Container, ...]:
    return tuple(_retag(c, tag) if c.name == name else c for c in containers)


def advance(state: ClusterState, hop: HopTarget, plan: Plan) -> ClusterState:
    """The state ``plan`` (of the one minor ``hop``) is predicted to leave: control plane
    and add-ons at its versions, its stacks' new parameters and templates, and the nodes
    of the groups it rolls at the hop's kubelet (same names: a prediction, not discovery)."""
    params: dict[str, dict[str, str]] = {}
    templates: dict[str, str] = {}
    tags: dict[tuple[str, str], str] = {}  # (resource, name) -> the tag its last step sets
    addons: dict[str, str] = {}  # managed add-on -> its version after the hop
    for step in plan.steps:
        if isinstance(step, ControlPlaneStep) and step.parameter:
            params.setdefault(step.stack, {})[step.parameter] = step.to
        elif isinstance(step, NodegroupStackStep):
            params.setdefault(step.stack, {}).update(dict(step.parameters))
            if step.template is not None:
                templates[step.stack] = step.template.body
        elif isinstance(step, ManifestStep):
            tags[(step.resource, step.name)] = step.to
        elif isinstance(step, ManagedAddonStep):
            addons[step.addon] = step.to
            if isinstance(step, ManagedAddonStackStep):
                params.setdefault(step.stack, {}).update(step.stack_parameters())
            if (owned := object_of(step.addon)) is not None:
                tags[(owned[0].lower(), owned[1])] = step.to
    stacks = tuple(
        dataclasses.replace(
            s,
            parameters=tuple(sorted({**dict(s.parameters), **params.get(s.name, {})}.items())),
            template_body=templates.get(s.name, s.template_body),
        )
        for s in state.stacks
    )
    restarted = (  # Fargate pods restarted by the hop start on its kubelet
        {p.node for p in fargate_pods(state) if p.node}
        if any(isinstance(step, FargateRestartStep) for step in plan.steps)
        else set()
    )
    rolled = discover_groups(state, hop.config)
    rolled_nodes = {n.name for g in rolled for n in g.nodes}
    managed = {g.managed.name for g in rolled if g.managed is not None}
    # managed groups moved to AL2023: their nodes now belong to the successor group
    successors = {
        s.nodegroup: s.successor
        for s in plan.steps
        if isinstance(s, NodegroupRollStep) and s.successor is not None
    }
    stacks = tuple(_renamed_resources(s, successors) for s in stacks)
    kubelet = f"v{hop.minor}.0"
    daemonsets = tuple(
        dataclasses.replace(d, containers=_retagged(d.containers, d.name, tags[tag]))
        if d.namespace == SYSTEM and (tag := ("daemonset", d.name)) in tags
        else d
        for d in state.daemonsets
    )
    workloads = tuple(
        dataclasses.replace(w, containers=_retagged(w.containers, w.name, tags[tag]))
        if w.namespace == SYSTEM and (tag := (w.kind.lower(), w.name)) in tags
        else w
        for w in state.workloads
    )
    return dataclasses.replace(
        state,
        cluster=dataclasses.replace(state.cluster, version=hop.minor),
        server_version=kubelet,
        stacks=stacks,
        daemonsets=daemonsets,
        workloads=workloads,
        addons=tuple(
            dataclasses.replace(a, version=addons.get(a.name, a.version)) for a in state.addons
        ),
        managed_nodegroups=tuple(
            dataclasses.replace(
                m,
                name=successors.get(m.name, m.name),
                version=hop.minor,
                ami_type=AL2023_AMI_TYPES.get(ami_type(m), m.ami_type)
                if m.name in successors
                else m.ami_type,
            )
            if m.name in managed
            else m
            for m in state.managed_nodegroups
        ),
        nodes=tuple(
            dataclasses.replace(
                n,
                kubelet_version=kubelet,
                kube_proxy_version=kubelet,
                nodegroup=successors.get(n.nodegroup or "", n.nodegroup),
            )
            if n.name in rolled_nodes or n.name in restarted
            else n
            for n in state.nodes
        ),
    )


def _renamed_resources(stack: Stack, successors: dict[str, str]) -> Stack:
    """``stack`` with each retired node group's resource replaced by its successor's (as
    the stack's new template declares it)."""
    if not successors:
        return stack
    declared = {
        str((v.get("Properties") or {}).get("NodegroupName")): k
        for k, v in template_resources(stack.template_body).items()
        if isinstance(v, Mapping) and v.get("Type") == NODEGROUP_TYPE
    }
    resources = []
    for r in stack.resources:
        old = r.physical_id.rsplit("/", 1)[-1]
        new = successors.get(old)
        if r.resource_type == NODEGROUP_TYPE and new is not None:
            resources.append(
                dataclasses.replace(
                    r,
                    logical_id=declared.get(new, r.logical_id),
                    physical_id=r.physical_id[: len(r.physical_id) - len(old)] + new,
                )
            )
        else:
            resources.append(r)
    return dataclasses.replace(stack, resources=tuple(resources))


# --- one plan of the hops ---------------------------------------------------------------


def step_id(step_id_: str, hop: str) -> str:
    """A step's ID in a plan of several hops: ``control-plane@1.30``."""
    return f"{step_id_}@{hop}"


def hop_steps(plan: Plan, hop: HopTarget, first: bool) -> tuple[Step, ...]:
    """The steps of one hop's plan as the plan of every hop holds them: IDs suffixed with
    the hop, no verify (the last hop's comes once at the end); after the first hop, rolls
    without instance IDs (apply plans their waves when the hop starts)."""
    out: list[Step] = []
    for step in plan.steps:
        if step.kind is StepKind.VERIFY:
            continue
        renamed = dataclasses.replace(step, id=step_id(step.id, hop.minor))
        if not first and isinstance(renamed, NodegroupRollStep):
            renamed = dataclasses.replace(
                renamed, waves=(), surge=0, description=renamed.description + LATER_WAVES
            )
        out.append(renamed)
    return tuple(out)


def merged_findings(plans: Iterable[Plan]) -> tuple[Finding, ...]:
    """Every hop's findings, each once, in hop order."""
    seen: dict[tuple[str, str, str], Finding] = {}
    for plan in plans:
        for f in plan.findings:
            seen.setdefault((f.id, f.subject, f.message), f)
    return tuple(seen.values())


def chain(hops: tuple[HopTarget, ...], plans: tuple[Plan, ...]) -> tuple[Hop, ...]:
    """The plan's ``hops`` records."""
    records = []
    for i, (hop, plan) in enumerate(zip(hops, plans, strict=True)):
        records.append(
            Hop(
                kubernetes=hop.minor,
                to=plan.to,
                nodegroup_stacks=hop.config.nodegroup_stacks,
                steps=tuple(s.id for s in hop_steps(plan, hop, i == 0)),
            )
        )
    return tuple(records)
