"""``upgrader plan``, ``runbook``, ``compile``: discover → compile → gates → change
sets → plan file and runbook. Plan never changes the cluster: its only writes are
its own CloudFormation change sets (created, never executed; older ones removed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from upgrader import config as config_file
from upgrader import textfile
from upgrader.adapters import change_sets, jsonnet
from upgrader.adapters.discover import discover
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.manifests import api_problems
from upgrader.model.plan import Plan, loads
from upgrader.model.records import JsonObject, to_json
from upgrader.model.state import ClusterState
from upgrader.model.steps import (
    ControlPlaneStep,
    ManagedAddonStackStep,
    NodegroupRollStep,
    NodegroupStackStep,
    StackStep,
    Step,
    change_set_inputs,
    step_to_json,
)
from upgrader.planner import make_plan
from upgrader.planner.al2023 import max_pods_settings
from upgrader.planner.groups import discover_groups
from upgrader.planner.hops import is_multi_hop
from upgrader.planner.versions import plan_versions
from upgrader.runbook import render
from upgrader.runbook.capacity import section as capacity_section
from upgrader_stacks.al2023 import migrate_al2023
from upgrader_stacks.managed_al2023 import migrate_managed_al2023
from upgrader_stacks.migrate import migrations

COREDNS = ("Deployment", "kube-system", "coredns")


@dataclass(frozen=True, slots=True)
class PlanResult:
    plan: Plan
    out: Path | None
    runbook: Path | None


def compile_manifests(state: ClusterState, config: Config) -> dict[str, list[dict[str, Any]]]:
    """Manifests for every add-on step: aws-node per CNI minor on the path, kube-proxy,
    CoreDNS, and the team's own manifests."""
    versions = plan_versions(state, config)
    coredns = state.workload(*COREDNS)
    return jsonnet.compile_all(
        region=config.region,
        kubernetes=config.target_kubernetes,
        cni=list(versions.cni_steps),
        cni_env=dict(versions.cni_env),
        manifests=config.manifests,
        cluster=config.cluster,
        coredns_replicas=coredns.replicas if coredns else 2,
    )


def rendered_templates(state: ClusterState, config: Config) -> dict[str, str]:
    """The new template of every node-group stack ``config`` rolls that needs one: still
    on a launch configuration (moved to a launch template), or on Amazon Linux 2 AMIs
    while the target has none (moved to AL2023 and nodeadm; a managed group gains its
    AL2023 successor beside it). Rendered by
    ``upgrader_stacks``; the planner takes them as data."""
    stacks = [s for s in state.stacks if s.name in config.nodegroup_stacks]
    out = migrations(stacks)
    pods = max_pods_settings(state, config)
    for stack in stacks:
        if stack.name in pods:
            out[stack.name] = migrate_al2023(stack, out.get(stack.name), pods[stack.name])
    for group in discover_groups(state, config):
        if group.moving is not None and group.managed is not None:
            out[group.stack.name] = migrate_managed_al2023(
                group.stack, group.moving, group.managed.version
            )
    return out


def _with_change_set(step: StackStep, state: ClusterState) -> StackStep:
    stack = state.stack(step.stack)
    if stack is None:
        return step
    parameters, template = change_set_inputs(step)
    change_set = change_sets.create(
        stack, parameters, description=f"upgrader plan: {step.description}", template=template
    )
    return dataclasses.replace(step, change_set=change_set)


def derive(state: ClusterState, config: Config) -> Plan:
    """Compile, gate and plan ``state`` for ``config`` (no change sets: nothing is written)."""
    if is_multi_hop(state, config):  # each hop's manifests and templates, for its start state
        return make_plan(
            state,
            config,
            compile_hop=compile_manifests,
            render_hop=rendered_templates,
        )
    manifests = compile_manifests(state, config)
    templates = rendered_templates(state, config)
    return make_plan(state, config, manifests=manifests, templates=templates)


def make(config: Config) -> Plan:
    """Discover, compile, gate and plan; then create this plan's change sets."""
    state = discover(config)
    plan = derive(state, config)
    for stack in state.stacks:
        change_sets.delete_previous(stack)
    # Only a stack's first update gets its change set now: executing one drops the stack's
    # others, so apply creates those of later hops from their steps' content.
    steps: list[Step] = []
    updated: set[str] = set()
    for step in plan.steps:
        if (
            isinstance(step, ControlPlaneStep | NodegroupStackStep | ManagedAddonStackStep)
            and step.stack not in updated
        ):
            updated.add(step.stack)
            steps.append(_with_change_set(step, state))
        else:
            steps.append(step)
    return dataclasses.replace(plan, steps=tuple(steps))


def plan(
    config_path: Path, *, to: str | None, out: Path | None, runbook: Path | None
) -> PlanResult:
    """``upgrader plan``: the plan file and runbook are written even when blocked. Both
    paths are checked before anything is read from or written to the cluster."""
    cfg = config_file.load(config_path, target=to)
    for path, option in ((out, "--out"), (runbook, "--runbook")):
        if path is not None:
            textfile.check_output_file(path, option=option)
    result = make(cfg)
    if out is not None:
        out.write_text(result.dumps())
    if runbook is not None:
        runbook.write_text(render(result, plan_file=str(out or "PLAN.json")))
    return PlanResult(result, out, runbook)


def read_plan(path: Path) -> Plan:
    """The plan file at ``path``, read strictly (regular UTF-8 text, size-limited)."""
    text = textfile.read_text(
        path, what="plan file", hint=textfile.PLAN_HINT, limit=textfile.PLAN_LIMIT
    )
    return loads(text, str(path))


def runbook(plan_path: Path, out: Path | None) -> str:
    """``upgrader runbook``: the Markdown runbook of a plan file (written to ``out`` if given)."""
    text = render(read_plan(plan_path), plan_file=str(plan_path))
    if out is not None:
        out.write_text(text)
    return text


def compile_config(config_path: Path, out: Path | None) -> Mapping[str, list[dict[str, Any]]]:
    """``upgrader compile``: manifests for the config's targets, validated (no cluster access)."""
    cfg = config_file.load(config_path)
    manifests = jsonnet.compile_config(cfg)
    target = cfg.target_kubernetes.minor_str
    problems = [
        f"{key}: {problem}"
        for key in sorted(manifests)
        for problem in api_problems(manifests[key], target)
    ]
    if problems:
        raise BadInputError(
            f"manifests for Kubernetes {target}",
            "use APIs the target does not serve: " + "; ".join(problems),
            "rewrite those objects with the apiVersion named, then compile again",
        )
    if out is not None:
        jsonnet.write(manifests, out)
    return manifests


@dataclass(frozen=True, slots=True)
class ClusterCapacity:
    """``upgrader capacity -c``: a read-only plan's capacity picture."""

    plan: Plan

    def as_json(self) -> JsonObject:
        ctx = to_json(self.plan.context)
        return {
            "cluster": self.plan.cluster,
            "cni": ctx["cni"],
            "nodegroups": ctx["nodegroups"],
            "subnets": ctx["subnets"],
            "rolls": [
                {"nodegroup": s.nodegroup, "predicted": step_to_json(s)["predicted"]}
                for s in self.plan.steps
                if isinstance(s, NodegroupRollStep)
            ],
            "findings": [f.to_json() for f in self.plan.findings if f.id.startswith("CAP")],
        }

    def text(self) -> str:
        """The runbook's capacity section."""
        return capacity_section(self.plan)


def cluster_capacity(config_path: Path) -> ClusterCapacity:
    """Node groups, subnets and each roll's predicted addresses, from live state
    (read-only: no change sets are created)."""
    cfg = config_file.load(config_path)
    state = discover(cfg)
    templates = {} if is_multi_hop(state, cfg) else rendered_templates(state, cfg)
    return ClusterCapacity(
        make_plan(state, cfg, templates=templates, render_hop=rendered_templates)
    )
