"""CAP002: the control plane's subnets have room for EKS's new control-plane ENIs."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity


def cap002_control_plane_subnets(inputs: GateInputs) -> Iterator[Finding]:
    """The control plane's subnets have enough free addresses in enough AZs for EKS
    to place its new control-plane ENIs during the upgrade."""
    state = inputs.state
    need = inputs.config.gate("control_plane_min_free_ips")
    azs = inputs.config.gate("control_plane_min_azs")
    rows, good = [], set()
    for sid in sorted(state.cluster.subnet_ids):
        subnet = state.subnet(sid)
        if subnet is None:
            rows.append(f"{sid} (not found)")
            continue
        rows.append(f"{inputs.subnet_label(sid)} in {subnet.az}: {subnet.available_ips} free")
        if subnet.available_ips >= need:
            good.add(subnet.az)
    if len(good) >= azs:
        return
    yield blocking(
        "CAP002",
        f"control-plane subnets of {state.cluster.name}",
        f"EKS needs at least {need} free addresses in subnets of at least {azs} AZs to "
        f"upgrade the control plane; only {len(good)} AZ(s) qualify ({'; '.join(rows)}). "
        "Fix: free addresses in those subnets (leaked ENIs, unused endpoints) or add a "
        "subnet with free addresses in another AZ to the cluster (UpdateClusterConfig).",
    )


RULE = Rule(
    id="CAP002",
    title="control-plane subnets: ≥ 5 free IPs in ≥ 2 AZs",
    severity=Severity.BLOCKING,
    inputs=("state", "config"),
    check=cap002_control_plane_subnets,
    description=(
        "The cluster's control-plane subnets have at least "
        "gates.control_plane_min_free_ips free addresses (default 5) in subnets of at "
        "least gates.control_plane_min_azs AZs (default 2), so EKS can place the new "
        "control-plane ENIs during the version update."
    ),
)
