"""ipamd's EC2 calls on the twin (pkg/awsutils): every address really comes from the subnet,
and every refusal is EC2's (InsufficientFreeAddressesInSubnet, InsufficientCidrBlocks,
PrivateIpAddressLimitExceeded, AttachmentLimitExceeded) raised as :class:`AwsError`."""

from __future__ import annotations

from dataclasses import dataclass

from ekstwin.aws import AwsError, AwsTwin, prefixes
from ekstwin.aws.instance_types import describe

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

    def __init__(self, twin: AwsTwin, instance_id: str) -> None:
        self.twin = twin
        self.instance_id = instance_id

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
        info = describe(self.twin, instance_type)
        if info is None:
            return None
        return info.max_enis, info.ipv4_per_eni, info.hypervisor == "nitro" or info.bare_metal

    def alloc_eni(self, subnet_id: str, *, ips: int = 0, prefix_count: int = 0) -> str:
        """CreateNetworkInterface (with ``ips`` secondary IPs), attach at the lowest free
        device index, then ``prefix_count`` prefixes; a failed step deletes the ENI."""
        eni_id = self.twin.create_eni(subnet_id, f"{ENI_DESCRIPTION}{self.instance_id}", ips)
        try:
            used = {e.device_index for e in self.twin.enis_of(self.instance_id)}
            index = next(i for i in range(len(used) + 1) if i not in used)
            self.twin.attach_eni(eni_id, self.instance_id, index)
            if prefix_count:
                prefixes.assign(self.twin, eni_id, prefix_count)
        except AwsError:
            self.free_eni(eni_id)
            raise
        return eni_id

    def alloc_ips(self, eni_id: str, count: int) -> list[str]:
        return self.twin.assign_ips(eni_id, count) if count > 0 else []

    def alloc_prefixes(self, eni_id: str, count: int) -> list[str]:
        return prefixes.assign(self.twin, eni_id, count) if count > 0 else []

    def dealloc_ips(self, eni_id: str, ips: list[str]) -> None:
        if ips:
            self.twin.unassign_ips(eni_id, ips)

    def dealloc_prefixes(self, eni_id: str, cidrs: list[str]) -> None:
        if cidrs:
            prefixes.unassign(self.twin, eni_id, cidrs)

    def free_eni(self, eni_id: str) -> None:
        """Detach (if attached) and delete the ENI (FreeENI)."""
        attached = {e.eni_id for e in self.twin.enis_of(self.instance_id)}
        if eni_id in attached:
            self.twin.detach_eni(eni_id)
        self.twin.delete_eni(eni_id)
