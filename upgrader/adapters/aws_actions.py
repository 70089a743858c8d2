"""The AWS calls ``upgrader apply`` makes: change sets, stack waits, Auto Scaling, ENIs.

Reads reuse the discovery adapters and return the same model records, read
fresh on every call. Every failure is an :class:`~upgrader.errors.UpgraderError`
naming the object, the problem and the next step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from upgrader.adapters import aws_state, change_sets, cloudformation, stack_events
from upgrader.adapters.aws import Aws, aws_errors, error_code, error_message, is_not_found
from upgrader.adapters.errors import CloudError, CloudNotFoundError, StackUpdateFailed
from upgrader.model.aws import AutoScalingGroup, Eni, Instance, Stack, Subnet
from upgrader.model.steps import ChangeSet
from upgrader.model.updates import ClusterUpdate
from upgrader.polling import WALL, Backoff, Clock, poll

if TYPE_CHECKING:
    from mypy_boto3_autoscaling.type_defs import UpdateAutoScalingGroupTypeTypeDef

LEAKED_ENI_PREFIX = "aws-K8S-"  # ipamd describes the ENIs it creates this way
_GONE = frozenset({"terminated", "shutting-down"})
TERMINATING_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING"
TERMINATING_WAIT = "Terminating:Wait"


def _owner(eni: Eni) -> str:
    """The instance ID in an ipamd ENI description (``aws-K8S-i-0abc...``)."""
    words = eni.description.removeprefix(LEAKED_ENI_PREFIX).split()
    return words[0] if words else ""


def _addon_request(
    cluster: str, name: str, version: str, resolve_conflicts: str, values: str | None
) -> dict[str, str]:
    """CreateAddon/UpdateAddon arguments; ``values`` (configurationValues) only if given."""
    request = {
        "clusterName": cluster,
        "addonName": name,
        "addonVersion": version,
        "resolveConflicts": resolve_conflicts,
    }
    return request if values is None else {**request, "configurationValues": values}


def _says(err: ClientError, *texts: str) -> bool:
    message = error_message(err)
    return any(text in message for text in texts)


@dataclass
class AwsActions:
    """Mutating and polling AWS calls for one region, on the standard credential chain."""

    aws: Aws
    # Newest event of each stack before a change set ran on it, so a wait does not
    # mistake the previous operation's *_COMPLETE for this one's.
    _baselines: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def connect(cls, region: str) -> AwsActions:
        """Actions in ``region`` (credentials and endpoint from the environment)."""
        return cls(Aws.connect(region))

    # CloudFormation -------------------------------------------------------

    def stack(self, name: str) -> Stack:
        """The stack as discovery reads it: status, parameters, resources, change sets."""
        return cloudformation.read_stack(self.aws, name)

    def create_change_set(
        self,
        stack: str,
        parameters: dict[str, str],
        *,
        description: str,
        template: str | None = None,
    ) -> ChangeSet:
        """Create (not execute) an UPDATE change set; see :func:`change_sets.create`."""
        return change_sets.create(
            self.stack(stack),
            parameters,
            description=description,
            template=template,
            aws=self.aws,
        )

    def execute_change_set(self, stack: str, change_set: str) -> None:
        """Start executing ``change_set`` (name or ARN) on ``stack``; returns at once."""
        cfn = self.aws.cfn
        baseline = stack_events.latest_event_id(cfn, stack)
        subject = f"change set {change_set} on stack {stack}"
        hint = "the change set is gone (executed or deleted): run `upgrader plan` again"
        try:
            cfn.execute_change_set(ChangeSetName=change_set, StackName=stack)
        except (ClientError, BotoCoreError) as err:
            if isinstance(err, ClientError) and error_code(err) == "InvalidChangeSetStatus":
                raise CloudError(
                    subject,
                    f"cannot be executed: {error_message(err)}",
                    "the stack changed since planning (or the change set was already "
                    "executed): run `upgrader plan` again and review the new plan",
                ) from None
            with aws_errors(subject, "ExecuteChangeSet", not_found_hint=hint):
                raise
        self._baselines[stack] = baseline

    def wait_stack(
        self,
        stack: str,
        *,
        timeout_seconds: float,
        poll_seconds: float = 2.0,
        on_poll: Callable[[str, float], None] | None = None,
        clock: Clock = WALL,
    ) -> str:
        """Poll until the stack settles; returns its ``*_COMPLETE`` status.

        Raises :class:`StackUpdateFailed` when the operation fails or rolls back
        (after the rollback settles, so the final status is reported) or when
        ``timeout_seconds`` pass (status ``TIMEOUT``). ``on_poll(status, elapsed)``
        is called after every poll; ``clock`` paces the polls, a second apart at first,
        then further apart up to ``poll_seconds`` (an update of many minutes needs no more).
        """
        started = clock.monotonic()
        last = ""

        def settled() -> str | None:
            nonlocal last
            last = self._status(stack)
            if on_poll is not None:
                on_poll(last, clock.monotonic() - started)
            if last.endswith("_IN_PROGRESS") or not self._operation_seen(stack):
                return None
            if "ROLLBACK" in last or last.endswith("_FAILED"):
                raise self._failure(stack, last)
            return last

        done = poll(
            settled,
            timeout=timeout_seconds,
            backoff=Backoff(first=min(1.0, poll_seconds), factor=1.5, most=poll_seconds),
            clock=clock,
        )
        if done is None:
            failing = "ROLLBACK" in last or last.endswith("_FAILED")
            raise self._failure(stack, last if failing else "TIMEOUT")
        return done

    def _status(self, stack: str) -> str:
        hint = cloudformation.missing_stack_hint(stack, self.aws.region)
        with aws_errors(f"CloudFormation stack {stack}", "DescribeStacks", not_found_hint=hint):
            found = self.aws.cfn.describe_stacks(StackName=stack)["Stacks"]
        if not found:
            cloudformation.raise_missing(stack, self.aws.region)
        return str(found[0]["StackStatus"])

    def _operation_seen(self, stack: str) -> bool:
        """False while the operation this process started has not shown in the events."""
        if stack not in self._baselines:
            return True
        _, began = stack_events.operation_events(self.aws.cfn, stack, after=self._baselines[stack])
        if began:
            del self._baselines[stack]
        return began

    def _failure(self, stack: str, status: str) -> StackUpdateFailed:
        events, _ = stack_events.operation_events(self.aws.cfn, stack)
        return StackUpdateFailed(stack, status, stack_events.failures_first(events, stack))

    # Auto Scaling ---------------------------------------------------------

    def asg(self, name: str) -> AutoScalingGroup:
        """The group as discovery reads it, fresh."""
        found = aws_state.auto_scaling_groups(self.aws, [name])
        if not found:
            raise CloudNotFoundError(
                f"Auto Scaling group {name}",
                "does not exist",
                "the node group stack no longer holds this group: run `upgrader plan` again",
            )
        return found[0]

    def set_capacity(
        self,
        name: str,
        *,
        desired: int,
        min_size: int | None = None,
        max_size: int | None = None,
    ) -> None:
        """Set the desired capacity (and min/max when given) in one UpdateAutoScalingGroup."""
        current = self.asg(name)
        low = current.min_size if min_size is None else min_size
        high = current.max_size if max_size is None else max_size
        if not low <= desired <= high:
            raise CloudError(
                f"Auto Scaling group {name}",
                f"desired capacity {desired} must be between min size {low} and max size {high}",
                "pass min_size/max_size that include the desired capacity",
            )
        request: UpdateAutoScalingGroupTypeTypeDef = {
            "AutoScalingGroupName": name,
            "DesiredCapacity": desired,
        }
        if min_size is not None:
            request["MinSize"] = min_size
        if max_size is not None:
            request["MaxSize"] = max_size
        with aws_errors(f"Auto Scaling group {name}", "UpdateAutoScalingGroup"):
            self.aws.autoscaling.update_auto_scaling_group(**request)

    def suspend_processes(self, name: str, processes: Sequence[str]) -> None:
        """Suspend the named processes; an empty list does nothing (AWS would suspend all)."""
        if processes:
            with aws_errors(f"Auto Scaling group {name}", "SuspendProcesses"):
                self.aws.autoscaling.suspend_processes(
                    AutoScalingGroupName=name, ScalingProcesses=list(processes)
                )

    def resume_processes(self, name: str, processes: Sequence[str]) -> None:
        """Resume the named processes; an empty list does nothing (AWS would resume all)."""
        if processes:
            with aws_errors(f"Auto Scaling group {name}", "ResumeProcesses"):
                self.aws.autoscaling.resume_processes(
                    AutoScalingGroupName=name, ScalingProcesses=list(processes)
                )

    def terminated(self, instance_ids: Sequence[str]) -> frozenset[str]:
        """Which of ``instance_ids`` EC2 has terminated (their network interfaces, and so
        their subnet addresses, released); an instance EC2 no longer knows counts."""
        live = {i.instance_id for i in self.instances(instance_ids) if i.state != "terminated"}
        return frozenset(i for i in instance_ids if i not in live)

    def terminate(self, instance_id: str, *, decrement: bool) -> None:
        """TerminateInstanceInAutoScalingGroup; an instance no longer in a group is left
        alone, so a resumed step never decrements the desired capacity twice."""
        subject = f"EC2 instance {instance_id}"
        with aws_errors(subject, "DescribeAutoScalingInstances"):
            member = self.aws.autoscaling.describe_auto_scaling_instances(
                InstanceIds=[instance_id]
            )["AutoScalingInstances"]
        if not member:
            return
        try:
            self.aws.autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=decrement
            )
        except (ClientError, BotoCoreError) as err:
            if not isinstance(err, ClientError):
                with aws_errors(subject, "TerminateInstanceInAutoScalingGroup"):
                    raise
            if is_not_found(err) or _says(err, "not found", "No managed instance"):
                return
            if _says(err, "min size", "minSize", "minimum"):
                raise CloudError(
                    subject,
                    f"cannot be terminated with decrement: {error_message(err)}",
                    "lower the group's min size first (set_capacity with min_size)",
                ) from None
            with aws_errors(subject, "TerminateInstanceInAutoScalingGroup"):
                raise

    # Lifecycle hooks ------------------------------------------------------

    def put_termination_hook(self, asg: str, name: str, *, heartbeat_seconds: int) -> None:
        """Put (or update) an ``EC2_INSTANCE_TERMINATING`` hook: every instance the group
        terminates waits in ``Terminating:Wait`` until its action is completed or
        ``heartbeat_seconds`` pass (then it is terminated all the same)."""
        with aws_errors(f"Auto Scaling group {asg}", "PutLifecycleHook"):
            self.aws.autoscaling.put_lifecycle_hook(
                LifecycleHookName=name,
                AutoScalingGroupName=asg,
                LifecycleTransition=TERMINATING_TRANSITION,
                HeartbeatTimeout=heartbeat_seconds,
                DefaultResult="CONTINUE",
            )

    def delete_lifecycle_hook(self, asg: str, name: str) -> None:
        """Delete the hook (AWS completes its waiting actions); a missing one is left alone."""
        try:
            self.aws.autoscaling.delete_lifecycle_hook(
                LifecycleHookName=name, AutoScalingGroupName=asg
            )
        except (ClientError, BotoCoreError) as err:
            if isinstance(err, ClientError) and (
                is_not_found(err) or _says(err, "not found", "No Lifecycle Hook")
            ):
                return
            with aws_errors(f"lifecycle hook {name} of Auto Scaling group {asg}", "Delete"):
                raise

    def waiting_termination(self, asg: str) -> tuple[str, ...]:
        """IDs of the group's instances held in ``Terminating:Wait`` by a lifecycle hook."""
        with aws_errors(f"Auto Scaling group {asg}", "DescribeAutoScalingGroups"):
            groups = self.aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg])[
                "AutoScalingGroups"
            ]
        return tuple(
            sorted(
                i["InstanceId"]
                for g in groups
                for i in g.get("Instances", [])
                if i.get("LifecycleState") == TERMINATING_WAIT
            )
        )

    def complete_lifecycle_action(
        self, asg: str, hook: str, instance_id: str, result: str = "CONTINUE"
    ) -> None:
        """CompleteLifecycleAction for ``instance_id``; an action no longer pending (already
        completed, timed out) is left alone, so a resumed step may complete it again."""
        try:
            self.aws.autoscaling.complete_lifecycle_action(
                LifecycleHookName=hook,
                AutoScalingGroupName=asg,
                LifecycleActionResult=result,
                InstanceId=instance_id,
            )
        except (ClientError, BotoCoreError) as err:
            if isinstance(err, ClientError) and _says(err, "No active Lifecycle Action"):
                return
            with aws_errors(f"EC2 instance {instance_id}", "CompleteLifecycleAction"):
                raise

    def record_lifecycle_heartbeat(self, asg: str, hook: str, instance_id: str) -> None:
        """RecordLifecycleActionHeartbeat: restart the hook's timeout for ``instance_id``
        (nothing when its action is no longer pending)."""
        try:
            self.aws.autoscaling.record_lifecycle_action_heartbeat(
                LifecycleHookName=hook, AutoScalingGroupName=asg, InstanceId=instance_id
            )
        except (ClientError, BotoCoreError) as err:
            if isinstance(err, ClientError) and _says(err, "No active Lifecycle Action"):
                return
            with aws_errors(f"EC2 instance {instance_id}", "RecordLifecycleActionHeartbeat"):
                raise

    # EC2 and EKS ------------------------------------------------------------

    def instances(self, ids: Sequence[str]) -> tuple[Instance, ...]:
        """The instances EC2 still knows among ``ids`` (terminated ones included)."""
        return aws_state.instances(self.aws, list(ids))

    def subnets(self, ids: Sequence[str]) -> tuple[Subnet, ...]:
        """The subnets with their free address counts, fresh."""
        return aws_state.subnets(self.aws, list(ids))

    def leaked_enis(self, subnet_ids: Sequence[str]) -> tuple[Eni, ...]:
        """ENIs ipamd created (``aws-K8S-<instance>``), ``available``, whose instance is
        gone. An ENI mid-attach is also ``available``, but its instance lives."""
        candidates = [
            e
            for e in aws_state.enis(self.aws, list(subnet_ids))
            if e.status == "available" and e.description.startswith(LEAKED_ENI_PREFIX)
        ]
        owners = {_owner(e) for e in candidates}
        live = {
            i.instance_id
            for i in aws_state.instances(self.aws, sorted(o for o in owners if o.startswith("i-")))
            if i.state not in _GONE
        }
        return tuple(e for e in candidates if _owner(e) not in live)

    def delete_eni(self, eni_id: str) -> None:
        """Delete an ENI (freeing its addresses); one already deleted is left alone."""
        subject = f"network interface {eni_id}"
        try:
            self.aws.ec2.delete_network_interface(NetworkInterfaceId=eni_id)
        except (ClientError, BotoCoreError) as err:
            if not isinstance(err, ClientError):
                with aws_errors(subject, "DeleteNetworkInterface"):
                    raise
            if is_not_found(err):
                return
            if error_code(err) == "InvalidNetworkInterface.InUse":
                raise CloudError(
                    subject,
                    f"is attached again: {error_message(err)}",
                    "it is no longer leaked; leave it, and re-run the ENI check",
                ) from None
            with aws_errors(subject, "DeleteNetworkInterface"):
                raise

    def addon(self, cluster: str, name: str) -> tuple[str, str]:
        """``(version, status)`` of an EKS managed add-on (CloudNotFoundError when EKS
        manages none of that name)."""
        with aws_errors(
            f"EKS add-on {name} of cluster {cluster}",
            "DescribeAddon",
            not_found_hint=f"aws eks list-addons --cluster-name {cluster}; then plan again",
        ):
            raw = self.aws.eks.describe_addon(clusterName=cluster, addonName=name)["addon"]
        return str(raw.get("addonVersion", "")), str(raw.get("status", ""))

    def update_addon(
        self,
        cluster: str,
        name: str,
        *,
        version: str,
        resolve_conflicts: str,
        configuration_values: str | None,
    ) -> str:
        """``UpdateAddon``; the ID of the update. ``configuration_values`` go back exactly
        as given (None: not sent, so EKS keeps what it holds)."""
        request = _addon_request(cluster, name, version, resolve_conflicts, configuration_values)
        with aws_errors(f"EKS add-on {name} of cluster {cluster}", "UpdateAddon"):
            raw = self.aws.eks.update_addon(**request)  # type: ignore[arg-type]
        return str(raw["update"]["id"])

    def create_addon(
        self,
        cluster: str,
        name: str,
        *,
        version: str,
        resolve_conflicts: str,
        configuration_values: str | None,
    ) -> None:
        """``CreateAddon`` (``configuration_values`` sent exactly as given, if any)."""
        request = _addon_request(cluster, name, version, resolve_conflicts, configuration_values)
        with aws_errors(f"EKS add-on {name} of cluster {cluster}", "CreateAddon"):
            self.aws.eks.create_addon(**request)  # type: ignore[arg-type]

    def addon_update(self, cluster: str, name: str, update_id: str) -> tuple[str, tuple[str, ...]]:
        """``DescribeUpdate`` of an add-on update: its status and the errors EKS gives."""
        with aws_errors(f"EKS add-on {name} of cluster {cluster}", "DescribeUpdate"):
            raw = self.aws.eks.describe_update(name=cluster, updateId=update_id, addonName=name)[
                "update"
            ]
        errors = tuple(
            f"{e.get('errorCode', '')}: {e.get('errorMessage', '')}" for e in raw.get("errors", [])
        )
        return str(raw.get("status", "")), errors

    def cluster_updates(self, cluster: str) -> tuple[ClusterUpdate, ...]:
        """The control-plane updates EKS records for the cluster (``ListUpdates``, then
        ``DescribeUpdate`` of each), oldest first."""
        subject = f"EKS cluster {cluster}"
        ids: list[str] = []
        token: str | None = None
        while True:
            with aws_errors(subject, "ListUpdates"):
                page = (
                    self.aws.eks.list_updates(name=cluster, nextToken=token)
                    if token
                    else self.aws.eks.list_updates(name=cluster)
                )
            ids += page.get("updateIds", [])
            token = page.get("nextToken")
            if not token:
                break
        found = []
        for update_id in ids:
            with aws_errors(subject, "DescribeUpdate"):
                raw = self.aws.eks.describe_update(name=cluster, updateId=update_id)["update"]
            params = {p.get("type"): p.get("value") for p in raw.get("params", [])}
            found.append(
                ClusterUpdate(
                    id=str(raw.get("id", update_id)),
                    type=str(raw.get("type", "")),
                    status=str(raw.get("status", "")),
                    version=params.get("Version"),
                    created_at=raw["createdAt"].astimezone(UTC),
                )
            )
        return tuple(sorted(found, key=lambda u: u.created_at))

    def cluster_version(self, cluster: str) -> tuple[str, str]:
        """``(version, status)`` of the EKS cluster, e.g. ``("1.13", "ACTIVE")``."""
        hint = f"no EKS cluster {cluster!r} in {self.aws.region}: check `cluster` in the config"
        with aws_errors(f"EKS cluster {cluster}", "DescribeCluster", not_found_hint=hint):
            raw = self.aws.eks.describe_cluster(name=cluster)["cluster"]
        return str(raw.get("version", "")), str(raw.get("status", ""))
