"""CloudFormation change sets that ``plan`` creates for review and never executes.

A change set keeps the stack's template (``UsePreviousTemplate``), or carries the
plan's new one (``TemplateBody``: a node-group stack migrated from a launch
configuration or to AL2023), and every parameter's previous value except the ones the
plan changes or the new template adds. Its name, ``upgrader-<hash>``, derives from the
stack, the parameters and the new template, so planning the same change twice yields the
same name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import yaml

from upgrader.adapters.aws import Aws, aws_errors
from upgrader.adapters.cloudformation import list_change_sets, missing_stack_hint
from upgrader.adapters.errors import CloudError
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import load_template
from upgrader.model.steps import ChangeSet, ResourceChange
from upgrader.polling import Backoff, poll

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import ParameterTypeDef

PREFIX = "upgrader-"
NO_CHANGES = "NO_CHANGES"
CREATE_TIMEOUT_SECONDS = 300.0
_NO_CHANGE_REASONS = ("didn't contain changes", "No updates are to be performed")
_PENDING = frozenset({"CREATE_PENDING", "CREATE_IN_PROGRESS"})


def change_set_name(stack: str, parameters: dict[str, str], template: str | None = None) -> str:
    """``upgrader-`` + a short hash of the stack name, the requested parameters and the
    new template (if any)."""
    parts: list[Any] = [stack, sorted(parameters.items())]
    if template is not None:
        parts.append(hashlib.sha256(template.encode()).hexdigest())
    text = json.dumps(parts, separators=(",", ":"))
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()[:12]


def is_upgrader_change_set(name: str) -> bool:
    suffix = name.removeprefix(PREFIX)
    return (
        name.startswith(PREFIX)
        and len(suffix) == 12
        and all(c in "0123456789abcdef" for c in suffix)
    )


def _declared(template: str) -> set[str]:
    """The parameters a new template declares (none when it cannot be read)."""
    try:
        loaded = load_template(template)
    except yaml.YAMLError:
        return set()
    declared = loaded.get("Parameters") if isinstance(loaded, dict) else None
    return set(declared) if isinstance(declared, dict) else set()


def region_of(stack: Stack) -> str:
    """The region in a stack ARN (``arn:aws:cloudformation:<region>:...``)."""
    parts = stack.stack_id.split(":")
    if len(parts) < 4 or not parts[3]:
        raise BadInputError(
            f"CloudFormation stack {stack.name}",
            f"has no region in its ID {stack.stack_id!r}",
            "pass a stack as discovery returns it",
        )
    return parts[3]


def create(
    stack: Stack,
    parameters: dict[str, str],
    *,
    description: str,
    template: str | None = None,
    aws: Aws | None = None,
) -> ChangeSet:
    """Create (never execute) an UPDATE change set setting ``parameters`` on ``stack``,
    with ``template`` as its new template when given (else the stack's own).

    Its ``status`` is ``CREATE_COMPLETE``, or ``NO_CHANGES`` when CloudFormation found
    nothing to change (then it has no changes and no change set is left behind).
    """
    known = {key for key, _ in stack.parameters}
    added = sorted((set(parameters) - known) & _declared(template)) if template else []
    unknown = sorted(set(parameters) - known - set(added))
    if unknown:
        raise BadInputError(
            f"CloudFormation stack {stack.name}",
            f"has no parameter {', '.join(unknown)} (it has: {', '.join(sorted(known))})",
            "update the stack's template to take the parameter, or fix the stack name",
        )
    aws = aws or Aws.connect(region_of(stack))
    cfn = aws.cfn
    name = change_set_name(stack.name, parameters, template)
    subject = f"change set {name} on stack {stack.name}"
    _delete_named(cfn, stack.name, name)  # a previous plan's copy of the very same change
    request: list[ParameterTypeDef] = [
        {"ParameterKey": key, "ParameterValue": parameters[key]}
        if key in parameters
        else {"ParameterKey": key, "UsePreviousValue": True}
        for key, _ in stack.parameters
    ]
    request += [{"ParameterKey": key, "ParameterValue": parameters[key]} for key in added]
    result = ChangeSet(name=name, id="", stack=stack.name, status=NO_CHANGES, changes=())
    try:
        with aws_errors(
            subject, "CreateChangeSet", not_found_hint=missing_stack_hint(stack.name, aws.region)
        ):
            source: dict[str, Any] = (
                {"TemplateBody": template}
                if template is not None
                else {"UsePreviousTemplate": True}
            )
            created = cfn.create_change_set(
                StackName=stack.name,
                ChangeSetName=name,
                ChangeSetType="UPDATE",
                Parameters=request,
                **source,
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                Description=description[:1024],
            )
    except CloudError as err:
        if any(reason in err.message for reason in _NO_CHANGE_REASONS):
            return result
        raise
    change_set_id = created["Id"]
    described = _wait(cfn, subject, change_set_id)
    if described["Status"] == "FAILED":
        reason = str(described.get("StatusReason", ""))
        if any(r in reason for r in _NO_CHANGE_REASONS):
            with aws_errors(subject, "DeleteChangeSet"):
                cfn.delete_change_set(ChangeSetName=change_set_id)
            return result
        raise CloudError(
            subject,
            f"CloudFormation could not create it: {reason}",
            "fix the parameter values or the stack, then plan again",
        )
    changes = tuple(
        ResourceChange(
            action=change.get("Action", ""),
            logical_id=change.get("LogicalResourceId", ""),
            type=change.get("ResourceType", ""),
            replacement=change.get("Replacement"),
        )
        for page in described["pages"]
        for item in page
        for change in [item.get("ResourceChange", {})]
    )
    return replace(result, id=change_set_id, status="CREATE_COMPLETE", changes=changes)


def _wait(cfn: CloudFormationClient, subject: str, change_set_id: str) -> dict[str, Any]:
    """Poll until the change set leaves CREATE_PENDING/IN_PROGRESS; collect every page."""
    last: dict[str, Any] = {}

    def settled() -> dict[str, Any] | None:
        with aws_errors(subject, "DescribeChangeSet"):
            found = cfn.describe_change_set(ChangeSetName=change_set_id)
        last.update(found)
        return None if found["Status"] in _PENDING else dict(found)

    page = poll(settled, timeout=CREATE_TIMEOUT_SECONDS, backoff=Backoff(0.05, 2.0, 5.0))
    if page is None:
        raise CloudError(
            subject,
            f"still {last.get('Status')} after {CREATE_TIMEOUT_SECONDS:.0f} s",
            "look at the change set in the CloudFormation console, then plan again",
        )
    pages = [page.get("Changes", [])]
    token = page.get("NextToken")
    while token:
        with aws_errors(subject, "DescribeChangeSet"):
            more = cfn.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
        pages.append(more.get("Changes", []))
        token = more.get("NextToken")
    return {"Status": page["Status"], "StatusReason": page.get("StatusReason", ""), "pages": pages}


def _delete_named(cfn: CloudFormationClient, stack: str, name: str) -> None:
    for change_set in list_change_sets(cfn, stack):
        if change_set.name == name:
            with aws_errors(f"change set {name} on stack {stack}", "DeleteChangeSet"):
                cfn.delete_change_set(ChangeSetName=change_set.change_set_id)


def delete_previous(stack: Stack, *, aws: Aws | None = None) -> tuple[str, ...]:
    """Delete the ``upgrader-*`` change sets earlier plans left on ``stack``; others stay.

    Returns the names deleted.
    """
    aws = aws or Aws.connect(region_of(stack))
    deleted = []
    for change_set in list_change_sets(aws.cfn, stack.name):
        if not is_upgrader_change_set(change_set.name):
            continue
        with aws_errors(f"change set {change_set.name} on stack {stack.name}", "DeleteChangeSet"):
            aws.cfn.delete_change_set(ChangeSetName=change_set.change_set_id)
        deleted.append(change_set.name)
    return tuple(deleted)
