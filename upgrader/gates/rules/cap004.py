"""CAP004: kubelet maxPods stays within the pods a node can give an address (#331)."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.capacity.node import max_pods
from upgrader.gates.findings import advisory
from upgrader.gates.inputs import GateInputs
from upgrader.gates.pool import pool_settings
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity


def cap004_kubelet_max_pods(inputs: GateInputs) -> Iterator[Finding]:
    """Kubelet maxPods (node allocatable pods) <= the pods the node can give an address
    (``pod-IP capacity + 2`` host-network pods) under the target CNI settings.

    Advisory: the excess only hurts when the scheduler fills a node past its pod-IP
    capacity (those pods stay ContainerCreating, #331); the roll itself never relies on
    it (CAP003 counts the smaller of the two), and a real stuck pod is POD001's finding.
    Blocking every upgrade of clusters that have run this way for years would not help.
    """
    nodes = {n.name: n for n in inputs.state.nodes}
    for group in inputs.groups:
        limits = max_pods(group.instance_type, group.cni)
        over = sorted(
            (nodes[n].name, nodes[n].allocatable_pods)
            for n in group.nodes
            if n in nodes and nodes[n].allocatable_pods > limits.uncapped
        )
        if not over:
            continue
        worst = max(mp for _, mp in over)
        why = " with custom networking (the primary ENI carries no pods)" * (
            group.cni.custom_networking
        )
        yield advisory(
            "CAP004",
            f"node group {group.name}",
            f"kubelet maxPods {worst} on {', '.join(n for n, _ in over)} "
            f"({group.instance_type.name}) exceeds the {limits.uncapped} pods it can give an "
            f"address under {pool_settings(group.cni)}{why}: {limits.pod_ip_capacity} "
            "VPC-IP pods plus 2 host-network pods; pods past that stay ContainerCreating "
            "(aws/amazon-vpc-cni-k8s#331). Fix: bootstrap the nodes with "
            f"`--use-max-pods false --kubelet-extra-args '--max-pods={limits.uncapped}'`.",
        )


RULE = Rule(
    id="CAP004",
    title="kubelet maxPods ≤ the node's pod-IP capacity",
    severity=Severity.ADVISORY,
    inputs=("state", "groups"),
    check=cap004_kubelet_max_pods,
    description=(
        "Kubelet maxPods (the node's allocatable pods) is at most the pods the node can "
        "give a VPC address under the target CNI settings (pod-IP capacity + 2 host- "
        "network pods); custom networking lowers it (aws/amazon-vpc-cni-k8s#331). "
        "Advisory: pods past it stay ContainerCreating, which POD001 reports."
    ),
)
