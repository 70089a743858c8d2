"""EKS control-plane rollback: the RollbackConfig a forward step sets, and whether the
control-plane step of a plan may be rolled back now.

EKS rolls a control plane back one minor, within 7 days of an in-place upgrade, with
``UpdateClusterVersion`` to the previous minor (CloudFormation: the cluster's ``Version``
lowered, its ``RollbackConfig`` kept). upgrader goes through the control-plane stack, as
the forward step did, and only while every node still runs the previous minor (a kubelet
newer than the API server breaks the version-skew policy) and no managed node group has
moved (EKS cannot move one back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from upgrader.errors import VersionError
from upgrader.model.aws import Stack
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import ControlPlaneStep
from upgrader.model.updates import VERSION_UPDATE, ClusterUpdate
from upgrader.planner.templates import load, refs
from upgrader.semver import Version

WINDOW = timedelta(days=7)
CLUSTER_TYPE = "AWS::EKS::Cluster"
SHOWN_NODES = 5


def rollback_parameter(stack: Stack) -> str | None:
    """The stack parameter its EKS cluster's ``RollbackConfig.TimeoutMinutes`` takes."""
    template = load(stack.template_body, f"template of stack {stack.name}")
    declared = {key for key, _ in stack.parameters}
    resources: Mapping[str, Any] = template.get("Resources") or {}
    for resource in resources.values():
        if not isinstance(resource, Mapping) or resource.get("Type") != CLUSTER_TYPE:
            continue
        config = (resource.get("Properties") or {}).get("RollbackConfig")
        if isinstance(config, Mapping):
            found = [name for name in refs(config.get("TimeoutMinutes")) if name in declared]
            if found:
                return found[0]
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackDecision:
    """The rollback step to run, or why not (each reason names object, problem, fix)."""

    step: ControlPlaneStep | None
    refusals: tuple[str, ...]


def _minor(text: str) -> tuple[int, int] | None:
    try:
        return Version.parse(text.lstrip("v").split("-")[0]).minor_key
    except VersionError:
        return None


def _forward(plan: Plan, version: str) -> ControlPlaneStep | None:
    steps = [s for s in plan.steps if isinstance(s, ControlPlaneStep) and s.to == version]
    return steps[-1] if steps else None


def _newer_nodes(state: ClusterState, previous: str) -> list[str]:
    limit = _minor(previous)
    return sorted(
        f"{n.name} (kubelet {n.kubelet_version})"
        for n in state.nodes
        if limit is not None and (_minor(n.kubelet_version) or (0, 0)) > limit
    )


def _upgrade(updates: Sequence[ClusterUpdate], version: str) -> ClusterUpdate | None:
    done = [
        u
        for u in updates
        if u.type == VERSION_UPDATE and u.status == "Successful" and u.version == version
    ]
    return max(done, key=lambda u: u.created_at) if done else None


def decide(
    plan: Plan, state: ClusterState, updates: Sequence[ClusterUpdate], now: datetime
) -> RollbackDecision:
    """Whether the plan's control-plane step that left the cluster at its version may be
    rolled back now, and the step that does it."""
    cluster = state.cluster
    current = cluster.version
    forward = _forward(plan, current)
    if forward is None:
        ups = [s.to for s in plan.steps if isinstance(s, ControlPlaneStep)]
        return RollbackDecision(
            step=None,
            refusals=(
                f"EKS cluster {cluster.name} runs {current}, and this plan's control-plane "
                f"steps go to {', '.join(ups) or 'no version'}: no step of this plan left it "
                f"at {current}; roll back with the plan that upgraded it",
            ),
        )
    previous = forward.from_
    refusals = []
    running = [u for u in updates if u.status == "InProgress"]
    if cluster.status != "ACTIVE" or running:
        refusals.append(
            f"EKS cluster {cluster.name} is {cluster.status}"
            + (f" with update {running[0].id} in progress" if running else "")
            + "; wait until it is ACTIVE, then run rollback again"
        )
    stack = state.stack(forward.stack)
    if forward.parameter is None or stack is None:
        refusals.append(
            f"stack {forward.stack} has no version parameter upgrader can set; roll the "
            f"cluster back with `aws eks update-cluster-version --version {previous}`"
        )
    elif stack.parameter(forward.parameter) != current:
        refusals.append(
            f"stack {forward.stack} sets {forward.parameter}="
            f"{stack.parameter(forward.parameter)}, not {current}: the stack no longer "
            "matches the cluster; reconcile it before rolling back"
        )
    upgrade = _upgrade(updates, current)
    if upgrade is None:
        refusals.append(
            f"EKS has no successful in-place upgrade of {cluster.name} to {current} on "
            "record (ListUpdates): EKS rolls back only a cluster upgraded in place; fix "
            "forward instead"
        )
    elif now - upgrade.created_at > WINDOW:
        refusals.append(
            f"the upgrade of {cluster.name} to {current} (EKS update {upgrade.id}) started "
            f"{upgrade.created_at:%Y-%m-%d %H:%M} UTC, more than 7 days ago: EKS's rollback "
            "window is closed (upgrader counts from the update's start; EKS gives no end "
            "time); fix forward instead"
        )
    newer = _newer_nodes(state, previous)
    if newer:
        shown = ", ".join(newer[:SHOWN_NODES]) + (
            f" and {len(newer) - SHOWN_NODES} more" if len(newer) > SHOWN_NODES else ""
        )
        refusals.append(
            f"{len(newer)} node(s) run a kubelet newer than {previous}: {shown}; a kubelet "
            f"is never newer than the API server, so every node must be at {previous} "
            "first (self-managed groups: the previous launch template version; managed "
            "node groups cannot go back); fix forward instead"
        )
    moved = sorted(
        m.name for m in state.managed_nodegroups if _minor(m.version) != _minor(previous)
    )
    if moved:
        refusals.append(
            f"managed node group(s) {', '.join(moved)} are no longer at {previous}, and EKS "
            "cannot move a managed node group back; fix forward instead"
        )
    step = ControlPlaneStep(
        id=f"rollback-{forward.id}",
        description=(
            f"Roll the control plane back {current} -> {previous}: change set on stack "
            f"{forward.stack} setting {forward.parameter} (EKS version rollback), then wait "
            "for the cluster to be ACTIVE."
        ),
        gates=(),
        stack=forward.stack,
        parameter=forward.parameter,
        from_=current,
        to=previous,
        rollback_parameter=forward.rollback_parameter,
        rollback_timeout_minutes=forward.rollback_timeout_minutes,
        minutes=forward.minutes,
    )
    return RollbackDecision(step=None if refusals else step, refusals=tuple(refusals))
