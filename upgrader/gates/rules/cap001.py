"""CAP001: every wave's peak address demand fits each subnet it lands in, keeping the
reserve; per subnet and AZ, never summed across AZs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from upgrader.capacity.waves import Blocker, SubnetBudget
from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs, GroupRoll
from upgrader.gates.pool import leak_hint, pool_settings
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity


def _fixes(inputs: GateInputs, group: GroupRoll, subnet_id: str, az: str, short: int) -> str:
    label = inputs.subnet_label(subnet_id)
    cni = group.cni
    if cni.ip_target_mode:
        pool = "lower WARM_IP_TARGET/MINIMUM_IP_TARGET so a new node holds fewer addresses"
    else:
        warm = cni.warm_eni_target if cni.warm_eni_target is not None else 1
        pool = (
            f"lower WARM_ENI_TARGET (now {warm}) or set WARM_IP_TARGET/MINIMUM_IP_TARGET "
            "so a new node holds fewer addresses"
        )
    return (
        f"Fix: free at least {short} addresses in {label}{leak_hint(inputs, subnet_id)}; "
        f"or {pool}; or add another subnet in {az} with free addresses to node group "
        f"{group.name}."
    )


def _blocker_finding(inputs: GateInputs, group: GroupRoll, b: Blocker) -> Finding:
    label = inputs.subnet_label(b.subnet_id)
    short = b.demand + b.reserve - b.free_ips
    return blocking(
        "CAP001",
        label,
        f"node group {group.name}: replacing even one {group.instance_type.name} node in "
        f"{b.az} needs {b.demand} addresses in {label} at the wave's peak (the new node's "
        f"warm pool under {pool_settings(group.cni)}, with its displaced pods); "
        f"{b.free_ips} are free and {b.reserve} must stay free (reserve): {short} short. "
        f"{b.nodes_left} node(s) in {b.az} cannot be replaced. "
        + _fixes(inputs, group, b.subnet_id, b.az, short),
    )


def _budget_finding(inputs: GateInputs, group: GroupRoll, wave: int, b: SubnetBudget) -> Finding:
    label = inputs.subnet_label(b.subnet_id)
    short = b.peak_demand + b.reserve - b.free_before
    return blocking(
        "CAP001",
        label,
        f"node group {group.name}, wave {wave}: the new nodes need {b.peak_demand} addresses "
        f"in {label} at the peak; {b.free_before} are free and the reserve is {b.reserve}, "
        f"{short} short. " + _fixes(inputs, group, b.subnet_id, b.az, short),
    )


def _forced_surge(inputs: GateInputs, group: GroupRoll) -> Iterator[Finding]:
    """Managed groups: EKS launches its surge whatever the subnets hold, so a wave the
    planner had to shrink below that surge is a wave EKS would still run."""
    surge = group.forced_surge_per_az
    if not surge:
        return
    launches = (
        f"its Amazon Linux 2023 successor {group.successor} launches"
        if group.successor
        else "EKS surges"
    )
    left: dict[str, int] = defaultdict(int)
    node_az = {n.name: n.az for n in inputs.state.nodes}
    for name in group.nodes:
        left[node_az.get(name, "?")] += 1
    for wave in group.roll.waves:
        for step in wave.steps:
            wanted = min(surge, left[step.az])
            got = len(step.drained)
            left[step.az] -= got
            if got >= wanted:
                continue
            tight = min(
                (b for b in wave.budgets if b.az == step.az),
                key=lambda b: (b.free_at_peak, b.subnet_id),
                default=None,
            )
            where = inputs.subnet_label(tight.subnet_id) if tight else step.az
            yield blocking(
                "CAP001",
                where,
                f"managed node group {group.name}: {launches} {wanted} new "
                f"{group.instance_type.name} nodes at once in {step.az}, but {where} keeps "
                f"its reserve for only {got}. Fix: free addresses in {where}, lower the warm "
                f"pool ({pool_settings(group.cni)}), or add a subnet in {step.az}.",
            )


def cap001_subnet_addresses(inputs: GateInputs) -> Iterator[Finding]:
    """Each wave's peak address demand fits every subnet it lands in, keeping the
    reserve; checked per subnet and AZ, never summed. Leaked ENIs' addresses are
    not counted as free (EC2 already counts them as used)."""
    for group in inputs.groups:
        for blocker in group.roll.blockers:
            yield _blocker_finding(inputs, group, blocker)
        for wave in group.roll.waves:
            for budget in wave.budgets:
                if not budget.safe:
                    yield _budget_finding(inputs, group, wave.index, budget)
        yield from _forced_surge(inputs, group)


RULE = Rule(
    id="CAP001",
    title="per subnet: the next wave's peak address demand ≤ free - reserve",
    severity=Severity.BLOCKING,
    inputs=("state", "config", "groups"),
    check=cap001_subnet_addresses,
    description=(
        "Per subnet: the predicted peak address demand of each wave of a node-group roll "
        "(the new nodes' warm pools under the target CNI release's ipamd rules, with the "
        "pods they take over) must not exceed the subnet's free addresses minus the "
        "reserve (gates.subnet_reserve_ips). Checked per subnet and AZ, never summed "
        "across AZs; leaked ENIs' addresses are not counted free. Managed groups: EKS's "
        "own surge must fit too."
    ),
)
