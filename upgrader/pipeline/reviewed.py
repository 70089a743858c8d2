"""The plan that runs is the plan that was reviewed: apply's checks before the lock.

``loads`` already refuses a file whose content no longer matches its digest. Here:
the digest a reviewer approved (``--expect-digest``), add-on images only from the EKS
registry of the plan's region, change sets that are the ones ``plan`` names from their
content, and steps equal to what the planner derives again from the same inputs and the
live state, so no hand-made step, image, wave or template survives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from upgrader.adapters import jsonnet
from upgrader.adapters.change_sets import change_set_name
from upgrader.errors import BadInputError
from upgrader.model.plan import Plan
from upgrader.model.steps import (
    ControlPlaneStep,
    ManagedAddonStackStep,
    ManifestStep,
    NodegroupStackStep,
    Step,
    change_set_inputs,
    step_to_json,
)

_REPLAN = "run `upgrader plan` again, review the new plan and apply that file unchanged"


def check_expected_digest(plan: Plan, source: str, expected: str | None) -> None:
    """The plan is the one approved: its digest is ``expected`` (when given)."""
    if expected is not None and expected.strip() != plan.digest:
        raise BadInputError(
            source,
            f"has digest {plan.digest}, but the approved plan's is {expected.strip()}",
            "apply the plan file that was reviewed, or get this one reviewed and pass its "
            "digest to --expect-digest",
        )


def _images(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                yield item
            else:
                yield from _images(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _images(item)


def check_images(plan: Plan, source: str) -> None:
    """Every image of an add-on step comes from the EKS registry of the plan's region."""
    registry = jsonnet.registry(plan.region)
    for step in plan.steps:
        if not isinstance(step, ManifestStep):
            continue
        for image in _images(step.manifest or ()):
            if not image.startswith(registry + "/"):
                raise BadInputError(
                    source,
                    f"step {step.id} runs image {image}, which is not from {registry} "
                    f"(the EKS registry of {plan.region})",
                    _REPLAN,
                )


def check_change_sets(plan: Plan, source: str) -> None:
    """Each stack step's change set is the one ``plan`` names from the step's content."""
    for step in plan.steps:
        if not isinstance(step, ControlPlaneStep | NodegroupStackStep | ManagedAddonStackStep):
            continue
        change_set = step.change_set
        if change_set is None:
            continue
        parameters, template = change_set_inputs(step)
        expected = change_set_name(step.stack, parameters, template)
        if change_set.stack != step.stack or change_set.name != expected:
            raise BadInputError(
                source,
                f"step {step.id} names change set {change_set.name} on stack "
                f"{change_set.stack}; its content makes {expected} on stack {step.stack}",
                _REPLAN,
            )


def _comparable(step: Step) -> dict[str, Any]:
    doc = step_to_json(step)
    params = doc.get("params")
    if isinstance(params, dict):  # change sets are checked on their own (their IDs vary)
        params.pop("change_set", None)
    return doc


def _first_difference(a: Any, b: Any, path: str) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    shown = [json.dumps(v, sort_keys=True)[:80] for v in (a, b)]
    return f"{path} is {shown[0]} in the file, {shown[1]} when planned again"


def check_rederived(plan: Plan, derived: Plan, source: str) -> None:
    """``plan``'s targets and steps equal ``derived``'s: the plan the planner makes again
    from the plan's own inputs on the live state it was made from."""
    ours, again = (
        {
            "from": p.from_.to_json(),
            "to": p.to.to_json(),
            "steps": [_comparable(s) for s in p.steps],
        }
        for p in (plan, derived)
    )
    if ours != again:
        if len(plan.steps) != len(derived.steps):
            ids = [s.id for s in plan.steps], [s.id for s in derived.steps]
            why = f"it has steps {ids[0]}, the planner makes {ids[1]}"
        else:
            why = _first_difference(ours, again, "plan")
        raise BadInputError(
            source,
            f"is not the plan upgrader makes from its inputs and the cluster: {why}",
            _REPLAN,
        )
