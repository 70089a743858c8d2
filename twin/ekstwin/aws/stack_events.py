"""CloudFormation stack events as AWS records them (moto records stack-level events only,
stamped with the wall clock).

Each resource CloudFormation creates gets ``CREATE_IN_PROGRESS``, ``CREATE_IN_PROGRESS``
("Resource creation Initiated", with its physical id) and ``CREATE_COMPLETE``; an updated
resource ``UPDATE_IN_PROGRESS`` … ``UPDATE_COMPLETE`` (a replaced one says "Requested update
requires the creation of a new physical resource; hence creating one."); a deleted one
``DELETE_IN_PROGRESS`` / ``DELETE_COMPLETE``. Times come from the twin's virtual clock and
never go backwards within a stack (1 ms apart when the clock has not moved), so clients that
sort by ``Timestamp`` see AWS's order. A created resource's events bracket its creation
(:func:`timed`), so the time the resource itself reports (an EKS cluster's ``createdAt``, an
instance's ``LaunchTime``) falls between its ``CREATE_IN_PROGRESS`` and ``CREATE_COMPLETE``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from moto.cloudformation.models import Event

from ekstwin.aws.state import active

CREATION_INITIATED = "Resource creation Initiated"
REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."
_STEP = timedelta(milliseconds=1)
# [begin] of each resource moto is creating now, outermost first (under the twin's lock)
_creating: list[list[datetime]] = []


def stamp(stack: Any, event: Any, at: datetime | None = None) -> None:
    """Give ``event`` (the stack's newest) the twin's time (or ``at``), after the stack's
    previous one."""
    state = active()
    if state is None:
        return
    when = at or state.now()
    earlier = [e.timestamp for e in stack.events if e is not event]
    if earlier and when <= max(earlier):
        when = max(earlier) + _STEP
    event.timestamp = when


def timed(create: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap moto's ``parse_and_create_resource`` to note, on the resource map, when each
    resource's creation began and ended in virtual time. A resource whose properties
    create another first (a ``Ref`` to it) begins once that one is done, as CloudFormation
    creates dependencies before their dependents."""

    def patched(logical_id: str, resource_json: Any, resources_map: Any, *a: Any, **kw: Any) -> Any:
        state = active()
        if state is None:
            return create(logical_id, resource_json, resources_map, *a, **kw)
        frame = [state.now()]
        _creating.append(frame)
        try:
            resource = create(logical_id, resource_json, resources_map, *a, **kw)
        finally:
            _creating.pop()
        end = state.now()
        if _creating:
            _creating[-1][0] = end
        resources_map.__dict__.setdefault("twin_created", {})[logical_id] = (frame[0], end)
        return resource

    return patched


def _creation_times(stack: Any, logical_id: str) -> tuple[datetime | None, datetime | None]:
    times = getattr(stack.resource_map, "twin_created", {}).get(logical_id)
    return (times[0], times[1]) if times else (None, None)


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
    at: datetime | None = None,
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
    stamp(stack, event, at)


def created(stack: Any, logical_id: str, resource_type: str, resource: Any) -> None:
    physical = physical_id(resource)
    began, ended = _creation_times(stack, logical_id)
    resource_event(stack, logical_id, resource_type, "CREATE_IN_PROGRESS", at=began)
    resource_event(
        stack, logical_id, resource_type, "CREATE_IN_PROGRESS", CREATION_INITIATED, physical, began
    )
    resource_event(stack, logical_id, resource_type, "CREATE_COMPLETE", None, physical, ended)


def deleted(stack: Any, logical_id: str, resource_type: str, physical: str) -> None:
    resource_event(stack, logical_id, resource_type, "DELETE_IN_PROGRESS", None, physical)
    resource_event(stack, logical_id, resource_type, "DELETE_COMPLETE", None, physical)


def record_creation(stack: Any, first: int) -> None:
    """CreateStack made the stack's resources: put their events (in creation order) before
    the stack-level events moto added after index ``first``."""
    later = stack.events[first:]
    del stack.events[first:]
    rm = stack.resource_map
    begun = getattr(rm, "twin_created", {})
    order = sorted(
        rm._parsed_resources.items(), key=lambda item: begun.get(item[0], (datetime.min,))[0]
    )
    for name, resource in order:
        resource_json = rm._resource_json_map.get(name)
        if resource_json is None or resource is None or isinstance(resource, str):
            continue
        created(stack, name, str(resource_json.get("Type", "")), resource)
    for event in later:
        stack.events.append(event)
        stamp(stack, event)
