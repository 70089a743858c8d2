"""The plan file (DESIGN §6, contract keys) as frozen records, to and from JSON.

Beyond the contract keys a plan carries ``context`` (what the runbook shows
without rediscovering anything) and, per step, ``params`` (what apply needs).
Shapes, all plain JSON:

context = {
  "stacks": {"control_plane": str, "nodegroups": [str]},
  "gates": {"subnet_reserve_ips": int, ...},               # thresholds used
  "cni": {"version": "v1.3.2", "env": {str: str}, "mode": "WARM_ENI|WARM_IP|PREFIX",
          "notes": [str]},
  "subnets": [{"subnet_id", "name", "az", "cidr", "free": int, "control_plane": bool}],
  "nodegroups": [{"name", "stack", "kind": "self-managed|managed", "asg": str|None,
                  "instance_type", "memory_mib", "vcpus", "max_enis", "ipv4_per_eni",
                  "max_ips", "max_pods", "nodes": int, "pods": int,
                  "subnet_ids": [str], "image_from": str, "image_to": str}],
}
step.params / step.predicted by kind:
  control-plane   params {"stack", "parameter", "from", "to", "change_set": {...}|None}
                  predicted {"minutes": [24, 60]}
  kube-proxy, coredns, cni
                  params {"namespace", "name", "resource", "from", "to", "manifest": {...}}
                  predicted {"nodes": int}            (cni: one step per CNI minor)
  nodegroup-stack params {"stack", "nodegroup", "parameters": {str: str}, "change_set": ...,
                          "update_policy": str,
                          "template": {"body": str, "diff": str, "reason": str}}
                  ("template" only when the change set carries a new template: a group
                  migrated from a launch configuration; "update_policy" is then the new one's)
  nodegroup-roll  params {"nodegroup", "stack", "asg", "kind", "instance_type",
                          "waves": [[instance_id]], "surge": int}
                  predicted {"waves": int, "lower_bound": int, "subnets": [{"subnet_id",
                          "name", "az", "free_before", "peak_demand", "released",
                          "free_after", "min_free", "reserve"}]}
  verify          params {}
change_set = {"name", "id", "stack", "changes": [{"action", "logical_id", "type",
              "replacement"}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from upgrader.errors import BadInputError

SCHEMA = 1
Json = dict[str, Any]


class Severity(StrEnum):
    BLOCKING = "blocking"
    ADVISORY = "advisory"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A gate's result about one object; ``message`` names the problem and the fix."""

    id: str
    severity: Severity
    subject: str
    message: str

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "severity": str(self.severity),
            "subject": self.subject,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Versions:
    kubernetes: str
    cni: str
    kube_proxy: str
    coredns: str

    def to_json(self) -> Json:
        return {
            "kubernetes": self.kubernetes,
            "cni": self.cni,
            "kube_proxy": self.kube_proxy,
            "coredns": self.coredns,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One thing apply does; ``params`` carries what the executor needs (JSON values)."""

    id: str
    kind: str  # control-plane, kube-proxy, coredns, cni, nodegroup-stack, nodegroup-roll, verify
    description: str
    gates: tuple[str, ...]
    predicted: Json = field(default_factory=dict)
    params: Json = field(default_factory=dict)

    def to_json(self) -> Json:
        return {
            "id": self.id,
            "kind": self.kind,
            "description": self.description,
            "gates": list(self.gates),
            "predicted": self.predicted,
            "params": self.params,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    cluster: str
    region: str
    from_: Versions
    to: Versions
    fingerprint: str
    findings: tuple[Finding, ...]
    steps: tuple[Step, ...]
    context: Json = field(default_factory=dict)
    schema: int = SCHEMA

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.BLOCKING for f in self.findings)

    def to_json(self) -> Json:
        return {
            "schema": self.schema,
            "cluster": self.cluster,
            "region": self.region,
            "from": self.from_.to_json(),
            "to": self.to.to_json(),
            "fingerprint": self.fingerprint,
            "findings": [f.to_json() for f in self.findings],
            "steps": [s.to_json() for s in self.steps],
            "blocked": self.blocked,
            "context": self.context,
        }

    def dumps(self) -> str:
        """Deterministic JSON text (sorted keys, no timestamps)."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"


def _versions(raw: Any, where: str) -> Versions:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} is not an object")
    return Versions(**{k: str(raw[k]) for k in ("kubernetes", "cni", "kube_proxy", "coredns")})


def loads(text: str, source: str = "plan") -> Plan:
    """Parse a plan file; any problem is a bad-input error naming the file."""
    try:
        raw = json.loads(text)
        if raw.get("schema") != SCHEMA:
            raise ValueError(f"schema {raw.get('schema')!r} is not {SCHEMA}")
        return Plan(
            cluster=str(raw["cluster"]),
            region=str(raw["region"]),
            from_=_versions(raw["from"], "from"),
            to=_versions(raw["to"], "to"),
            fingerprint=str(raw["fingerprint"]),
            findings=tuple(
                Finding(
                    id=f["id"],
                    severity=Severity(f["severity"]),
                    subject=f["subject"],
                    message=f["message"],
                )
                for f in raw["findings"]
            ),
            steps=tuple(
                Step(
                    id=s["id"],
                    kind=s["kind"],
                    description=s["description"],
                    gates=tuple(s["gates"]),
                    predicted=dict(s.get("predicted", {})),
                    params=dict(s.get("params", {})),
                )
                for s in raw["steps"]
            ),
            context=dict(raw.get("context", {})),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise BadInputError(
            source,
            f"is not a plan file upgrader can use ({type(err).__name__}: {err})",
            "run `upgrader plan -c CONFIG --out PLAN.json` again and pass that file",
        ) from None
