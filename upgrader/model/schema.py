"""The JSON Schema of the plan file, generated from its records.

``python -m upgrader.model.schema > docs/plan.schema.json`` writes the published copy; a
test fails when it is stale. CI systems and reviewers can validate plan files with it.
"""

from __future__ import annotations

import json
import typing

from upgrader.model.plan import SCHEMA, PlanRecord
from upgrader.model.records import JsonObject, JsonValue, record_schema, schema_of
from upgrader.model.steps import RECORDS, StepKind

SCHEMA_ID = f"https://upgrader.invalid/plan-v{SCHEMA}.schema.json"


def plan_schema() -> JsonObject:
    """The plan file as JSON Schema (draft 2020-12)."""
    defs: dict[str, JsonObject] = {}
    root = record_schema(PlanRecord, defs)
    steps: list[JsonValue] = []
    for cls in dict.fromkeys(RECORDS.values()):
        kinds = [str(k) for k, c in RECORDS.items() if c is cls]
        name = cls.__name__
        schema_of(cls, defs)
        body = dict(defs[name])
        props = dict(typing.cast(dict[str, JsonValue], body["properties"]))
        props["kind"] = {"type": "string", "enum": typing.cast(list[JsonValue], kinds)}
        listed = typing.cast(list[JsonValue], body["required"])
        body.update(properties=props, required=[*sorted({*map(str, listed), "kind"})])
        defs[name] = body
        steps.append({"$ref": f"#/$defs/{name}"})
    props = dict(typing.cast(dict[str, JsonValue], root["properties"]))
    props["schema"] = {"const": SCHEMA}
    props["steps"] = {"type": "array", "items": {"oneOf": steps}}
    props["blocked"] = {"type": "boolean"}
    props["digest"] = {
        "type": "string",
        "pattern": "^sha256:[0-9a-f]{64}$",
        "description": "SHA-256 of the file's canonical JSON without this key",
    }
    named = typing.cast(list[JsonValue], root["required"])
    required: list[JsonValue] = [*sorted({*map(str, named), "steps", "blocked", "digest"})]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "upgrader plan file",
        "description": (
            "The plan `upgrader plan --out` writes and `upgrader apply` runs (DESIGN §6). "
            f"Step kinds: {', '.join(str(k) for k in StepKind)}."
        ),
        "type": "object",
        "properties": typing.cast(JsonValue, props),
        "required": required,
        "additionalProperties": False,
        "$defs": typing.cast(JsonValue, dict(sorted(defs.items()))),
    }


def dumps() -> str:
    return json.dumps(plan_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(dumps(), end="")
