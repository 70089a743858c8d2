"""Every gate by its stable ID, and :func:`run`, which never lets a crash pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from upgrader.gates.apis import api001_removed_apis
from upgrader.gates.capacity import (
    cap001_subnet_addresses,
    cap002_control_plane_subnets,
    cap003_displaced_pods_fit,
    cap004_kubelet_max_pods,
    cap005_leaked_enis,
)
from upgrader.gates.disruption import pdb001_zero_disruptions
from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.pods import pod001_stuck_pods
from upgrader.gates.stacks import stk001_stacks_stable
from upgrader.gates.versions import ver001_kubernetes_step, ver002_cni_path
from upgrader.model.plan import Finding

Gate = Callable[[GateInputs], Iterable[Finding]]

GATES: tuple[tuple[str, Gate], ...] = (
    ("API001", api001_removed_apis),
    ("CAP001", cap001_subnet_addresses),
    ("CAP002", cap002_control_plane_subnets),
    ("CAP003", cap003_displaced_pods_fit),
    ("CAP004", cap004_kubelet_max_pods),
    ("CAP005", cap005_leaked_enis),
    ("PDB001", pdb001_zero_disruptions),
    ("POD001", pod001_stuck_pods),
    ("STK001", stk001_stacks_stable),
    ("VER001", ver001_kubernetes_step),
    ("VER002", ver002_cni_path),
)
GATE_IDS: tuple[str, ...] = tuple(gate_id for gate_id, _ in GATES)


def run(inputs: GateInputs, gates: Sequence[tuple[str, Gate]] = GATES) -> tuple[Finding, ...]:
    """Run every gate; a gate that raises becomes a BLOCKING finding, never a pass.

    Findings come back sorted by (id, subject, message).
    """
    found: list[Finding] = []
    for gate_id, gate in gates:
        try:
            found.extend(gate(inputs))
        except Exception as err:  # any crash must block, whatever it is
            found.append(
                blocking(
                    gate_id,
                    f"gate {gate_id}",
                    f"the gate crashed ({type(err).__name__}: {err}), so it did not pass. "
                    "Fix: check the input it names; if it looks right, report this as an "
                    "upgrader bug with the plan file.",
                )
            )
    return tuple(sorted(found, key=lambda f: (f.id, f.subject, f.message)))
