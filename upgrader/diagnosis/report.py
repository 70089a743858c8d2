"""What ``upgrader diagnose`` found: per-node and per-subnet facts, and findings with
stable codes, the objects they name, the evidence and the remedy commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from upgrader.diagnosis.pool import Pool


class Severity(StrEnum):
    PROBLEM = "problem"  # exit 3
    NOTE = "note"  # worth knowing; does not make the cluster unhealthy


# code -> title (stable: scripts and tickets refer to them)
CODES: dict[str, str] = {
    "IPAMD001": "subnet out of addresses for a node's next ENI, IP or prefix",
    "IPAMD002": "node at its ENI/IP limit (max pods)",
    "IPAMD003": "instance type unknown to the running ipamd",
    "IPAMD004": "ipamd stuck with free addresses while pods wait (#59)",
    "IPAMD005": "leaked ENIs holding subnet addresses (#69)",
    "IPAMD006": "addresses held in the 30 s cooldown",
    "IPAMD007": "warm-pool setting that the subnet cannot meet",
    "IPAMD008": "aws-node not Ready, or not at the planned version",
    "IPAMD009": "pods waiting for an IP address",
    "IPAMD010": "ipamd could not be asked",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Objects:
    subnets: tuple[str, ...] = ()  # "subnet-… (Name)"
    nodes: tuple[str, ...] = ()
    pods: tuple[str, ...] = ()  # namespace/name
    enis: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    code: str
    severity: Severity
    subject: str
    message: str
    objects: Objects = field(default_factory=Objects)
    evidence: tuple[str, ...] = ()
    remedy: tuple[str, ...] = ()  # commands or steps, in order

    @property
    def title(self) -> str:
        return CODES[self.code]

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "severity": str(self.severity),
            "subject": self.subject,
            "message": self.message,
            "objects": {
                "subnets": list(self.objects.subnets),
                "nodes": list(self.objects.nodes),
                "pods": list(self.objects.pods),
                "enis": list(self.objects.enis),
            },
            "evidence": list(self.evidence),
            "remedy": list(self.remedy),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeReport:
    name: str
    instance_id: str
    instance_type: str
    subnet: str
    az: str
    max_pods: int | None
    pod_ip_capacity: int | None
    pods_needing_ip: int
    pods_waiting: tuple[str, ...]
    ec2_enis: tuple[tuple[str, int], ...]  # (eni id, addresses) as EC2 reports them
    ipv4_per_eni: int | None
    pool: Pool | None
    ipamd_sources: tuple[str, ...]
    ipamd_problems: tuple[str, ...]
    metrics: tuple[tuple[str, float], ...]
    manual_commands: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        pool = self.pool
        return {
            "name": self.name,
            "instance_id": self.instance_id,
            "instance_type": self.instance_type,
            "subnet": self.subnet,
            "az": self.az,
            "max_pods": self.max_pods,
            "pod_ip_capacity": self.pod_ip_capacity,
            "pods_needing_ip": self.pods_needing_ip,
            "pods_waiting": list(self.pods_waiting),
            "ec2_enis": [{"eni": e, "addresses": n} for e, n in self.ec2_enis],
            "ipv4_per_eni": self.ipv4_per_eni,
            "ipamd": {
                "total": pool.total if pool else None,
                "assigned": pool.assigned if pool else None,
                "free": pool.free if pool else None,
                "cooling": pool.cooling if pool else None,
                "enis": [
                    {
                        "eni": e.eni_id,
                        "device_number": e.device_number,
                        "primary": e.primary,
                        "addresses": e.addresses,
                        "assigned": e.assigned,
                    }
                    for e in (pool.enis if pool else ())
                ],
                "metrics": dict(self.metrics),
                "sources": list(self.ipamd_sources),
                "problems": list(self.ipamd_problems),
            },
            "manual_commands": list(self.manual_commands),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SubnetReport:
    subnet_id: str
    name: str
    az: str
    free: int
    next_need: int  # addresses the largest next allocation of a node in it takes

    def to_json(self) -> dict[str, Any]:
        return {
            "subnet_id": self.subnet_id,
            "name": self.name,
            "az": self.az,
            "free": self.free,
            "next_need": self.next_need,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    cluster: str
    region: str
    cni: str
    env: tuple[tuple[str, str], ...]
    nodes: tuple[NodeReport, ...]
    subnets: tuple[SubnetReport, ...]
    findings: tuple[Finding, ...]
    deleted_enis: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return not any(f.severity is Severity.PROBLEM for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "region": self.region,
            "cni": self.cni,
            "env": dict(self.env),
            "healthy": self.healthy,
            "findings": [f.to_json() for f in self.findings],
            "nodes": [n.to_json() for n in self.nodes],
            "subnets": [s.to_json() for s in self.subnets],
            "deleted_enis": list(self.deleted_enis),
        }
