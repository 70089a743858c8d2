"""Fargate pods follow the control plane when they restart: each step of the control
plane gets a step restarting the workloads whose pods run on Fargate, so that no Fargate
kubelet falls behind (EKS's kubelet-skew insight, VER001 at the next hop).

A pod on Fargate keeps the kubelet it started with. Deployments are restarted as
``kubectl rollout restart`` does (their strategy paces it); other pods (StatefulSets,
Jobs, bare pods) are listed for the runbook, to restart by hand.
"""

from __future__ import annotations

from upgrader.model.kube import Pod
from upgrader.model.state import ClusterState
from upgrader.model.steps import FargateRestartStep
from upgrader.model.unowned import FARGATE, node_owner

GATES = ("POD001",)
RESTARTABLE = ("Deployment",)


def _workload(pod: Pod, state: ClusterState) -> str | None:
    """``Deployment ns/name`` owning ``pod``, else None."""
    kind, name = pod.owner_kind, pod.owner_name or ""
    if kind == "ReplicaSet":
        kind, name = "Deployment", name.rsplit("-", 1)[0]
    known = {(w.kind, w.namespace, w.name) for w in state.workloads}
    if kind in RESTARTABLE and (kind, pod.namespace, name) in known:
        return f"{kind} {pod.namespace}/{name}"
    return None


def fargate_pods(state: ClusterState) -> tuple[Pod, ...]:
    """Pods running (or starting) on Fargate nodes."""
    fargate = {n.name for n in state.nodes if node_owner(n) == FARGATE}
    return tuple(p for p in state.pods if p.node in fargate and not p.terminating)


def fargate_restart_step(state: ClusterState, to: str) -> FargateRestartStep | None:
    """The step restarting every workload with pods on Fargate onto kubelets of ``to``;
    None when no pod runs on Fargate."""
    pods = fargate_pods(state)
    if not pods:
        return None
    workloads = sorted({w for p in pods if (w := _workload(p, state)) is not None})
    manual = sorted(f"{p.namespace}/{p.name}" for p in pods if _workload(p, state) is None)
    shown = ", ".join(workloads) or "no workload upgrader can restart"
    return FargateRestartStep(
        id="fargate-restart",
        description=(
            f"Restart the {len(pods)} pod(s) on Fargate ({shown}) as `kubectl rollout "
            f"restart` does, so each starts on a {to} kubelet; wait for every rollout."
            + (f" Restart by hand: {', '.join(manual)}." if manual else "")
        ),
        gates=GATES,
        to=to,
        workloads=tuple(workloads),
        manual=tuple(manual),
        pods=len(pods),
    )
