"""The plan file (DESIGN §6, contract keys) as frozen records, to and from JSON.

Beyond the contract keys a plan carries ``context`` (:class:`PlanContext`: what the runbook
shows without rediscovering anything) and, per step, ``params`` (what apply needs); every
step kind is its own record (:mod:`upgrader.model.steps`). ``docs/plan.schema.json`` is
the JSON Schema of these records (``python -m upgrader.model.schema`` writes it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from upgrader.errors import BadInputError
from upgrader.model.context import PlanContext
from upgrader.model.records import JsonObject, RecordError, from_json, to_json
from upgrader.model.steps import Step, step_from_json, step_to_json

SCHEMA = 1


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

    def to_json(self) -> JsonObject:
        return to_json(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Versions:
    kubernetes: str
    cni: str
    kube_proxy: str
    coredns: str

    def to_json(self) -> JsonObject:
        return to_json(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRecord:
    """The plan file's keys but ``steps`` and ``blocked`` (its JSON Schema's root)."""

    schema: int
    cluster: str
    region: str
    from_: Versions = field(metadata={"key": "from"})
    to: Versions
    fingerprint: str
    findings: tuple[Finding, ...]
    context: PlanContext


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    cluster: str
    region: str
    from_: Versions
    to: Versions
    fingerprint: str
    findings: tuple[Finding, ...]
    steps: tuple[Step, ...]
    context: PlanContext
    schema: int = SCHEMA

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.BLOCKING for f in self.findings)

    def to_json(self) -> JsonObject:
        head = PlanRecord(
            schema=self.schema,
            cluster=self.cluster,
            region=self.region,
            from_=self.from_,
            to=self.to,
            fingerprint=self.fingerprint,
            findings=self.findings,
            context=self.context,
        )
        return {
            **to_json(head),
            "steps": [step_to_json(s) for s in self.steps],
            "blocked": self.blocked,
        }

    def dumps(self) -> str:
        """Deterministic JSON text (sorted keys, no timestamps)."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"


def from_plan_json(raw: object) -> Plan:
    """A plan from its JSON document; :class:`RecordError` naming the first problem."""
    if not isinstance(raw, Mapping):
        raise RecordError("plan", "is not a JSON object")
    schema = raw.get("schema")
    if schema != SCHEMA:
        newer = isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA
        why = "written by a newer upgrader" if newer else "not a schema this upgrader reads"
        raise RecordError("plan.schema", f"{schema!r} is {why} (this one reads {SCHEMA})")
    if not isinstance(raw.get("blocked"), bool):
        raise RecordError("plan.blocked", "is missing or not a boolean")
    steps = raw.get("steps")
    if not isinstance(steps, list):
        raise RecordError("plan.steps", "is missing or not an array")
    head = from_json(
        PlanRecord, {k: v for k, v in raw.items() if k not in ("steps", "blocked")}, "plan"
    )
    return Plan(
        cluster=head.cluster,
        region=head.region,
        from_=head.from_,
        to=head.to,
        fingerprint=head.fingerprint,
        findings=head.findings,
        steps=tuple(step_from_json(s, f"plan.steps[{i}]") for i, s in enumerate(steps)),
        context=head.context,
        schema=head.schema,
    )


def loads(text: str, source: str = "plan") -> Plan:
    """Parse a plan file; any problem is a bad-input error naming the file and the key."""
    fix = "run `upgrader plan -c CONFIG --out PLAN.json` again and pass that file"
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise BadInputError(source, f"is not JSON ({err})", fix) from None
    try:
        return from_plan_json(raw)
    except RecordError as err:
        raise BadInputError(source, f"is not a plan file upgrader can use: {err}", fix) from None
    except RecursionError:
        raise BadInputError(source, "is nested too deeply to be a plan file", fix) from None
