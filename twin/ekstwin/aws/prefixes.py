"""IPv4 prefix delegation in the EC2 twin (moto 5.2.5 has none): /28 prefixes assigned to an
ENI, as AssignPrivateIpAddresses with ``Ipv4PrefixCount`` does for ipamd (v1.9+).

A prefix is a free, aligned /28 of the ENI's subnet that holds no AWS-reserved address; it
takes one of the ENI's IPv4 slots and 16 of the subnet's addresses. Prefixes live on the moto
ENI as ``ipv4_prefixes`` (DescribeNetworkInterfaces then lists ``Ipv4Prefixes``); the first
assignment installs the two hooks that make subnets count them. In-process only: the HTTP
``Ipv4PrefixCount`` parameter is not served.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from moto.ec2.models.subnets import Subnet

from ekstwin.aws import addresses
from ekstwin.aws.errors import AwsError
from ekstwin.aws.twin import AwsTwin

PREFIX_SIZE = 16
# EC2's answer when no aligned /28 is free (see containsInsufficientCIDRsOrSubnetIPs)
INSUFFICIENT_CIDR = (
    "The specified subnet does not have enough free cidr blocks to satisfy the request."
)

_installed = False
_guard = threading.Lock()


def of(eni: Any) -> list[str]:
    """The /28 prefixes assigned to a moto ENI."""
    return [p["Ipv4Prefix"] for p in getattr(eni, "ipv4_prefixes", None) or []]


def _prefix_addresses(subnet: Any) -> set[str]:
    held: set[str] = set()
    for eni in subnet.ec2_backend.enis.values():
        if eni.subnet.id == subnet.id:
            for prefix in of(eni):
                held.update(str(ip) for ip in ipaddress.ip_network(prefix))
    return held


def install() -> None:
    """Make AvailableIpAddressCount and the twin's address picker see prefixes (idempotent)."""
    global _installed  # noqa: PLW0603 - moto's classes are process-global
    with _guard:
        if _installed:
            return
        count = Subnet.available_ip_address_count

        def available(self: Any) -> int:
            return int(count.fget(self)) - len(_prefix_addresses(self))  # type: ignore[attr-defined]

        Subnet.available_ip_address_count = property(available)  # type: ignore[method-assign,assignment]
        used = addresses.used_addresses

        def used_with_prefixes(subnet: Any) -> set[str]:
            return used(subnet) | _prefix_addresses(subnet)

        addresses.used_addresses = used_with_prefixes
        _installed = True


def _free_blocks(subnet: Any, count: int) -> list[str]:
    network = ipaddress.IPv4Network(subnet.cidr_block)
    reserved = {network.network_address + i for i in range(4)} | {network.broadcast_address}
    used = addresses.used_addresses(subnet)
    found: list[str] = []
    for block in network.subnets(new_prefix=28):
        if any(ip in reserved or str(ip) in used for ip in block):
            continue
        found.append(str(block))
        if len(found) == count:
            break
    return found


def assign(twin: AwsTwin, eni_id: str, count: int) -> list[str]:
    """AssignPrivateIpAddresses(Ipv4PrefixCount=count): the new prefixes, or EC2's error."""
    install()
    with twin.lock:
        eni = twin.ec2.enis.get(eni_id)
        if eni is None:
            raise AwsError(
                "InvalidNetworkInterfaceID.NotFound",
                f"The networkInterface ID '{eni_id}' does not exist",
            )
        if eni.instance is not None:
            limits = addresses.instance_limits(eni.instance.instance_type)
            slots = len(eni.private_ip_addresses) - 1 + len(of(eni))
            if limits is not None and slots + count > limits[1] - 1:
                raise AwsError("PrivateIpAddressLimitExceeded", addresses.IP_LIMIT)
        blocks = _free_blocks(eni.subnet, count)
        if len(blocks) < count:
            raise AwsError("InsufficientCidrBlocks", INSUFFICIENT_CIDR)
        held = list(getattr(eni, "ipv4_prefixes", None) or [])
        eni.ipv4_prefixes = held + [{"Ipv4Prefix": b} for b in blocks]
        return blocks


def unassign(twin: AwsTwin, eni_id: str, prefixes: list[str]) -> None:
    """UnassignPrivateIpAddresses(Ipv4Prefixes=prefixes)."""
    with twin.lock:
        eni = twin.ec2.enis.get(eni_id)
        if eni is None:
            return
        gone = set(prefixes)
        held = list(getattr(eni, "ipv4_prefixes", None) or [])
        eni.ipv4_prefixes = [p for p in held if p["Ipv4Prefix"] not in gone]


def prefixes_of(twin: AwsTwin, eni_id: str) -> tuple[str, ...]:
    with twin.lock:
        eni = twin.ec2.enis.get(eni_id)
        return tuple(of(eni)) if eni is not None else ()
