"""The termination lifecycle hook apply uses when CloudFormation itself replaces a node
group's instances (an adopted stack with a rolling or replacing UpdatePolicy); shared by
the executor, which puts it, and the runbook, which explains it."""

from __future__ import annotations

from upgrader.model.steps import NodegroupStackStep, Step

HOOK = "upgrader-drain"
# The longest AWS allows: a failed drain leaves its node waiting, undrained, for the fix and
# a re-run (when the timeout ends the ASG terminates it anyway). Far above the drain timeout.
HEARTBEAT_SECONDS = 7200
REPLACING_POLICIES = ("AutoScalingRollingUpdate", "AutoScalingReplacingUpdate")


def replaces_instances(step: Step) -> bool:
    """Whether executing the step's change set makes CloudFormation replace instances."""
    return isinstance(step, NodegroupStackStep) and step.update_policy.startswith(
        REPLACING_POLICIES
    )
