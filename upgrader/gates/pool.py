"""What the capacity gates say about a node's warm pool and about ipamd's leaked ENIs."""

from __future__ import annotations

from upgrader.capacity.settings import CniSettings
from upgrader.gates.inputs import GateInputs
from upgrader.model.aws import Eni
from upgrader.model.state import ClusterState

LEAKED_ENI_PREFIX = "aws-K8S-"
_GONE = frozenset({"terminated", "shutting-down"})


def pool_settings(cni: CniSettings) -> str:
    """The pool settings that size a new node's addresses, in words."""
    parts = [
        f"{env}={value}"
        for env, value in (
            ("WARM_ENI_TARGET", cni.warm_eni_target),
            ("WARM_IP_TARGET", cni.warm_ip_target),
            ("MINIMUM_IP_TARGET", cni.minimum_ip_target),
            ("WARM_PREFIX_TARGET", cni.warm_prefix_target),
        )
        if value is not None
    ]
    if cni.prefix_delegation:
        parts.append("ENABLE_PREFIX_DELEGATION=true")
    return f"CNI {cni.version.tag} with " + (", ".join(parts) or "ipamd defaults")


def leaked_enis(state: ClusterState) -> tuple[Eni, ...]:
    """ENIs ipamd created (``aws-K8S-<instance>``) left ``available`` after their
    instance is gone. An ENI mid-attach is also ``available`` but its instance lives."""
    live = {i.instance_id for i in state.instances if i.state not in _GONE}
    out = []
    for eni in state.enis:
        if eni.status != "available" or not eni.description.startswith(LEAKED_ENI_PREFIX):
            continue
        owner = eni.instance_id or eni.description[len(LEAKED_ENI_PREFIX) :]
        if owner not in live:
            out.append(eni)
    return tuple(sorted(out, key=lambda e: e.eni_id))


def eni_addresses(eni: Eni) -> int:
    return eni.addresses + 16 * eni.prefixes


def leak_hint(inputs: GateInputs, subnet_id: str) -> str:
    leaked = [e for e in leaked_enis(inputs.state) if e.subnet_id == subnet_id]
    if not leaked:
        return ""
    held = sum(eni_addresses(e) for e in leaked)
    return (
        f" ({len(leaked)} leaked ENI(s) hold {held} of its addresses: delete them with "
        "`upgrader apply --cleanup-leaked-enis`, see CAP005)"
    )
