"""``make_plan``: discovered state + config -> the reviewed, deterministic plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

from upgrader.capacity.settings import CniSettings
from upgrader.config import Config
from upgrader.gates import GateInputs, api_uses, run
from upgrader.model.context import StackNames
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonStep, Step
from upgrader.planner import managed_al2023
from upgrader.planner.adopt import adopt_steps, adopted, with_adoption
from upgrader.planner.context import build_context, nodegroup_row
from upgrader.planner.fargate import fargate_restart_step
from upgrader.planner.groups import NodeGroup, discover_groups, plan_rolls
from upgrader.planner.hops import (
    advance,
    chain,
    hop_steps,
    hop_targets,
    is_multi_hop,
    merged_findings,
)
from upgrader.planner.managed_addons import (
    managed_addon_steps,
    managed_objects,
    managed_versions,
)
from upgrader.planner.steps import addon_steps, control_plane_step, nodegroup_steps, verify_step
from upgrader.planner.versions import VersionPlan, plan_versions
from upgrader.semver import Version

NO_MANIFESTS: Mapping[str, Any] = MappingProxyType({})
Compile: TypeAlias = Callable[[ClusterState, Config], Mapping[str, Any]]
NO_TEMPLATES: Mapping[str, str] = MappingProxyType({})
Render: TypeAlias = Callable[[ClusterState, Config], Mapping[str, str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Prepared:
    versions: VersionPlan
    managed: tuple[ManagedAddonStep, ...]
    target_cni: CniSettings
    groups: tuple[NodeGroup, ...]
    inputs: GateInputs


def _prepare(
    state: ClusterState, config: Config, manifests: Mapping[str, Any], now_iso: str | None
) -> _Prepared:
    managed = managed_addon_steps(state, config.target_kubernetes.minor_str)
    versions = managed_versions(plan_versions(state, config), managed, state)
    env = dict(versions.cni_env)
    current_cni = CniSettings.from_env(Version.parse(versions.from_.cni), env)
    target_cni = CniSettings.from_env(Version.parse(versions.to.cni), env)
    groups = discover_groups(state, config)
    rolls = plan_rolls(state, groups, current_cni, target_cni, config.gate("subnet_reserve_ips"))
    inputs = GateInputs(
        state=state,
        config=config,
        from_=versions.from_,
        to=versions.to,
        cni_steps=versions.cni_steps,
        groups=rolls,
        manifest_apis=tuple(
            use for key in sorted(manifests) for use in api_uses(key, manifests[key])
        ),
        now_iso=now_iso,
    )
    return _Prepared(
        versions=versions,
        managed=tuple(managed),
        target_cni=target_cni,
        groups=groups,
        inputs=inputs,
    )


def gate_inputs(
    state: ClusterState,
    config: Config,
    *,
    manifests: Mapping[str, Any] = NO_MANIFESTS,
    now_iso: str | None = None,
) -> GateInputs:
    """What the gates check for this state and config (the executor re-runs
    :func:`upgrader.gates.run` on it right before a step)."""
    return _prepare(state, config, manifests, now_iso).inputs


def make_plan(
    state: ClusterState,
    config: Config,
    *,
    manifests: Mapping[str, Any] = NO_MANIFESTS,
    templates: Mapping[str, str] = NO_TEMPLATES,
    now_iso: str | None = None,
    compile_hop: Compile | None = None,
    render_hop: Render | None = None,
) -> Plan:
    """Plan the upgrade of ``state`` to ``config``'s targets. Pure and deterministic.

    ``manifests`` holds compiled manifests as plain data: ``aws-node@<tag>``,
    ``kube-proxy`` and ``coredns`` are embedded in their steps; every entry is
    checked for removed APIs. ``templates`` maps the name of every node-group stack on a
    launch configuration, or moving from Amazon Linux 2 to AL2023, to its rendered new
    template (``upgrader_stacks.migrate`` / ``.al2023``), which its change set carries.
    ``now_iso`` only ages stuck pods (POD001).
    Raises VersionError for a Kubernetes skip or downgrade, BadInputError for
    stacks the planner cannot update with parameters.

    A target more than one minor ahead makes a plan of several hops (:mod:`upgrader.
    planner.hops`); ``compile_hop`` then gives each hop's ``manifests`` from the state the
    hop starts from and its config (none: steps without manifests), and ``render_hop`` its
    ``templates`` likewise (none: ``templates`` at every hop).
    """
    adoption = adopt_steps(state, config)
    if adoption:  # the plan from the adopted state, its CreateAddon steps first
        plan = make_plan(
            adopted(state, adoption),
            config,
            manifests=manifests,
            templates=templates,
            now_iso=now_iso,
            compile_hop=compile_hop,
            render_hop=render_hop,
        )
        return with_adoption(plan, adoption, state)
    if is_multi_hop(state, config):
        render = render_hop or (lambda _state, _config: templates)
        return _multi_hop(state, config, compile_hop, render, now_iso)
    return _one_minor(state, config, manifests, templates, now_iso)


def _multi_hop(
    state: ClusterState,
    config: Config,
    compile_hop: Compile | None,
    render: Render,
    now_iso: str | None,
) -> Plan:
    hops = hop_targets(state, config)
    plans: list[Plan] = []
    steps: list[Step] = []
    current = state
    for i, hop in enumerate(hops):
        manifests = compile_hop(current, hop.config) if compile_hop else NO_MANIFESTS
        one = _one_minor(current, hop.config, manifests, render(current, hop.config), now_iso)
        plans.append(one)
        steps.extend(hop_steps(one, hop, first=i == 0))
        current = advance(current, hop, one)
    steps.append(verify_step())
    first, last = plans[0], plans[-1]
    # the inventory is the cluster as it runs now, the CNI and images those of the end
    cni = CniSettings.from_env(Version.parse(last.to.cni), dict(last.context.cni.env))
    images_to = {r.stack: r.image_to for r in last.context.nodegroups}
    rows = tuple(
        nodegroup_row(state, g, cni, images_to.get(g.stack.name, ""))
        for g in discover_groups(state, config)
    )
    context = dataclasses.replace(
        first.context,
        stacks=StackNames(
            control_plane=config.control_plane_stack, nodegroups=config.nodegroup_stacks
        ),
        cni=last.context.cni,
        nodegroups=rows,
    )
    return Plan(
        cluster=config.cluster,
        region=config.region,
        from_=first.from_,
        to=last.to,
        fingerprint=state.fingerprint(),
        findings=merged_findings(plans),
        steps=tuple(steps),
        context=context,
        hops=chain(hops, tuple(plans)),
    )


def _one_minor(
    state: ClusterState,
    config: Config,
    manifests: Mapping[str, Any],
    templates: Mapping[str, str],
    now_iso: str | None,
) -> Plan:
    prep = _prepare(state, config, manifests, now_iso)
    versions, inputs = prep.versions, prep.inputs
    steps: list[Step] = []
    if versions.from_.kubernetes != versions.to.kubernetes:
        steps.append(control_plane_step(state, config, versions))
    owned = managed_objects(state)  # EKS's: never from upgrader's manifests
    steps.extend(s for s in addon_steps(state, versions, manifests) if s.name not in owned)
    steps.extend(prep.managed)
    restart = fargate_restart_step(state, versions.to.kubernetes)
    if restart is not None and versions.from_.kubernetes != versions.to.kubernetes:
        steps.append(restart)
    rows = []
    for group, roll in zip(prep.groups, inputs.groups, strict=True):
        stack_step, roll_step, image_to = nodegroup_steps(
            state, versions, group, roll, templates.get(group.stack.name)
        )
        steps.extend((stack_step, roll_step))
        if group.moving is not None:
            steps.append(managed_al2023.retire_step(stack_step, group.moving))
        rows.append(nodegroup_row(state, group, prep.target_cni, image_to))
    steps.append(verify_step())
    return Plan(
        cluster=config.cluster,
        region=config.region,
        from_=versions.from_,
        to=versions.to,
        fingerprint=state.fingerprint(),
        findings=run(inputs),
        steps=tuple(steps),
        context=build_context(state, config, prep.target_cni, versions.cni_env, rows, prep.groups),
    )
