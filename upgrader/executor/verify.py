"""The last step: every node at the target kubelet minor, aws-node at the target
CNI, no pod stuck, leaked ENIs reported (and deleted with --cleanup-leaked-enis)."""

from __future__ import annotations

from upgrader.executor.errors import StepFailedError
from upgrader.executor.nodegroups import minor
from upgrader.executor.session import Session
from upgrader.gates import leaked_enis
from upgrader.model.steps import VerifyStep


def verify(s: Session, step: VerifyStep, *, cleanup_leaked_enis: bool) -> None:
    state = s.discover()
    target = s.plan.to
    problems = []
    behind = sorted(n.name for n in state.nodes if minor(n.kubelet_version) != target.kubernetes)
    if behind:
        problems.append(f"node(s) not at kubelet {target.kubernetes}: {', '.join(behind)}")
    aws_node = state.daemonset("kube-system", "aws-node")
    tags = {c.tag for c in aws_node.containers if c.name == "aws-node"} if aws_node else set()
    if tags != {target.cni}:
        problems.append(f"aws-node runs {', '.join(sorted(tags)) or 'nothing'}, not {target.cni}")
    stuck = sorted(f"{p.namespace}/{p.name}" for p in state.pods if p.stuck_creating)
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
