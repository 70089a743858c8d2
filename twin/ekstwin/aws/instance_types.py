"""DescribeInstanceTypes as the twin's EC2 answers it, for in-process callers (ipamd's
fallback for instance types missing from its compiled table, v1.6.0+)."""

from __future__ import annotations

from dataclasses import dataclass

from moto.core.exceptions import ServiceException

from ekstwin.aws.twin import AwsTwin


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """The fields ipamd reads: ``NetworkInfo.MaximumNetworkInterfaces`` (all cards),
    the default card's count, ``Ipv4AddressesPerInterface``, ``Hypervisor``, ``BareMetal``."""

    max_enis: int
    max_enis_default_card: int
    ipv4_per_eni: int
    hypervisor: str
    bare_metal: bool


def describe(twin: AwsTwin, instance_type: str) -> NetworkInfo | None:
    """One type's network limits, or None when EC2 does not know it."""
    with twin.lock:
        try:
            (record,) = twin.ec2.describe_instance_types([instance_type])
        except (ServiceException, ValueError):
            return None
    net = record["NetworkInfo"]
    total = int(net["MaximumNetworkInterfaces"])
    default = int(net.get("DefaultNetworkCardIndex", 0))
    cards = {
        int(c["NetworkCardIndex"]): int(c["MaximumNetworkInterfaces"])
        for c in net.get("NetworkCards", [])
    }
    return NetworkInfo(
        max_enis=total,
        max_enis_default_card=cards.get(default, total),
        ipv4_per_eni=int(net["Ipv4AddressesPerInterface"]),
        hypervisor=str(record.get("Hypervisor") or ""),
        bare_metal=bool(record.get("BareMetal", False)),
    )
