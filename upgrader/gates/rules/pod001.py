"""POD001: pods stuck in ContainerCreating (the incident's symptom)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from upgrader.gates.findings import advisory
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def pod001_stuck_pods(inputs: GateInputs) -> Iterator[Finding]:
    """Pods in ContainerCreating longer than ``stuck_pod_seconds``; without a clock
    (``now_iso`` None) every such pod is reported with its age unknown. Advisory at
    plan time: the executor re-checks after each step and remediates there."""
    limit = inputs.config.gate("stuck_pod_seconds")
    now = _parse(inputs.now_iso) if inputs.now_iso else None
    for pod in sorted(inputs.state.pods, key=lambda p: (p.namespace, p.name)):
        if not pod.stuck_creating:
            continue
        created = _parse(pod.created) if pod.created else None
        if now is not None and created is not None:
            age = int((now - created).total_seconds())
            if age <= limit:
                continue
            since = f"for {age} s (limit {limit} s)"
        else:
            since = "(age unknown)"
        event = f' Last event: "{pod.last_event}".' if pod.last_event else ""
        yield advisory(
            "POD001",
            f"{pod.namespace}/{pod.name}",
            f"pod {pod.namespace}/{pod.name} on {pod.node or 'no node'} has been "
            f"ContainerCreating {since}.{event} Fix: if the event says ipamd could not assign "
            "an address, check the subnet's free addresses (CAP001/CAP005) and restart "
            "aws-node on that node once (aws/amazon-vpc-cni-k8s#59).",
        )


RULE = Rule(
    id="POD001",
    title="no pod stuck in ContainerCreating",
    severity=Severity.ADVISORY,
    inputs=("state", "config", "now_iso"),
    check=pod001_stuck_pods,
    description=(
        "Pods in ContainerCreating longer than gates.stuck_pod_seconds, with their last "
        "event. Advisory at plan time (the baseline); after each aws-node restart apply "
        "checks the node's pods and remediates the #59 pattern (restart aws-node once), "
        "then stops naming the node."
    ),
)
