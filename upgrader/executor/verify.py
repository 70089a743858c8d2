"""The last step: every node upgrader rolls at the target kubelet minor (Fargate and
Karpenter nodes within the skew policy, reported when behind), aws-node at the target
CNI, no pod stuck, leaked ENIs reported (and deleted with --cleanup-leaked-enis)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from upgrader.catalog.versions import catalog
from upgrader.executor.errors import StepFailedError
from upgrader.executor.nodegroups import minor
from upgrader.executor.session import Session
from upgrader.gates import leaked_enis
from upgrader.gates.rules.ver001 import follow_hint
from upgrader.model.kube import Node
from upgrader.model.steps import VerifyStep
from upgrader.model.unowned import FARGATE, KARPENTER, node_owner

# A pod in ContainerCreating this long after the last change is stuck, not starting.
STARTING_SECONDS = 120.0


def _unowned(s: Session, nodes: Sequence[Node], target: str) -> list[str]:
    """Fargate and Karpenter nodes follow by themselves (upgrader never rolls them): behind
    the target within the kubelet skew policy they are reported; beyond it, a problem."""
    problems = []
    for owner in (FARGATE, KARPENTER):
        behind = sorted(
            (n for n in nodes if node_owner(n) == owner and minor(n.kubelet_version) != target),
            key=lambda n: n.name,
        )
        if not behind:
            continue
        names = ", ".join(f"{n.name} ({n.kubelet_version})" for n in behind[:10])
        outside = [n for n in behind if not catalog().kubelet_skew_ok(target, n.kubelet_version)]
        if outside:
            problems.append(
                f"{len(outside)} {owner} node(s) run a kubelet outside the version-skew policy "
                f"of {target}: {names}; {follow_hint(owner, target)}"
            )
        else:
            s.emit(
                "info",
                f"{len(behind)} {owner} node(s) are not at {target} yet (within the skew "
                f"policy): {names}; {follow_hint(owner, target)}",
            )
    return problems


def _still_creating(s: Session, creating: set[tuple[str, str]]) -> list[str]:
    """Of the pods in ContainerCreating, those still there after :data:`STARTING_SECONDS`:
    a pod the last wave moved a moment ago starts within seconds; one that does not is
    stuck (an address it never gets, a CNI that never answers)."""
    left = sorted(creating)

    def started() -> bool:
        nonlocal left
        now = {(p.namespace, p.name) for p in s.kube.pods() if p.stuck_creating}
        left = [key for key in left if key in now]
        return not left

    if left:
        s.emit("wait", f"waiting for {len(left)} pod(s) in ContainerCreating to start")
        with contextlib.suppress(StepFailedError):
            s.wait(started, what="pods to start", timeout=STARTING_SECONDS, hint="")
    return [f"{namespace}/{name}" for namespace, name in left]


def verify(s: Session, step: VerifyStep, *, cleanup_leaked_enis: bool) -> None:
    state = s.discover()
    target = s.plan.to
    problems = []
    owned = [n for n in state.nodes if node_owner(n) is None]
    behind = sorted(n.name for n in owned if minor(n.kubelet_version) != target.kubernetes)
    if behind:
        problems.append(f"node(s) not at kubelet {target.kubernetes}: {', '.join(behind)}")
    problems += _unowned(s, state.nodes, target.kubernetes)
    aws_node = state.daemonset("kube-system", "aws-node")
    tags = {c.tag for c in aws_node.containers if c.name == "aws-node"} if aws_node else set()
    if tags != {target.cni}:
        problems.append(f"aws-node runs {', '.join(sorted(tags)) or 'nothing'}, not {target.cni}")
    stuck = _still_creating(s, {(p.namespace, p.name) for p in state.pods if p.stuck_creating})
    if stuck:
        problems.append(f"pod(s) stuck in ContainerCreating: {', '.join(stuck[:10])}")
    if problems:
        raise StepFailedError(
            "verify", "; ".join(problems), "look at the runbook's verify step; re-run apply"
        )
    leaked = leaked_enis(state)
    if leaked and cleanup_leaked_enis:
        for eni in leaked:
            s.aws.delete_eni(eni.eni_id)
        s.emit("info", f"deleted {len(leaked)} leaked ENI(s)", enis=[e.eni_id for e in leaked])
    elif leaked:
        s.emit(
            "info",
            f"{len(leaked)} leaked ENI(s) hold {sum(e.addresses for e in leaked)} addresses; "
            "re-run with --cleanup-leaked-enis to delete them",
            enis=[e.eni_id for e in leaked],
        )
    s.emit(
        "info",
        f"verified: {len(state.nodes)} node(s) at {target.kubernetes}, "
        f"aws-node {target.cni}, no pod stuck",
    )
