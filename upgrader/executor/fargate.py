"""Fargate pods restarted onto the new kubelet, one Deployment at a time, as
``kubectl rollout restart`` does: resumable (a Deployment whose Fargate pods all run the
step's kubelet already is left alone), each waited for until its new pods run there."""

from __future__ import annotations

from datetime import UTC, datetime

from upgrader.executor.nodegroups import minor
from upgrader.executor.session import Session
from upgrader.model.state import ClusterState
from upgrader.model.steps import FargateRestartStep
from upgrader.model.unowned import FARGATE, node_owner

ROLLOUT_TIMEOUT = 30 * 60.0
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"  # as kubectl writes restartedAt


def _behind(state: ClusterState, namespace: str, name: str, to: str) -> list[str]:
    """The Deployment's pods on Fargate whose kubelet is not ``to`` (or not running yet)."""
    kubelets = {n.name: n.kubelet_version for n in state.nodes if node_owner(n) == FARGATE}
    prefix = f"{name}-"
    mine = [
        p
        for p in state.pods
        if p.namespace == namespace
        and p.owner_kind == "ReplicaSet"
        and (p.owner_name or "").startswith(prefix)
        and p.node in kubelets
    ]
    return sorted(
        f"{p.namespace}/{p.name}"
        for p in mine
        if p.terminating or p.phase != "Running" or minor(kubelets[str(p.node)]) != to
    )


def restart(s: Session, step: FargateRestartStep) -> None:
    """Restart every Deployment of the step, then wait until its pods on Fargate all run
    a kubelet of ``step.to``."""
    for workload in step.workloads:
        _restart(s, workload, step.to)
    if step.manual:
        s.emit(
            "info",
            f"restart by hand onto {step.to} kubelets: {', '.join(step.manual)} "
            "(upgrader restarts only Deployments)",
        )


def _restart(s: Session, workload: str, to: str) -> None:
    namespace, name = workload.split(" ", 1)[1].split("/", 1)
    if not _behind(s.discover(), namespace, name, to):
        s.emit("info", f"{workload}: its Fargate pods run {to} already")
        return
    s.kube.restart_deployment(namespace, name, datetime.now(UTC).strftime(RFC3339))
    s.emit("info", f"{workload} restarted (kubectl rollout restart)")
    s.wait(
        lambda: (
            s.kube.deployment_rollout(namespace, name).done
            and not _behind(s.discover(), namespace, name, to)
        ),
        what=f"{workload}'s pods to run on Fargate kubelets of {to}",
        timeout=ROLLOUT_TIMEOUT,
        hint=f"kubectl -n {namespace} rollout status deployment/{name}; then re-run apply",
    )
