"""ipamd's in-memory datastore for one node: the ENIs it manages, their secondary IPs or /28
prefixes, which pod holds which address, and each freed address's cooldown.

It is ipamd's view, not EC2's: an ENI attached but never set up is not in it until the 60 s
reconcile finds it (v1.3.2:ipamd/ipamd.go nodeIPPoolReconcile). Stats follow upstream:
``available = total - assigned`` counts cooling addresses as available (R§2.1).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

NEVER = float("-inf")


@dataclass(slots=True)
class EniEntry:
    """One ENI in the datastore; ``created`` is when ipamd added it (minLifeTime counts from it)."""

    eni_id: str
    device_index: int
    primary: bool
    subnet_id: str
    created: float
    ips: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    last_unassigned: float = NEVER


def prefix_addresses(prefix: str) -> list[str]:
    return [str(ip) for ip in ipaddress.ip_network(prefix)]


@dataclass(slots=True)
class Datastore:
    """Addresses of one node; ``pd`` picks prefixes (else secondary IPs) for pods."""

    pd: bool = False
    cooldown: float = 30.0
    enis: dict[str, EniEntry] = field(default_factory=dict)
    assigned: dict[str, str] = field(default_factory=dict)  # pod uid -> IP
    freed: dict[str, float] = field(default_factory=dict)  # IP -> virtual time it was freed
    assigned_at: dict[str, float] = field(default_factory=dict)  # IP -> when a pod got it

    def ordered(self) -> list[EniEntry]:
        return sorted(self.enis.values(), key=lambda e: e.device_index)

    def addresses(self, eni: EniEntry) -> list[str]:
        """The pod addresses ``eni`` contributes in this mode."""
        if self.pd:
            return [a for p in eni.prefixes for a in prefix_addresses(p)]
        return list(eni.ips)

    def units(self, eni: EniEntry) -> int:
        """Slots used on ``eni``: secondary IPs or prefixes."""
        return len(eni.prefixes) if self.pd else len(eni.ips)

    @property
    def total(self) -> int:
        return sum(len(self.addresses(e)) for e in self.enis.values())

    @property
    def assigned_count(self) -> int:
        return len(self.assigned)

    @property
    def available(self) -> int:
        return self.total - self.assigned_count

    @property
    def total_prefixes(self) -> int:
        return sum(len(e.prefixes) for e in self.enis.values())

    def in_cooldown(self, ip: str, now: float) -> bool:
        return now - self.freed.get(ip, NEVER) < self.cooldown

    def assigned_on(self, eni: EniEntry) -> int:
        held = set(self.assigned.values())
        return sum(1 for a in self.addresses(eni) if a in held)

    def free_prefixes(self, skip: str = "") -> list[tuple[EniEntry, str]]:
        """Prefixes none of whose addresses a pod holds (GetFreePrefixes)."""
        held = set(self.assigned.values())
        return [
            (e, p)
            for e in self.ordered()
            if e.eni_id != skip
            for p in e.prefixes
            if not held.intersection(prefix_addresses(p))
        ]

    def cooling_on(self, eni: EniEntry, now: float) -> bool:
        return any(self.in_cooldown(a, now) for a in self.addresses(eni))

    def assign(self, uid: str, now: float) -> str | None:
        """An address out of cooldown for pod ``uid`` (AssignPodIPv4Address), or None."""
        if uid in self.assigned:
            return self.assigned[uid]
        held = set(self.assigned.values())
        for eni in self.ordered():
            for ip in self.addresses(eni):
                if ip in held or self.in_cooldown(ip, now):
                    continue
                self.assigned[uid] = ip
                self.assigned_at[ip] = now
                self.freed.pop(ip, None)
                return ip
        return None

    def unassign(self, uid: str, now: float) -> None:
        """The pod is gone: its address cools down (UnassignPodIPv4Address)."""
        ip = self.assigned.pop(uid, None)
        if ip is None:
            return
        self.freed[ip] = now
        self.assigned_at.pop(ip, None)
        for eni in self.enis.values():
            if ip in self.addresses(eni):
                eni.last_unassigned = now

    def forget(self, ips: list[str]) -> None:
        for ip in ips:
            self.freed.pop(ip, None)
