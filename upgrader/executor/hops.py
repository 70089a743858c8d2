"""A plan of several hops, as apply runs it: each step under its hop's config, and each
hop after the first checked, when it starts, against the plan the planner derives again
from the live cluster (the per-hop freshness check; exit 5 when it differs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeAlias

from upgrader.config import Config
from upgrader.executor.errors import StalePlanError
from upgrader.model.plan import Hop, Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import Step, StepKind, step_to_json
from upgrader.planner.hops import step_id
from upgrader.semver import Version

Derive: TypeAlias = Callable[[ClusterState, Config], Plan]
# what a hop's steps may differ in when planned again: the instances and change sets of
# the day, predictions (the wave count follows the free addresses then), and the ASG EKS
# names when it creates a managed group (an AL2023 successor's is unknown beforehand)
_VOLATILE = ("waves", "surge", "change_set", "asg")


def hop_config(plan: Plan, config: Config, step: str) -> Config:
    """The config ``step`` runs under: its hop's target and rolled stacks, else ``config``."""
    hop = plan.hop_of(step)
    if hop is None:
        return config
    return replace(
        config,
        target_kubernetes=Version.parse(hop.kubernetes),
        target_cni=Version.parse(hop.to.cni),
        nodegroup_stacks=hop.nodegroup_stacks,
    )


def starts_later_hop(plan: Plan, step: str) -> Hop | None:
    """The hop ``step`` opens, when it is the first step of a hop after the first."""
    return next((h for h in plan.hops[1:] if h.steps and h.steps[0] == step), None)


def _shape(step: Step) -> dict[str, Any]:
    doc = step_to_json(step)
    raw = doc.get("params")
    params = dict(raw) if isinstance(raw, dict) else {}
    for key in _VOLATILE:
        params.pop(key, None)
    return {"id": doc["id"], "kind": doc["kind"], "gates": doc["gates"], "params": params}


def _remaining(plan: Plan, hop: Hop) -> list[Step]:
    """The reviewed steps from ``hop`` on, verify left out."""
    at = plan.hops.index(hop)
    ids = {s for h in plan.hops[at:] for s in h.steps}
    return [s for s in plan.steps if s.id in ids]


def _derived(plan: Plan, final: str) -> list[Step]:
    """The steps of a plan derived again, with the IDs of a plan of several hops (a plan
    of one minor is the last hop)."""
    steps = [s for s in plan.steps if s.kind is not StepKind.VERIFY]
    if plan.hops:
        return steps
    return [replace(s, id=step_id(s.id, final)) for s in steps]


def check_hop(plan: Plan, hop: Hop, live: ClusterState, config: Config, derive: Derive) -> None:
    """The hop starting now is what was reviewed: the planner, run again on the live cluster
    towards the plan's target, makes the same remaining steps (waves and change sets
    aside). Raises StalePlanError (exit 5) naming the first difference."""
    again = _derived(derive(live, config), plan.to.kubernetes)
    ours = [_shape(s) for s in _remaining(plan, hop)]
    theirs = [_shape(s) for s in again]
    if ours == theirs:
        return
    if [s["id"] for s in ours] != [s["id"] for s in theirs]:
        why = f"the plan has steps {[s['id'] for s in ours]}, the planner now makes " + str(
            [s["id"] for s in theirs]
        )
    else:
        a, b = next((a, b) for a, b in zip(ours, theirs, strict=True) if a != b)
        why = f"step {a['id']} was {_short(a)}, the planner now makes {_short(b)}"
    raise StalePlanError(
        f"hop to {hop.kubernetes} of the plan for {plan.cluster}",
        f"the cluster is not what the reviewed plan predicted for this hop: {why}",
        f"plan again from here (`upgrader plan --to {plan.to.kubernetes}`), review the "
        "new plan and apply it; the hops already done stay done",
    )


def _short(shape: dict[str, Any]) -> str:
    return json.dumps(shape["params"], sort_keys=True)[:160]
