"""`upgrader capacity` and `upgrader catalog refresh`: capacity for one instance type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from upgrader.capacity.node import MaxPods, NodeAddresses, max_pods, node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog import instances, versions
from upgrader.catalog.instances import InstanceType
from upgrader.catalog.ipamd_types import IpamdGap, ipamd_types
from upgrader.errors import BadInputError
from upgrader.semver import Version


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityRequest:
    """Inputs of ``upgrader capacity --instance-type``."""

    instance_type: str
    pods: int = 0
    cni_version: str | None = None
    warm_eni_target: int | None = None
    warm_ip_target: int | None = None
    minimum_ip_target: int | None = None
    warm_prefix_target: int | None = None
    max_eni: int | None = None
    prefix_delegation: bool = False
    custom_networking: bool = False
    max_pods_cap: bool = False
    catalog_overlay: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityReport:
    """Capacity of one node: limits, max pods and the addresses it takes.

    ``ipamd_gap`` is set when the CNI release's ipamd does not know the type (DESIGN §3:
    exit 3); the figures are then those the node gets once its CNI knows the type."""

    instance: InstanceType
    cni: CniSettings
    limits: MaxPods
    addresses: NodeAddresses
    notes: tuple[str, ...]
    ipamd_gap: IpamdGap | None = None

    @property
    def blocked(self) -> str | None:
        """Why this CNI release cannot run the type, with the release that fixes it."""
        gap = self.ipamd_gap
        return None if gap is None else f"{gap.problem}; {gap.fixed_by}"

    def as_json(self) -> dict[str, object]:
        """The contract keys of DESIGN.md §3 plus the detail behind them; ``blocked``
        says why the command exits 3 (null otherwise)."""
        a, i, gap = self.addresses, self.instance, self.ipamd_gap
        return {
            "instance_type": i.name,
            "max_enis": i.max_enis,
            "ipv4_per_eni": i.ipv4_per_eni,
            "vcpus": i.vcpus,
            "memory_mib": i.memory_mib,
            "nitro": i.nitro,
            "max_pods": self.limits.value,
            "max_pods_uncapped": self.limits.uncapped,
            "pod_ip_capacity": self.limits.pod_ip_capacity,
            "cni_version": self.cni.version.tag,
            "pool_mode": a.mode.value,
            "pods": a.pods,
            "pods_without_ip": a.pods_without_ip,
            "enis_attached": a.enis_attached,
            "pool_ips": a.pool_ips,
            "prefixes": a.prefixes,
            "node_subnet_ips": a.node_subnet_ips,
            "pod_subnet_ips": a.pod_subnet_ips,
            "subnet_ips": a.subnet_ips,
            "boot_peak_ips": a.peak_ips,
            "notes": list(self.notes),
            "ipamd_knows_instance_type": gap is None,
            "first_release_knowing_instance_type": gap.first_knowing.tag if gap else None,
            "first_release_upgrader_applies": gap.usable.tag if gap and gap.usable else None,
            "blocked": self.blocked,
        }


def default_cni_version() -> Version:
    """The newest VPC CNI release the catalog knows."""
    return max(versions.catalog().cni_releases())


def instance_capacity(req: CapacityRequest) -> CapacityReport:
    """Max pods and addresses for one node of ``req.instance_type``."""
    if req.pods < 0:
        raise BadInputError("--pods", f"{req.pods} is negative", "give 0 or more pods")
    inst = instances.load(req.catalog_overlay).get(req.instance_type)
    version = (
        versions.catalog().check_cni_release(
            Version.parse(req.cni_version, "--cni-version"), "--cni-version"
        )
        if req.cni_version
        else default_cni_version()
    )
    cni = CniSettings(
        version=version,
        warm_eni_target=req.warm_eni_target,
        warm_ip_target=req.warm_ip_target,
        minimum_ip_target=req.minimum_ip_target,
        warm_prefix_target=req.warm_prefix_target,
        max_eni=req.max_eni,
        prefix_delegation=req.prefix_delegation,
        custom_networking=req.custom_networking,
    )
    limits = max_pods(inst, cni, calculator_cap=req.max_pods_cap)
    addresses = node_addresses(inst, cni, req.pods, kubelet_max_pods=limits.value)
    notes = list(cni.notes())
    if req.prefix_delegation and cni.behaviour.prefix_delegation and not inst.nitro:
        notes.append(
            f"{inst.name} is not Nitro-based: prefix delegation falls back to secondary IPs"
        )
    if addresses.pods_without_ip:
        notes.append(
            f"{addresses.pods_without_ip} of {req.pods} pods get no address on one "
            f"{inst.name} (pod-IP capacity {addresses.pods_with_ip}); they stay ContainerCreating"
        )
    if req.max_pods_cap and inst.vcpus is None:
        notes.append(
            f"vCPUs of {inst.name} are unknown (only the VPC CNI's limits tables list it): "
            "max-pods-calculator's 110/250 ceiling is not applied"
        )
    gap = ipamd_types().gap(version, inst.name)
    if gap is not None:
        notes.append(
            f"CNI {version.tag} does not know {inst.name}: these figures hold from "
            f"{(gap.usable or gap.first_knowing).tag} on (blocked, exit 3)"
        )
    return CapacityReport(
        instance=inst,
        cni=cni,
        limits=limits,
        addresses=addresses,
        notes=tuple(notes),
        ipamd_gap=gap,
    )


def refresh_instance_catalog(
    regions: Sequence[str], out: Path, endpoint_url: str | None = None
) -> int:
    """Fetch instance types live from EC2 into the overlay file; returns the count."""
    from upgrader.adapters import instance_catalog  # noqa: PLC0415 - keep boto3 off the CLI's import path

    types = instance_catalog.merge(
        t for r in regions for t in instance_catalog.describe_instance_types(r, endpoint_url)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(instances.to_csv(types.values()))
    return len(types)
