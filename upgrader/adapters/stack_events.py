"""CloudFormation stack events of the current (or last) operation, failures first.

Events come newest first; the operation began at the newest stack-level
``UPDATE_IN_PROGRESS`` / ``CREATE_IN_PROGRESS`` event, so reading stops there and
works the same after a restart of upgrader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from upgrader.adapters.aws import aws_errors
from upgrader.adapters.errors import scrub

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import StackEventTypeDef

STACK_TYPE = "AWS::CloudFormation::Stack"
BEGIN_STATUSES = frozenset({"UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS"})
# Follow-on failures CloudFormation reports after the one that caused the rollback.
_FOLLOW_ON = ("Resource update cancelled", "Resource creation cancelled")


def latest_event_id(cfn: CloudFormationClient, stack: str) -> str | None:
    """The ID of the stack's newest event (before an operation starts), or None."""
    with aws_errors(f"CloudFormation stack {stack}", "DescribeStackEvents"):
        events = cfn.describe_stack_events(StackName=stack).get("StackEvents", [])
    return events[0].get("EventId") if events else None


def _is_begin(event: StackEventTypeDef, stack: str) -> bool:
    return (
        event.get("ResourceType") == STACK_TYPE
        and event.get("LogicalResourceId") == stack
        and event.get("ResourceStatus") in BEGIN_STATUSES
    )


def operation_events(
    cfn: CloudFormationClient, stack: str, *, after: str | None = None
) -> tuple[list[StackEventTypeDef], bool]:
    """Events of the stack's newest operation, oldest first, and whether it began after
    the event ``after`` (always True without ``after``)."""
    found: list[StackEventTypeDef] = []
    with aws_errors(f"CloudFormation stack {stack}", "DescribeStackEvents"):
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack):
            for event in page.get("StackEvents", []):
                if after is not None and event.get("EventId") == after:
                    return list(reversed(found)), False  # nothing began since ``after``
                found.append(event)
                if _is_begin(event, stack):
                    return list(reversed(found)), True
    return list(reversed(found)), after is None


def _row(event: StackEventTypeDef) -> dict[str, Any]:
    when = event.get("Timestamp")
    return {
        "resource": event.get("LogicalResourceId", ""),
        "type": event.get("ResourceType", ""),
        "status": event.get("ResourceStatus", ""),
        "reason": scrub(str(event.get("ResourceStatusReason", ""))),
        "time": when.isoformat() if when is not None else "",
    }


def failures_first(events: list[StackEventTypeDef], stack: str) -> list[dict[str, Any]]:
    """Event rows: the resources that failed (the cause first, follow-on cancellations
    after), then the stack's own failure, then every other event, oldest first."""

    def rank(event: StackEventTypeDef) -> int:
        status = str(event.get("ResourceStatus", ""))
        reason = str(event.get("ResourceStatusReason", ""))
        own = event.get("LogicalResourceId") == stack and event.get("ResourceType") == STACK_TYPE
        if status.endswith("_FAILED") and not own:
            return 1 if any(text in reason for text in _FOLLOW_ON) else 0
        if status.endswith("_FAILED"):
            return 2
        return 3

    indexed = sorted(enumerate(events), key=lambda pair: (rank(pair[1]), pair[0]))
    return [_row(event) for _, event in indexed]
