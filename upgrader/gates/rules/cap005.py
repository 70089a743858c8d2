"""CAP005: ENIs leaked by ipamd (#69) hold subnet addresses nobody uses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from upgrader.gates.findings import advisory
from upgrader.gates.inputs import GateInputs
from upgrader.gates.pool import eni_addresses, leaked_enis
from upgrader.gates.rule import Rule
from upgrader.model.aws import Eni
from upgrader.model.plan import Finding, Severity


def cap005_leaked_enis(inputs: GateInputs) -> Iterator[Finding]:
    """ENIs leaked by ipamd (#69) hold subnet addresses nobody uses; EC2 already counts
    them as taken, so CAP001 does not count them free. Advisory: cleanup is an option."""
    by_subnet: dict[str, list[Eni]] = defaultdict(list)
    for eni in leaked_enis(inputs.state):
        by_subnet[eni.subnet_id].append(eni)
    for sid in sorted(by_subnet):
        enis = by_subnet[sid]
        held = sum(eni_addresses(e) for e in enis)
        label = inputs.subnet_label(sid)
        yield advisory(
            "CAP005",
            label,
            f"{len(enis)} leaked ENI(s) ({', '.join(e.eni_id for e in enis)}) are "
            f"'available', described aws-K8S-<instance> for instances that no longer exist, "
            f"and hold {held} addresses in {label} (aws/amazon-vpc-cni-k8s#69). Fix: run "
            "`upgrader apply PLAN --cleanup-leaked-enis`, or delete them with "
            "`aws ec2 delete-network-interface --network-interface-id <id>`.",
        )


RULE = Rule(
    id="CAP005",
    title="leaked ENIs holding subnet addresses",
    severity=Severity.ADVISORY,
    inputs=("state",),
    check=cap005_leaked_enis,
    description=(
        "ENIs ipamd created (described aws-K8S-<instance-id>) left 'available' after "
        "their instance is gone hold subnet addresses nobody uses (aws/amazon-vpc- "
        "cni-k8s#69). EC2 counts them as taken, so CAP001 does too; `upgrader apply "
        "--cleanup-leaked-enis` deletes them at verify."
    ),
)
