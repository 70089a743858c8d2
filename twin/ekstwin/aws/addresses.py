"""Subnet addresses and per-instance-type ENI/IP limits, as EC2 enforces them.

moto hands out ENI addresses at random (collisions, negative free counts) and enforces
no limits; these helpers give the lowest free address instead and raise EC2's real errors.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from moto.ec2.exceptions import EC2ClientError

from upgrader.catalog.instances import bundled
from upgrader.errors import UnknownInstanceTypeError

# EC2's error texts (observed in the wild: karpenter, amazon-vpc-cni-k8s, cilium issues)
RUN_INSTANCES_NO_ADDRESSES = (
    "There are not enough free addresses in subnet '{subnet}' to satisfy the requested "
    "number of instances."
)
ENI_NO_ADDRESSES = (
    "The specified subnet does not have enough free addresses to satisfy the request."
)
IP_LIMIT = "Number of private addresses will exceed limit."
ENI_LIMIT = "Interface count {count} exceeds the limit for {instance_type}"


def insufficient_for_instances(subnet_id: str) -> EC2ClientError:
    return EC2ClientError(
        "InsufficientFreeAddressesInSubnet", RUN_INSTANCES_NO_ADDRESSES.format(subnet=subnet_id)
    )


def insufficient_for_eni() -> EC2ClientError:
    return EC2ClientError("InsufficientFreeAddressesInSubnet", ENI_NO_ADDRESSES)


def free_count(subnet: Any) -> int:
    """AvailableIpAddressCount: size minus 5 reserved minus every address ENIs hold."""
    return int(subnet.available_ip_address_count)


def used_addresses(subnet: Any) -> set[str]:
    used = {str(ip) for ip in subnet._subnet_ips}
    for eni in subnet.ec2_backend.enis.values():
        if eni.subnet.id == subnet.id:
            used.update(a["PrivateIpAddress"] for a in eni.private_ip_addresses)
    return used


def allocate(subnet: Any, count: int) -> list[str]:
    """The ``count`` lowest free addresses (AWS reserves the first four and the last)."""
    if count <= 0:
        return []
    used = used_addresses(subnet)
    network = ipaddress.IPv4Network(subnet.cidr_block)
    found: list[str] = []
    for index, host in enumerate(network.hosts()):
        if index < 3:  # .1 router, .2 DNS, .3 reserved (.0 and broadcast are not hosts)
            continue
        if str(host) not in used:
            found.append(str(host))
            if len(found) == count:
                return found
    raise insufficient_for_eni()


def instance_limits(instance_type: str) -> tuple[int, int] | None:
    """(max ENIs, IPv4 addresses per ENI) of ``instance_type``, or None if unknown."""
    try:
        known = bundled().get(instance_type)
    except UnknownInstanceTypeError:
        return None
    return known.max_enis, known.ipv4_per_eni


def check_attach(instance: Any, device_index: int) -> None:
    """AttachmentLimitExceeded / device index in use, as AttachNetworkInterface."""
    if device_index in instance.nics:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Instance '{instance.id}' already has an interface attached at device index "
            f"'{device_index}'.",
        )
    limits = instance_limits(instance.instance_type)
    if limits is not None and len(instance.nics) + 1 > limits[0]:
        raise EC2ClientError(
            "AttachmentLimitExceeded",
            ENI_LIMIT.format(count=len(instance.nics) + 1, instance_type=instance.instance_type),
        )


def check_ip_limit(eni: Any, adding: int) -> None:
    """PrivateIpAddressLimitExceeded when an attached ENI would exceed its type's IPv4 slots."""
    instance = eni.instance
    if instance is None:
        return
    limits = instance_limits(instance.instance_type)
    if limits is not None and len(eni.private_ip_addresses) + adding > limits[1]:
        raise EC2ClientError("PrivateIpAddressLimitExceeded", IP_LIMIT)
