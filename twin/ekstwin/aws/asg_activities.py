"""Scaling activities the twin records on a group (DescribeScalingActivities serves them)."""

from __future__ import annotations

from typing import Any

from moto.moto_api._internal import mock_random

from ekstwin.aws.state import active


def record(group: Any, description: str, cause: str, status: str, message: str = "") -> None:
    """Append one activity to ``group``, stamped with the twin's virtual now."""
    state = active()
    now = state.now() if state is not None else None
    activities: list[dict[str, Any]] = group.__dict__.setdefault("twin_activities", [])
    entry: dict[str, Any] = {
        "ActivityId": str(mock_random.uuid4()),
        "AutoScalingGroupName": group.name,
        "Description": description,
        "Cause": cause,
        "StartTime": now,
        "EndTime": now,
        "StatusCode": status,
        "Progress": 100,
    }
    if message:
        entry["StatusMessage"] = message
    activities.append(entry)
