"""EC2 instance types: ENI and IPv4 limits, vCPUs, memory, hypervisor.

The bundled catalog is two generated tables:

* ``data/instance_types.csv``: EC2 DescribeInstanceTypes records, written by
  ``python -m upgrader.adapters.instance_catalog`` (its docstring names the sources);
* ``data/instance_types_upstream.csv``: the types only the VPC CNI's own limits tables
  know (retired or unlisted types such as p3, f1, dl1, g4ad), written by
  ``python -m upgrader.catalog.upstream_limits``. Their vCPUs and memory are unknown
  (``None``): those tables carry ENI and IPv4 limits only.

Where both know a type, the EC2 record wins.
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

from upgrader import textfile
from upgrader.errors import BadInputError, UnknownInstanceTypeError

UNKNOWN_FIGURE = "—"
EC2_TABLE = "instance_types.csv"
UPSTREAM_TABLE = "instance_types_upstream.csv"
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
    vcpus: int | None  # None: unknown (a type only the VPC CNI's limits tables list)
    memory_mib: int | None
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


def shown(value: int | None) -> str:
    """A figure as tables print it; an unknown one (None) as ``—``."""
    return UNKNOWN_FIGURE if value is None else str(value)


def memory_shown(memory_mib: int | None) -> str:
    """Memory as the seed's table writes it (``32 GiB``); unknown as ``—``."""
    return UNKNOWN_FIGURE if memory_mib is None else f"{memory_mib / 1024:g} GiB"


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
                "" if t.vcpus is None else t.vcpus,
                "" if t.memory_mib is None else t.memory_mib,
                t.hypervisor,
                int(t.bare_metal),
                t.network_cards,
                t.max_enis_all_cards,
            ]
        )
    return out.getvalue()


def _optional_int(text: str) -> int | None:
    return None if text == "" else int(text)


def from_csv(text: str) -> dict[str, InstanceType]:
    """Parse a catalog CSV written by :func:`to_csv` (empty vCPUs or memory: unknown)."""
    rows = csv.DictReader(io.StringIO(text))
    return {
        r["instance_type"]: InstanceType(
            name=r["instance_type"],
            max_enis=int(r["max_enis"]),
            ipv4_per_eni=int(r["ipv4_per_eni"]),
            vcpus=_optional_int(r["vcpus"]),
            memory_mib=_optional_int(r["memory_mib"]),
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
            close = [t.name for t in sorted(same, key=lambda t: (t.vcpus or 0, t.name))][:10]
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


def bundled_table(name: str) -> dict[str, InstanceType]:
    """One of the package's catalog CSVs (``EC2_TABLE`` or ``UPSTREAM_TABLE``)."""
    return from_csv(resources.files("upgrader.catalog").joinpath(f"data/{name}").read_text())


@cache
def bundled() -> InstanceCatalog:
    """The catalog shipped inside the package: the EC2 table, plus the types only the
    VPC CNI's limits tables know."""
    ec2 = bundled_table(EC2_TABLE)
    upstream = bundled_table(UPSTREAM_TABLE)
    return InstanceCatalog(dict(sorted({**upstream, **ec2}.items())), "bundled catalog")


def load(overlay_path: Path | None = None) -> InstanceCatalog:
    """The bundled catalog, plus a refreshed overlay file when one exists (read strictly:
    anything there that is not a catalog CSV is bad input naming the file)."""
    base = bundled()
    if overlay_path is None or not (overlay_path.exists() or overlay_path.is_symlink()):
        return base
    hint = "pass a file written by `upgrader catalog refresh --out FILE` (or write it anew)"
    text = textfile.read_text(overlay_path, what="instance catalog", hint=hint)
    try:
        overlay = from_csv(text)
    except KeyError as err:
        problem = f"has no column {err.args[0]!r}"
    except (TypeError, ValueError):
        problem = "has a row with a missing or non-numeric limit"
    else:
        return base.merged(overlay, str(overlay_path))
    raise BadInputError(
        f"instance catalog {overlay_path}",
        f"is not a catalog CSV ({problem}; columns: {', '.join(CSV_FIELDS)})",
        hint,
    )
