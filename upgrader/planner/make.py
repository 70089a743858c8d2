"""``make_plan``: discovered state + config -> the reviewed, deterministic plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from upgrader.capacity.settings import CniSettings
from upgrader.config import Config
from upgrader.gates import GateInputs, api_uses, run
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import Step
from upgrader.planner.context import build_context, nodegroup_row
from upgrader.planner.groups import NodeGroup, discover_groups, plan_rolls
from upgrader.planner.steps import addon_steps, control_plane_step, nodegroup_steps, verify_step
from upgrader.planner.versions import VersionPlan, plan_versions
from upgrader.semver import Version

NO_MANIFESTS: Mapping[str, Any] = MappingProxyType({})
NO_TEMPLATES: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Prepared:
    versions: VersionPlan
    target_cni: CniSettings
    groups: tuple[NodeGroup, ...]
    inputs: GateInputs


def _prepare(
    state: ClusterState, config: Config, manifests: Mapping[str, Any], now_iso: str | None
) -> _Prepared:
    versions = plan_versions(state, config)
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
    return _Prepared(versions=versions, target_cni=target_cni, groups=groups, inputs=inputs)


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
) -> Plan:
    """Plan the upgrade of ``state`` to ``config``'s targets. Pure and deterministic.

    ``manifests`` holds compiled manifests as plain data: ``aws-node@<tag>``,
    ``kube-proxy`` and ``coredns`` are embedded in their steps; every entry is
    checked for removed APIs. ``templates`` maps the name of every node-group stack on a
    launch configuration to its rendered launch-template migration (``upgrader_stacks.
    migrate``), which its change set carries. ``now_iso`` only ages stuck pods (POD001).
    Raises VersionError for a Kubernetes skip or downgrade, BadInputError for
    stacks the planner cannot update with parameters.
    """
    prep = _prepare(state, config, manifests, now_iso)
    versions, inputs = prep.versions, prep.inputs
    steps: list[Step] = []
    if versions.from_.kubernetes != versions.to.kubernetes:
        steps.append(control_plane_step(state, config, versions))
    steps.extend(addon_steps(state, versions, manifests))
    rows = []
    for group, roll in zip(prep.groups, inputs.groups, strict=True):
        stack_step, roll_step, image_to = nodegroup_steps(
            state, versions, group, roll, templates.get(group.stack.name)
        )
        steps.extend((stack_step, roll_step))
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
