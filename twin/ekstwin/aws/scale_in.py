"""Which instances a scale-in terminates, as Amazon EC2 Auto Scaling chooses them.

AWS: instances protected from scale-in are never chosen. For each instance to remove, Auto
Scaling first takes the Availability Zone with the most instances (among zones with an
unprotected one), then applies the group's TerminationPolicies in order, each narrowing
the candidates of that zone, until one instance is left. moto takes the first unprotected
instances of its list and ignores the policies (and UpdateAutoScalingGroup's).

Policies: ``OldestInstance``, ``NewestInstance``, ``OldestLaunchConfiguration``,
``OldestLaunchTemplate`` and ``Default``: instances launched from a launch configuration
before those from a template, then the oldest launch template version or launch
configuration, then the instance closest to its next billing hour, then random.
Simplifications: zone ties go to the zone that sorts first (AWS: random), and
``AllocationStrategy`` and ``ClosestToNextInstanceHour`` behave as ``Default`` (whose
third step is the next-billing-hour rule); the "random" step is the twin's seeded random.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.autoscaling.exceptions import ValidationError
from moto.moto_api._internal import mock_random

from ekstwin.aws import asg_launch
from ekstwin.aws.state import active, epoch

POLICIES = (
    "Default",
    "OldestInstance",
    "NewestInstance",
    "OldestLaunchConfiguration",
    "OldestLaunchTemplate",
    "ClosestToNextInstanceHour",
    "AllocationStrategy",
)

Key = Callable[[Any, Any], float]


def check_policies(policies: list[str]) -> None:
    for policy in policies:
        if policy not in POLICIES and not policy.startswith("arn:"):
            raise ValidationError(f"Termination policy {policy} is not supported.")


def _launch_time(member: Any) -> float:
    instance = member.instance
    return float(instance.__dict__.get("twin_launch_time", epoch(instance.launch_time)))


def _source_age(group: Any, member: Any) -> float:
    """Smaller is older: launch configurations by creation time, then template versions
    by number (a version other than the group's current one counts as old)."""
    kind, name = asg_launch.launched_from(member) or ("", "")
    if kind == asg_launch.LAUNCH_CONFIGURATION:
        config = group.autoscaling_backend.launch_configurations.get(name)
        created = getattr(config, "created_time", None)
        return -1e12 + (epoch(created) if created is not None else 0.0)
    return float(name) if name.isdigit() else 0.0


def _uses_configuration(group: Any, member: Any) -> float:
    kind, _ = asg_launch.launched_from(member) or ("", "")
    return 0.0 if kind == asg_launch.LAUNCH_CONFIGURATION else 1.0


def _to_next_hour(group: Any, member: Any) -> float:
    state = active()
    now = state.clock.now() if state is not None else _launch_time(member)
    return 3600.0 - (now - _launch_time(member)) % 3600.0


def _narrow(group: Any, members: list[Any], key: Key) -> list[Any]:
    keys = [key(group, m) for m in members]  # once: the clock moves between calls
    best = min(keys)
    return [m for m, k in zip(members, keys, strict=True) if k == best]


def _only_configurations(group: Any, members: list[Any]) -> list[Any]:
    users = [m for m in members if _uses_configuration(group, m) == 0.0]
    return users or members


def _default(group: Any, members: list[Any]) -> list[Any]:
    members = _only_configurations(group, members)
    if len(members) > 1:
        members = _narrow(group, members, _source_age)
    if len(members) > 1:
        members = _narrow(group, members, _to_next_hour)
    return members


def _apply(policy: str, group: Any, members: list[Any]) -> list[Any]:
    if policy == "OldestInstance":
        return _narrow(group, members, lambda g, m: _launch_time(m))
    if policy == "NewestInstance":
        return _narrow(group, members, lambda g, m: -_launch_time(m))
    if policy == "OldestLaunchConfiguration":
        users = [m for m in members if _uses_configuration(group, m) == 0.0]
        return _narrow(group, users, _source_age) if users else members
    if policy == "OldestLaunchTemplate":
        current = asg_launch.launch_spec(group)
        stale = [m for m in members if asg_launch.launched_from(m) != current]
        return _narrow(group, stale or members, _source_age)
    return _default(group, members)


def choose(group: Any, count: int) -> list[Any]:
    """The ``count`` members (at most) a scale-in of ``group`` terminates, in order."""
    chosen: list[Any] = []
    members = list(group.active_instances())
    for _ in range(count):
        candidates = [m for m in members if not m.protected_from_scale_in and m not in chosen]
        if not candidates:
            break
        remaining = [m for m in members if m not in chosen]
        per_zone: dict[str, int] = {}
        for m in remaining:
            zone = str(m.instance.placement.zone or "")
            per_zone[zone] = per_zone.get(zone, 0) + 1
        zones = {str(m.instance.placement.zone or "") for m in candidates}
        zone = max(sorted(zones), key=lambda z: per_zone.get(z, 0))
        left = [m for m in candidates if str(m.instance.placement.zone or "") == zone]
        for policy in [*(group.termination_policies or ["Default"]), "Default"]:
            if len(left) <= 1:
                break
            left = _apply(policy, group, left)
        chosen.append(left[0] if len(left) == 1 else mock_random.choice(left))
    return chosen


def ordered_for_scale_in(group: Any, new_capacity: int | None) -> list[Any] | None:
    """``group.instance_states`` reordered so that a scale-in to ``new_capacity`` (which
    takes the first unprotected members) takes the ones :func:`choose` picks; None when
    the capacity does not shrink."""
    target = group.min_size if new_capacity is None else new_capacity
    surplus = len(group.active_instances()) - int(target or 0)
    if surplus <= 0:
        return None
    victims = choose(group, surplus)
    rest = [m for m in group.instance_states if m not in victims]
    return victims + rest
