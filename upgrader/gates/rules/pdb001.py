"""PDB001: a PodDisruptionBudget that allows no disruption blocks every drain."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.kube import Pdb
from upgrader.model.plan import Finding, Severity


def _whole(value: str | None, expected: int) -> int | None:
    """An IntOrString PDB field as pods (percentages of ``expected``, rounded up)."""
    if value is None:
        return None
    text = value.strip()
    if text.endswith("%"):
        return -(-int(text[:-1]) * expected // 100)
    return int(text)


def why_blocked(pdb: Pdb) -> str | None:
    """Why ``pdb`` lets no pod be evicted, or None."""
    if pdb.expected_pods == 0:
        return None
    max_unavailable = _whole(pdb.max_unavailable, pdb.expected_pods)
    if max_unavailable is not None and max_unavailable <= 0:
        return f"maxUnavailable is {pdb.max_unavailable}"
    min_available = _whole(pdb.min_available, pdb.expected_pods)
    if min_available is not None and min_available >= pdb.expected_pods:
        return (
            f"minAvailable {pdb.min_available} is at least the {pdb.expected_pods} pods it covers"
        )
    if pdb.disruptions_allowed <= 0 and pdb.current_healthy >= pdb.expected_pods:
        return (
            f"it allows 0 disruptions with all {pdb.expected_pods} pods healthy "
            f"(desired healthy {pdb.desired_healthy})"
        )
    return None


def pdb001_zero_disruptions(inputs: GateInputs) -> Iterator[Finding]:
    """PDBs that allow 0 disruptions even when all their pods are healthy: a drain would
    retry the eviction (HTTP 429) until it times out."""
    for pdb in sorted(inputs.state.pdbs, key=lambda p: (p.namespace, p.name)):
        why = why_blocked(pdb)
        if why is None:
            continue
        yield blocking(
            "PDB001",
            f"{pdb.namespace}/{pdb.name}",
            f"PodDisruptionBudget {pdb.namespace}/{pdb.name} blocks every drain: {why}; "
            "the Eviction API answers 429 for its pods, so the node roll would stop at the "
            "first node running one. Fix: set maxUnavailable: 1 (or a minAvailable below "
            "the replica count), or scale the workload up, before applying.",
        )


RULE = Rule(
    id="PDB001",
    title="no PDB allows 0 disruptions",
    severity=Severity.BLOCKING,
    inputs=("state",),
    check=pdb001_zero_disruptions,
    description=(
        "A PodDisruptionBudget that allows 0 disruptions even with all its pods healthy "
        "(maxUnavailable 0, minAvailable at least the replicas) would make the Eviction "
        "API answer 429 for its pods until the drain times out."
    ),
)
