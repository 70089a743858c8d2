"""Drain the nodes CloudFormation's own rolling update terminates, through a termination
lifecycle hook.

A node-group stack made from AWS's 2019 template has an ``AutoScalingRollingUpdate`` (or
``AutoScalingReplacingUpdate``) policy: executing its change set makes CloudFormation replace
the group's instances itself, without draining them. Before the change set runs, an
``upgrader-drain`` hook on the group's ASG holds every instance the update terminates in
``Terminating:Wait`` (CloudFormation waits for it); while the stack updates, each waiting
instance's node is cordoned and drained through the Eviction API (the roll's drain), then
its action is completed and the ASG terminates it. The hook is removed at the end, also on
failure, unless that would let the ASG terminate a node not yet drained. A re-run after a
crash finds the hook (put again) and the waiting instances (drained like new ones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from upgrader.errors import UpgraderError
from upgrader.executor.nodegroups import Roll
from upgrader.executor.session import Session
from upgrader.model.drain_hook import HEARTBEAT_SECONDS, HOOK, replaces_instances
from upgrader.model.steps import NodegroupStackStep

ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"


class DrainHook:
    """The ``upgrader-drain`` hook on the ASGs of one nodegroup-stack step's stack."""

    def __init__(self, s: Session, step: NodegroupStackStep) -> None:
        self.s, self.step = s, step
        stack = s.aws.stack(step.stack)
        self.asgs = tuple(r.physical_id for r in stack.resources_of(ASG_TYPE) if r.physical_id)
        self._roll = Roll(s, step)

    def put(self) -> None:
        for asg in self.asgs:
            self.s.aws.put_termination_hook(asg, HOOK, heartbeat_seconds=HEARTBEAT_SECONDS)
            self.s.emit(
                "info",
                f"termination hook {HOOK} on ASG {asg}: CloudFormation's "
                f"{self._policy()} waits while upgrader drains each node it replaces",
            )

    def _policy(self) -> str:
        return self.step.update_policy.split(" ", 1)[0]

    def poll(self) -> None:
        """Drain and release every instance waiting in ``Terminating:Wait``."""
        for asg in self.asgs:
            for instance_id in self.s.aws.waiting_termination(asg):
                self._release(asg, instance_id)

    def _release(self, asg: str, instance_id: str) -> None:
        node = next((n for n in self.s.kube.nodes() if n.instance_id == instance_id), None)
        if node is not None:
            self.s.aws.record_lifecycle_heartbeat(asg, HOOK, instance_id)
            self.s.emit(
                "node",
                f"CloudFormation is replacing {instance_id}; draining its node first",
                nodes=(node.name,),
            )
            self._roll.drain([node])
        self.s.aws.complete_lifecycle_action(asg, HOOK, instance_id)
        self.s.emit(
            "node",
            f"{instance_id} drained; lifecycle action completed, the ASG terminates it",
            nodes=(node.name,) if node else (),
        )

    def undrained(self) -> tuple[str, ...]:
        """Instances still waiting, which removing the hook would terminate undrained."""
        return tuple(i for asg in self.asgs for i in self.s.aws.waiting_termination(asg))

    def remove(self) -> None:
        for asg in self.asgs:
            self.s.aws.delete_lifecycle_hook(asg, HOOK)
        self.s.emit("info", f"termination hook {HOOK} removed from {', '.join(self.asgs)}")


@contextmanager
def drained_replacements(s: Session, step: NodegroupStackStep) -> Iterator[Callable[[], None]]:
    """Around a node-group stack update: a callback for every stack poll that drains the
    nodes CloudFormation is replacing (a no-op when its update policy replaces none)."""
    if not replaces_instances(step):
        yield lambda: None
        return
    hook = DrainHook(s, step)
    if not hook.asgs:
        yield lambda: None
        return
    hook.put()
    try:
        yield hook.poll
        hook.poll()  # anything the last stack poll did not see
    except BaseException:
        _restore(s, hook)
        raise
    hook.remove()


def _restore(s: Session, hook: DrainHook) -> None:
    """After a failure: remove the hook unless that would terminate undrained nodes (AWS
    completes a deleted hook's waiting actions); never mask the failure itself."""
    try:
        waiting = hook.undrained()
        if not waiting:
            hook.remove()
            return
    except UpgraderError as err:
        waiting = (f"(unknown: {err.message})",)
    s.emit(
        "info",
        f"keeping termination hook {HOOK}: {', '.join(waiting)} still wait(s) to be drained;"
        f" re-run apply within {HEARTBEAT_SECONDS // 60} min to drain them (after that the"
        " ASG terminates them undrained)",
    )
