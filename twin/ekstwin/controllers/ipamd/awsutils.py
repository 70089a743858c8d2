"""ipamd's EC2 calls on the twin (pkg/awsutils): every address really comes from the subnet,
and every refusal is EC2's (InsufficientFreeAddressesInSubnet, InsufficientCidrBlocks,
PrivateIpAddressLimitExceeded, AttachmentLimitExceeded) raised as :class:`AwsError`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ekstwin.aws import AwsError, AwsTwin, prefixes
from ekstwin.aws.instance_types import describe
from ekstwin.controllers.ipamd.counters import IpamdCounters

T = TypeVar("T")

ENI_DESCRIPTION = "aws-K8S-"  # eniDescriptionPrefix + instance id (#69 leak pattern)
LIMIT_EXCEEDED = "PrivateIpAddressLimitExceeded"
ATTACH_LIMIT = "AttachmentLimitExceeded"
SHORT_SUBNET = ("InsufficientFreeAddressesInSubnet", "InsufficientCidrBlocks")


@dataclass(frozen=True, slots=True)
class Attached:
    """One ENI attached to the instance, as IMDS/DescribeNetworkInterfaces show it."""

    eni_id: str
    device_index: int
    subnet_id: str
    ips: tuple[str, ...]
    prefixes: tuple[str, ...]


class Ec2:
    """The instance's view of EC2 for its ipamd."""

    def __init__(
        self, twin: AwsTwin, instance_id: str, counters: IpamdCounters | None = None
    ) -> None:
        self.twin = twin
        self.instance_id = instance_id
        self.counters = counters if counters is not None else IpamdCounters()

    def _call(self, api: str, fn: Callable[[], T]) -> T:
        """One EC2 call, counted as ipamd counts it (ec2api_req_count, aws_api_error_count)."""
        self.counters.ec2_requests[api] += 1
        try:
            return fn()
        except AwsError as err:
            self.counters.aws_api_errors[(api, err.code)] += 1
            raise

    def attached(self) -> list[Attached]:
        return [
            Attached(
                eni_id=e.eni_id,
                device_index=e.device_index,
                subnet_id=e.subnet_id,
                ips=e.secondary_ips,
                prefixes=prefixes.prefixes_of(self.twin, e.eni_id),
            )
            for e in self.twin.enis_of(self.instance_id)
        ]

    def describe_type(self, instance_type: str) -> tuple[int, int, bool] | None:
        """DescribeInstanceTypes: (MaximumNetworkInterfaces, IPv4 per ENI, Nitro) or None."""
        info = self._call("DescribeInstanceTypes", lambda: describe(self.twin, instance_type))
        if info is None:
            return None
        return info.max_enis, info.ipv4_per_eni, info.hypervisor == "nitro" or info.bare_metal

    def alloc_eni(self, subnet_id: str, *, ips: int = 0, prefix_count: int = 0) -> str:
        """CreateNetworkInterface (with ``ips`` secondary IPs), attach at the lowest free
        device index, then ``prefix_count`` prefixes; a failed step deletes the ENI."""
        description = f"{ENI_DESCRIPTION}{self.instance_id}"
        eni_id = self._call(
            "CreateNetworkInterface", lambda: self.twin.create_eni(subnet_id, description, ips)
        )
        try:
            used = {e.device_index for e in self.twin.enis_of(self.instance_id)}
            index = next(i for i in range(len(used) + 1) if i not in used)
            self._call(
                "AttachNetworkInterface",
                lambda: self.twin.attach_eni(eni_id, self.instance_id, index),
            )
            if prefix_count:
                self._call(
                    "AssignPrivateIpAddresses",
                    lambda: prefixes.assign(self.twin, eni_id, prefix_count),
                )
        except AwsError:
            self.free_eni(eni_id)
            raise
        return eni_id

    def alloc_ips(self, eni_id: str, count: int) -> list[str]:
        if count <= 0:
            return []
        return self._call("AssignPrivateIpAddresses", lambda: self.twin.assign_ips(eni_id, count))

    def alloc_prefixes(self, eni_id: str, count: int) -> list[str]:
        if count <= 0:
            return []
        return self._call(
            "AssignPrivateIpAddresses", lambda: prefixes.assign(self.twin, eni_id, count)
        )

    def dealloc_ips(self, eni_id: str, ips: list[str]) -> None:
        if ips:
            self._call("UnassignPrivateIpAddresses", lambda: self.twin.unassign_ips(eni_id, ips))

    def dealloc_prefixes(self, eni_id: str, cidrs: list[str]) -> None:
        if cidrs:
            self._call(
                "UnassignPrivateIpAddresses", lambda: prefixes.unassign(self.twin, eni_id, cidrs)
            )

    def free_eni(self, eni_id: str) -> None:
        """Detach (if attached) and delete the ENI (FreeENI)."""
        attached = {e.eni_id for e in self.twin.enis_of(self.instance_id)}
        if eni_id in attached:
            self._call("DetachNetworkInterface", lambda: self.twin.detach_eni(eni_id))
        self._call("DeleteNetworkInterface", lambda: self.twin.delete_eni(eni_id))
