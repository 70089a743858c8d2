"""AMI001: an Amazon Linux 2 node group that must move to AL2023 has user data upgrader
can carry over to a nodeadm NodeConfig."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.gates.findings import blocking
from upgrader.gates.inputs import MANAGED, SELF_MANAGED, GateInputs, GroupRoll
from upgrader.gates.rule import Rule
from upgrader.model.managed_ami import managed_move
from upgrader.model.node_bootstrap import moves_to_al2023, stack_bootstraps
from upgrader.model.plan import Finding, Severity


def _managed(inputs: GateInputs, group: GroupRoll) -> Iterator[Finding]:
    """A managed group on AL2 that upgrader cannot move to an AL2023 successor itself."""
    minor = inputs.to.kubernetes
    stack = inputs.state.stack(group.stack)
    found = [m for m in inputs.state.managed_nodegroups if m.name == group.name]
    move = managed_move(stack, found[0], minor) if stack and found else None
    if move is None or move.problem is None:
        return
    yield blocking(
        "AMI001",
        f"stack {group.stack}",
        f"managed node group {group.name} runs Amazon Linux 2 ({move.ami_type}), which has "
        f"no AMI for Kubernetes {minor}, so it must move to Amazon Linux 2023, and "
        f"{move.problem}. Fix: add an AL2023 node group to the stack yourself (AmiType "
        "AL2023_*, a launch template whose user data is a nodeadm NodeConfig, "
        "node.eks.aws/v1alpha1), move the workloads to it and remove this group, or target "
        "1.32; then plan again.",
    )


def ami001_user_data_portable(inputs: GateInputs) -> Iterator[Finding]:
    """For each group rolled to a minor without AL2 AMIs: a self-managed group's user data
    must translate to AL2023 (nodeadm), line by line and bootstrap.sh flag by flag; a
    managed group must have an AL2023 AmiType counterpart and no launch template of the
    user's."""
    minor = inputs.to.kubernetes
    for group in inputs.groups:
        if group.kind == MANAGED:
            yield from _managed(inputs, group)
            continue
        stack = inputs.state.stack(group.stack)
        if group.kind != SELF_MANAGED or stack is None or not moves_to_al2023(stack, minor):
            continue
        for boot in stack_bootstraps(stack):
            if not boot.problems:
                continue
            listed = "; ".join(f"`{p.text}`: {p.why}" for p in boot.problems)
            yield blocking(
                "AMI001",
                f"stack {stack.name}",
                f"node group {group.name} runs Amazon Linux 2, which has no AMI for "
                f"Kubernetes {minor}, so its user data ({boot.resource}) must move from "
                f"/etc/eks/bootstrap.sh to a nodeadm NodeConfig; upgrader cannot carry over: "
                f"{listed}. Fix: port these to the NodeConfig (node.eks.aws/v1alpha1: "
                "spec.kubelet.config/flags, spec.containerd.config, spec.instance) or remove "
                "them from the user data, update the stack, then plan again.",
            )


RULE = Rule(
    id="AMI001",
    title="Amazon Linux 2 user data carries over to AL2023 (nodeadm)",
    severity=Severity.BLOCKING,
    inputs=("state", "to", "groups"),
    check=ami001_user_data_portable,
    description=(
        "A node group on Amazon Linux 2 AMIs rolled to a Kubernetes minor with no AL2 AMI "
        "(1.33+) moves to AL2023, whose nodes join through a nodeadm NodeConfig instead of "
        "/etc/eks/bootstrap.sh. Self-managed: blocks when the user data customises "
        "bootstrap.sh in ways upgrader cannot carry over: unknown bootstrap.sh flags, "
        "--container-runtime dockerd, --enable-docker-bridge, kubelet flags the new kubelet "
        "lacks, amazon-linux-extras or Docker/bootstrap-file edits, a second bootstrap.sh "
        "call, or user data that is not a plain string or Fn::Sub. Managed (moved to an "
        "AL2023 successor group in the same stack): blocks when the group launches from a "
        "launch template of the user's, or its AmiType has no AL2023 counterpart."
    ),
)
