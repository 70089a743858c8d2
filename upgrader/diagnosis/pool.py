"""ipamd's ``/v1/enis`` in every release's shape, read into one form.

- v1.3-v1.6: ``{"TotalIPs", "AssignedIPs", "ENIIPPools": {eni: {"IsPrimary",
  "DeviceNumber", "IPv4Addresses": {ip: {"Assigned", ["UnassignedTime"]}}}}}``;
- v1.7-v1.8: ``"ENIs"``, addresses ``{ip: {"IPAMKey", "Address", "UnassignedTime"}}``;
- v1.9-v1.19: ``"AvailableIPv4Cidrs": {cidr: {"IsPrefix", "IPv4Addresses"|"IPAddresses"}}``,
  listing only the addresses that are assigned or cooling down;
- v1.20+: the same per network card, ``{"0": {...}, "1": {...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"
PREFIX_ADDRESSES = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolEni:
    eni_id: str
    device_number: int
    primary: bool
    addresses: int  # addresses (or prefixes x 16) ipamd holds on it for pods
    assigned: int
    cooling: int | None  # freed and not yet reusable; None where the release cannot say


@dataclass(frozen=True, slots=True, kw_only=True)
class Pool:
    total: int
    assigned: int
    enis: tuple[PoolEni, ...]

    @property
    def cooling(self) -> int | None:
        counts = [e.cooling for e in self.enis]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    @property
    def free(self) -> int:
        """Addresses a new pod could get now (cooling ones excluded where known)."""
        return max(self.total - self.assigned - (self.cooling or 0), 0)


class PoolFormatError(ValueError):
    """``/v1/enis`` in no shape any release wrote."""


def _assigned(record: Mapping[str, Any]) -> bool:
    if "Assigned" in record:
        return bool(record["Assigned"])
    key = record.get("IPAMKey") or {}
    return bool(key.get("networkName") or key.get("containerID"))


def _freed(record: Mapping[str, Any]) -> bool:
    return str(record.get("UnassignedTime") or ZERO_TIME) != ZERO_TIME


def _eni(eni_id: str, raw: Mapping[str, Any]) -> PoolEni:
    addresses = assigned = 0
    cooling: int | None = 0
    if "AvailableIPv4Cidrs" in raw:
        for cidr in (raw["AvailableIPv4Cidrs"] or {}).values():
            addresses += PREFIX_ADDRESSES if cidr.get("IsPrefix") else 1
            listed = cidr.get("IPAddresses") or cidr.get("IPv4Addresses") or {}
            held = sum(1 for r in listed.values() if _assigned(r))
            assigned += held
            cooling = (cooling or 0) + len(listed) - held  # only cooling ones are listed free
    else:
        records = list((raw.get("IPv4Addresses") or {}).values())
        addresses, assigned = len(records), sum(1 for r in records if _assigned(r))
        timed = any("UnassignedTime" in r for r in records)
        cooling = sum(1 for r in records if not _assigned(r) and _freed(r)) if timed else None
    return PoolEni(
        eni_id=str(raw.get("ID") or eni_id),
        device_number=int(raw.get("DeviceNumber", 0)),
        primary=bool(raw.get("IsPrimary", False)),
        addresses=addresses,
        assigned=assigned,
        cooling=cooling,
    )


def _card(raw: Mapping[str, Any]) -> tuple[int, int, list[PoolEni]]:
    enis = raw.get("ENIs") if "ENIs" in raw else raw.get("ENIIPPools")
    if not isinstance(enis, Mapping) or "TotalIPs" not in raw:
        raise PoolFormatError("no TotalIPs with ENIs or ENIIPPools")
    return (
        int(raw["TotalIPs"]),
        int(raw.get("AssignedIPs", 0)),
        [_eni(k, v) for k, v in sorted(enis.items())],
    )


def parse_pool(text: str) -> Pool:
    """The pool of a ``/v1/enis`` answer of any release; PoolFormatError otherwise."""
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise PoolFormatError(f"not JSON ({err})") from None
    if not isinstance(raw, Mapping):
        raise PoolFormatError("not a JSON object")
    cards = (
        [raw[k] for k in sorted(raw, key=int)]
        if raw and all(str(k).isdigit() for k in raw)
        else [raw]
    )
    total = assigned = 0
    enis: list[PoolEni] = []
    try:
        for card in cards:
            t, a, e = _card(card)
            total, assigned = total + t, assigned + a
            enis += e
    except (TypeError, AttributeError, ValueError) as err:
        raise PoolFormatError(str(err)) from None
    return Pool(total=total, assigned=assigned, enis=tuple(enis))
