"""The plan file (DESIGN §6, contract keys) as frozen records, to and from JSON.

Beyond the contract keys a plan carries ``context`` (:class:`PlanContext`: what the runbook
shows without rediscovering anything) and, per step, ``params`` (what apply needs); every
step kind is its own record (:mod:`upgrader.model.steps`). ``docs/plan.schema.json`` is
the JSON Schema of these records (``python -m upgrader.model.schema`` writes it).

``digest`` is the SHA-256 of the rest of the file in canonical JSON: the plan prints it,
the runbook shows it, and apply refuses a file whose content no longer matches it (and,
with ``--expect-digest``, one that is not the plan a reviewer approved).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from upgrader.errors import BadInputError
from upgrader.model.context import PlanContext
from upgrader.model.records import JsonObject, RecordError, from_json, to_json
from upgrader.model.steps import Step, step_from_json, step_to_json

SCHEMA = 2  # 2: the digest
DIGEST_PREFIX = "sha256:"


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
class Hop:
    """One control-plane minor of a plan that moves several: what runs once it is done,
    the node-group stacks it rolls (managed groups every hop, self-managed ones only when
    the kubelet skew demands it) and the IDs of its steps, in order."""

    kubernetes: str
    to: Versions
    nodegroup_stacks: tuple[str, ...]
    steps: tuple[str, ...]


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
    hops: tuple[Hop, ...] = ()  # empty for a plan of one minor


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
    hops: tuple[Hop, ...] = ()  # empty for a plan of one minor
    schema: int = SCHEMA
    # the digest a loaded file recorded (its content was checked against it); a file written
    # before a later context field existed keeps its own digest, not one of the defaults
    recorded_digest: str | None = field(default=None, compare=False, repr=False)

    def hop_of(self, step_id: str) -> Hop | None:
        """The hop ``step_id`` belongs to (None in a plan of one minor, and for verify)."""
        return next((h for h in self.hops if step_id in h.steps), None)

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.BLOCKING for f in self.findings)

    def _body(self) -> JsonObject:
        head = PlanRecord(
            schema=self.schema,
            cluster=self.cluster,
            region=self.region,
            from_=self.from_,
            to=self.to,
            fingerprint=self.fingerprint,
            findings=self.findings,
            context=self.context,
            hops=self.hops,
        )
        return {
            **to_json(head),
            "steps": [step_to_json(s) for s in self.steps],
            "blocked": self.blocked,
        }

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the plan's canonical JSON (every key but ``digest``), as its
        file recorded it when the plan was loaded from one."""
        return self.recorded_digest or content_digest(self._body())

    def to_json(self) -> JsonObject:
        body = self._body()
        return {**body, "digest": content_digest(body)}

    def dumps(self) -> str:
        """Deterministic JSON text (sorted keys, no timestamps)."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"


def content_digest(body: Mapping[str, object]) -> str:
    """The digest of a plan document without its ``digest`` key."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DIGEST_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def from_plan_json(raw: object) -> Plan:
    """A plan from its JSON document; :class:`RecordError` naming the first problem."""
    if not isinstance(raw, Mapping):
        raise RecordError("plan", "is not a JSON object")
    schema = raw.get("schema")
    if schema != SCHEMA:
        newer = isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA
        older = isinstance(schema, int) and not isinstance(schema, bool) and 0 < schema < SCHEMA
        why = (
            "written by a newer upgrader"
            if newer
            else "written by an older upgrader, before plans carried a digest"
            if older
            else "not a schema this upgrader reads"
        )
        raise RecordError("plan.schema", f"{schema!r} is {why} (this one reads {SCHEMA})")
    digest = raw.get("digest")
    if not isinstance(digest, str) or not digest.startswith(DIGEST_PREFIX):
        raise RecordError("plan.digest", "is missing or not a sha256: digest")
    actual = content_digest({k: v for k, v in raw.items() if k != "digest"})
    if not isinstance(raw.get("blocked"), bool):
        raise RecordError("plan.blocked", "is missing or not a boolean")
    steps = raw.get("steps")
    if not isinstance(steps, list):
        raise RecordError("plan.steps", "is missing or not an array")
    head = from_json(
        PlanRecord,
        {k: v for k, v in raw.items() if k not in ("steps", "blocked", "digest")},
        "plan",
    )
    plan = Plan(
        cluster=head.cluster,
        region=head.region,
        from_=head.from_,
        to=head.to,
        fingerprint=head.fingerprint,
        findings=head.findings,
        steps=tuple(step_from_json(s, f"plan.steps[{i}]") for i, s in enumerate(steps)),
        context=head.context,
        hops=head.hops,
        schema=head.schema,
        recorded_digest=digest,
    )
    if plan.blocked != raw["blocked"]:
        raise RecordError("plan.blocked", "disagrees with the plan's findings")
    if actual != digest:
        raise TamperedPlanError(digest, actual)
    return plan


class TamperedPlanError(RecordError):
    """The plan's content does not match its digest: it was edited after ``plan``."""

    def __init__(self, recorded: str, actual: str) -> None:
        super().__init__(
            "plan.digest",
            f"the content hashes to {actual[:19]}…, not the recorded {recorded[:19]}…: "
            "the file was edited after `upgrader plan` wrote it",
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
    except TamperedPlanError as err:
        raise BadInputError(
            source,
            f"does not match its digest: {err.problem}",
            "apply only runs a plan exactly as `upgrader plan` wrote it; plan again, "
            "review that file and apply it unchanged",
        ) from None
    except RecordError as err:
        raise BadInputError(source, f"is not a plan file upgrader can use: {err}", fix) from None
    except RecursionError:
        raise BadInputError(source, "is nested too deeply to be a plan file", fix) from None
