"""CloudFormation stack events as AWS records them (moto records stack-level events only,
stamped with the wall clock).

Each resource CloudFormation creates gets ``CREATE_IN_PROGRESS``, ``CREATE_IN_PROGRESS``
("Resource creation Initiated", with its physical id) and ``CREATE_COMPLETE``; an updated
resource ``UPDATE_IN_PROGRESS`` … ``UPDATE_COMPLETE`` (a replaced one says "Requested update
requires the creation of a new physical resource; hence creating one."); a deleted one
``DELETE_IN_PROGRESS`` / ``DELETE_COMPLETE``. Times come from the twin's virtual clock and
never go backwards within a stack (1 ms apart when the clock has not moved), so clients that
sort by ``Timestamp`` see AWS's order.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from moto.cloudformation.models import Event

from ekstwin.aws.state import active

CREATION_INITIATED = "Resource creation Initiated"
REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."
_STEP = timedelta(milliseconds=1)


def stamp(stack: Any, event: Any) -> None:
    """Give ``event`` (the stack's newest) the twin's time, after the stack's previous one."""
    state = active()
    if state is None:
        return
    when = state.now()
    earlier = [e.timestamp for e in stack.events if e is not event]
    if earlier and when <= max(earlier):
        when = max(earlier) + _STEP
    event.timestamp = when


def physical_id(resource: Any) -> str:
    if resource is None or isinstance(resource, str):
        return ""
    value = getattr(resource, "physical_resource_id", None)
    return "" if value is None else str(value)


def resource_event(
    stack: Any,
    logical_id: str,
    resource_type: str,
    status: str,
    reason: str | None = None,
    physical: str = "",
) -> None:
    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical,
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    stack.events.append(event)
    stamp(stack, event)


def created(stack: Any, logical_id: str, resource_type: str, resource: Any) -> None:
    physical = physical_id(resource)
    resource_event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS")
    resource_event(
        stack, logical_id, resource_type, "CREATE_IN_PROGRESS", CREATION_INITIATED, physical
    )
    resource_event(stack, logical_id, resource_type, "CREATE_COMPLETE", None, physical)


def deleted(stack: Any, logical_id: str, resource_type: str, physical: str) -> None:
    resource_event(stack, logical_id, resource_type, "DELETE_IN_PROGRESS", None, physical)
    resource_event(stack, logical_id, resource_type, "DELETE_COMPLETE", None, physical)


def record_creation(stack: Any, first: int) -> None:
    """CreateStack made the stack's resources: put their events (in creation order) before
    the stack-level events moto added after index ``first``."""
    later = stack.events[first:]
    del stack.events[first:]
    rm = stack.resource_map
    for name, resource in rm._parsed_resources.items():
        resource_json = rm._resource_json_map.get(name)
        if resource_json is None or resource is None or isinstance(resource, str):
            continue
        created(stack, name, str(resource_json.get("Type", "")), resource)
    for event in later:
        stack.events.append(event)
        stamp(stack, event)
