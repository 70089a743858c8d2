"""Termination lifecycle hooks as Amazon EC2 Auto Scaling runs them.

moto stores lifecycle hooks but never fires them and has no CompleteLifecycleAction. Here an
instance the group terminates (scale-in, TerminateInstanceInAutoScalingGroup, a CloudFormation
rolling update) while the group has ``autoscaling:EC2_INSTANCE_TERMINATING`` hooks goes
``Terminating:Wait``: it leaves the group's capacity but keeps running (its node, pods and
addresses stay) until every hook's action is completed with CONTINUE, one is completed with
ABANDON, or a hook times out — HeartbeatTimeout (virtual time, restarted by a heartbeat,
capped by the global timeout) — with its DefaultResult. For a terminating hook both results
terminate the instance. Deleting a hook completes its waiting actions (CONTINUE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.autoscaling.exceptions import ValidationError
from moto.moto_api._internal import mock_random

from ekstwin.aws import asg_activities
from ekstwin.aws.state import TwinState, require
from ekstwin.clock import Timer

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
IN_SERVICE = "InService"
WAIT = "Terminating:Wait"
PROCEED = "Terminating:Proceed"
RESULTS = ("CONTINUE", "ABANDON")
GLOBAL_TIMEOUT_MAX = 172800.0  # 48 h, or 100 x HeartbeatTimeout when that is less


@dataclass
class _Action:
    """One hook's pending action on one instance."""

    hook: str
    token: str
    deadline: float  # virtual time the global timeout ends
    timer: Timer | None = None


def terminating_hooks(group: Any) -> list[Any]:
    """The group's ``EC2_INSTANCE_TERMINATING`` hooks (moto's LifecycleHook objects)."""
    return [
        h
        for h in group.autoscaling_backend.lifecycle_hooks.values()
        if h.auto_scaling_group_name == group.name and h.lifecycle_transition == TERMINATING
    ]


def _actions(member: Any) -> dict[str, _Action]:
    actions: dict[str, _Action] = member.__dict__.setdefault("twin_actions", {})
    return actions


def _waiters(member: Any) -> list[Callable[[], None]]:
    waiters: list[Callable[[], None]] = member.__dict__.setdefault("twin_waiters", [])
    return waiters


def is_gone(member: Any) -> bool:
    """The instance has been terminated by its group."""
    return bool(member.__dict__.get("twin_gone", False))


def member_of(backend: Any, instance_id: str) -> Any | None:
    """The InstanceState of ``instance_id`` in any group of ``backend``, or None."""
    for group in backend.autoscaling_groups.values():
        for member in group.instance_states:
            if member.instance.id == instance_id:
                return member
    return None


def terminate(group: Any, members: Iterable[Any], *, cause: str) -> None:
    """Take ``members`` out of service and terminate them, after the terminating hooks."""
    state = require()
    hooks = terminating_hooks(group)
    for member in members:
        if member.lifecycle_state in (WAIT, PROCEED) or is_gone(member):
            continue  # already on its way out
        member.twin_cause = cause
        if not hooks:
            _finish(group, member)
            continue
        member.lifecycle_state = WAIT
        now = state.clock.now()
        for hook in hooks:
            timeout = float(hook.heartbeat_timeout)
            action = _Action(
                hook.name, str(mock_random.uuid4()), now + min(100 * timeout, GLOBAL_TIMEOUT_MAX)
            )
            _actions(member)[hook.name] = action
            _arm(state, group, member, action, timeout)


def when_gone(members: list[Any], fn: Callable[[], None]) -> None:
    """Call ``fn`` once every member has been terminated (at once if they all are)."""
    left = [m for m in members if not is_gone(m)]
    if not left:
        fn()
        return
    count = [len(left)]

    def one_gone() -> None:
        count[0] -= 1
        if count[0] == 0:
            fn()

    for member in left:
        _waiters(member).append(one_gone)


def _arm(state: TwinState, group: Any, member: Any, action: _Action, seconds: float) -> None:
    if action.timer is not None:
        action.timer.cancel()
    delay = min(seconds, action.deadline - state.clock.now())

    def timed_out() -> None:
        hook = _hook(group, action.hook)
        _resolve(group, member, action.hook, hook.default_result if hook else "CONTINUE")

    action.timer = state.call_later(delay, timed_out)


def _hook(group: Any, name: str) -> Any | None:
    return group.autoscaling_backend.lifecycle_hooks.get(f"{group.name}_{name}")


def _resolve(group: Any, member: Any, hook: str, result: str) -> None:
    actions = _actions(member)
    action = actions.pop(hook, None)
    if action is None:
        return
    if action.timer is not None:
        action.timer.cancel()
    if result == "ABANDON":  # the other hooks' actions end with it
        for other in actions.values():
            if other.timer is not None:
                other.timer.cancel()
        actions.clear()
    if not actions:
        _finish(group, member)


def _finish(group: Any, member: Any) -> None:
    member.lifecycle_state = PROCEED
    if member in group.instance_states:
        group.instance_states.remove(member)
    instance_id = member.instance.id
    group.autoscaling_backend.ec2_backend.terminate_instances([instance_id])
    member.twin_gone = True
    asg_activities.record(
        group,
        f"Terminating EC2 instance: {instance_id}",
        str(member.__dict__.get("twin_cause", "")),
        "Successful",
    )
    waiters, member.twin_waiters = _waiters(member), []
    for waiter in waiters:
        waiter()


def _waiting(
    backend: Any, group_name: str, hook: str, instance_id: str | None, token: str | None
) -> tuple[Any, Any]:
    """The group and member whose ``hook`` action matches, or AWS's ValidationError."""
    group = backend.autoscaling_groups.get(group_name)
    for member in group.instance_states if group is not None else ():
        action = _actions(member).get(hook)
        if action is None:
            continue
        if (instance_id and member.instance.id == instance_id) or (token and action.token == token):
            return group, member
    if instance_id:
        raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
    raise ValidationError(f"No active Lifecycle Action found with token {token}")


def complete(
    backend: Any,
    group_name: str,
    hook: str,
    result: str,
    *,
    instance_id: str | None = None,
    token: str | None = None,
) -> None:
    """CompleteLifecycleAction: end ``hook``'s action on the instance with ``result``."""
    if result not in RESULTS:
        raise ValidationError(
            f"Value '{result}' at 'lifecycleActionResult' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(RESULTS)}]"
        )
    if not instance_id and not token:
        raise ValidationError("Either InstanceId or LifecycleActionToken must be specified")
    group, member = _waiting(backend, group_name, hook, instance_id, token)
    _resolve(group, member, hook, result)


def heartbeat(
    backend: Any,
    group_name: str,
    hook: str,
    *,
    instance_id: str | None = None,
    token: str | None = None,
) -> None:
    """RecordLifecycleActionHeartbeat: restart the hook's timeout (within the global one)."""
    if not instance_id and not token:
        raise ValidationError("Either InstanceId or LifecycleActionToken must be specified")
    group, member = _waiting(backend, group_name, hook, instance_id, token)
    found = _hook(group, hook)
    timeout = float(found.heartbeat_timeout) if found is not None else 3600.0
    _arm(require(), group, member, _actions(member)[hook], timeout)


def release_hook(backend: Any, group_name: str, hook: str) -> None:
    """DeleteLifecycleHook: the hook's outstanding terminating actions continue."""
    group = backend.autoscaling_groups.get(group_name)
    for member in list(group.instance_states) if group is not None else ():
        if hook in _actions(member):
            _resolve(group, member, hook, "CONTINUE")
