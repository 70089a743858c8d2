"""EC2 instance types: ENI and IPv4 limits, vCPUs, memory, hypervisor.

The bundled table ``data/instance_types.csv`` is generated from EC2
DescribeInstanceTypes records by ``python -m upgrader.adapters.instance_catalog``
(see its docstring for the sources and how to re-run it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from upgrader.errors import UnknownInstanceTypeError

CSV_FIELDS = (
    "instance_type",
    "max_enis",
    "ipv4_per_eni",
    "vcpus",
    "memory_mib",
    "hypervisor",
    "bare_metal",
    "network_cards",
    "max_enis_all_cards",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceType:
    """Limits of one instance type; ``max_enis`` counts the default network card only."""

    name: str
    max_enis: int
    ipv4_per_eni: int
    vcpus: int
    memory_mib: int
    hypervisor: str
    bare_metal: bool
    network_cards: int = 1
    max_enis_all_cards: int = 0

    @property
    def nitro(self) -> bool:
        """Nitro-based (prefix delegation works): Nitro hypervisor or bare metal."""
        return self.hypervisor == "nitro" or self.bare_metal

    @property
    def secondary_ips_per_eni(self) -> int:
        """IPv4 slots per ENI usable by pods: the first address is the ENI's own."""
        return self.ipv4_per_eni - 1


def from_describe_instance_types(record: Mapping[str, Any]) -> InstanceType:
    """Convert one EC2 DescribeInstanceTypes record.

    With several network cards, only the default card's ENIs count: ipamd and
    eni-max-pods.txt both use ``NetworkCards[DefaultNetworkCardIndex]``.
    """
    net = record["NetworkInfo"]
    cards = net.get("NetworkCards") or []
    total = int(net["MaximumNetworkInterfaces"])
    default_index = int(net.get("DefaultNetworkCardIndex", 0))
    max_enis = total
    if len(cards) > 1:
        by_index = {int(c["NetworkCardIndex"]): int(c["MaximumNetworkInterfaces"]) for c in cards}
        max_enis = by_index.get(default_index, total)
    return InstanceType(
        name=record["InstanceType"],
        max_enis=max_enis,
        ipv4_per_eni=int(net["Ipv4AddressesPerInterface"]),
        vcpus=int(record["VCpuInfo"]["DefaultVCpus"]),
        memory_mib=int(record["MemoryInfo"]["SizeInMiB"]),
        hypervisor=str(record.get("Hypervisor") or ""),
        bare_metal=bool(record.get("BareMetal", False)),
        network_cards=max(1, len(cards)),
        max_enis_all_cards=total,
    )


def to_csv(types: Iterable[InstanceType]) -> str:
    """Deterministic CSV of the catalog, sorted by name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for t in sorted(types, key=lambda t: t.name):
        writer.writerow(
            [
                t.name,
                t.max_enis,
                t.ipv4_per_eni,
                t.vcpus,
                t.memory_mib,
                t.hypervisor,
                int(t.bare_metal),
                t.network_cards,
                t.max_enis_all_cards,
            ]
        )
    return out.getvalue()


def from_csv(text: str) -> dict[str, InstanceType]:
    """Parse a catalog CSV written by :func:`to_csv`."""
    rows = csv.DictReader(io.StringIO(text))
    return {
        r["instance_type"]: InstanceType(
            name=r["instance_type"],
            max_enis=int(r["max_enis"]),
            ipv4_per_eni=int(r["ipv4_per_eni"]),
            vcpus=int(r["vcpus"]),
            memory_mib=int(r["memory_mib"]),
            hypervisor=r["hypervisor"],
            bare_metal=r["bare_metal"] == "1",
            network_cards=int(r["network_cards"]),
            max_enis_all_cards=int(r["max_enis_all_cards"]),
        )
        for r in rows
    }


@dataclass(frozen=True, slots=True)
class InstanceCatalog:
    """Instance types by name."""

    types: Mapping[str, InstanceType]
    source: str

    def get(self, name: str) -> InstanceType:
        """The type named ``name``; unknown names raise a clear, exit-2 error."""
        found = self.types.get(name)
        if found is None:
            family = name.split(".", maxsplit=1)[0]
            same = [t for t in self.types.values() if t.name.split(".")[0] == family]
            close = [t.name for t in sorted(same, key=lambda t: (t.vcpus, t.name))][:10]
            near = f" Known {family} sizes: {', '.join(close)}." if close else ""
            raise UnknownInstanceTypeError(
                f"instance type {name!r}",
                f"not in the instance catalog ({self.source}, {len(self.types)} types).{near}",
                "check the spelling, or refresh the catalog from EC2 with "
                "`upgrader catalog refresh --region REGION` if the type is new",
            )
        return found

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __len__(self) -> int:
        return len(self.types)

    def merged(self, overlay: Mapping[str, InstanceType], source: str) -> InstanceCatalog:
        """This catalog with ``overlay`` entries added or replacing bundled ones."""
        return InstanceCatalog({**self.types, **overlay}, f"{self.source} + {source}")


@cache
def bundled() -> InstanceCatalog:
    """The catalog shipped inside the package."""
    text = resources.files("upgrader.catalog").joinpath("data/instance_types.csv").read_text()
    return InstanceCatalog(from_csv(text), "bundled catalog")


def load(overlay_path: Path | None = None) -> InstanceCatalog:
    """The bundled catalog, plus a refreshed overlay file when one exists."""
    base = bundled()
    if overlay_path is None or not overlay_path.is_file():
        return base
    return base.merged(from_csv(overlay_path.read_text()), str(overlay_path))
