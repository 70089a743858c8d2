"""Auto Scaling groups as AWS runs them: balanced launches, address failures, rolling updates.

moto launches every instance in the first subnet, crashes or goes negative when a subnet is
full, and deletes and recreates a group on any CloudFormation change. Here launches go to
the least-used zone that has a free address, a launch that finds none is recorded as a
failed scaling activity, and CloudFormation updates a group in place, replacing instances
only under an ``AutoScalingRollingUpdate`` policy.
"""

from __future__ import annotations

import re
from typing import Any

from moto.autoscaling.models import InstanceState
from moto.core.exceptions import ServiceException
from moto.moto_api._internal import mock_random

from ekstwin.aws import addresses, asg_activities, asg_launch, asg_lifecycle
from ekstwin.aws.asg_launch import launch_spec
from ekstwin.aws.state import Operation, TwinState, active

ASG_NAME_TAG = "aws:autoscaling:groupName"
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def iso_seconds(duration: str) -> float:
    """Seconds of an ISO-8601 ``PT#H#M#S`` duration (CloudFormation's PauseTime)."""
    match = _DURATION.match(duration or "PT0S")
    if match is None:
        raise ValueError(f"not an ISO-8601 duration: {duration!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _pick_subnet(group: Any, subnet_ids: list[str]) -> Any | None:
    ec2 = group.autoscaling_backend.ec2_backend
    subnets = [ec2.get_subnet(s) for s in subnet_ids]
    per_zone: dict[str, int] = {}
    for state in group.active_instances():
        zone = state.instance.placement.zone
        per_zone[zone] = per_zone.get(zone, 0) + 1
    ranked = sorted(
        enumerate(subnets), key=lambda pair: (per_zone.get(pair[1].availability_zone, 0), pair[0])
    )
    for _, subnet in ranked:
        if addresses.free_count(subnet) >= 1:
            return subnet
    return None


def _record_failure(group: Any, reason: str) -> None:
    asg_activities.record(
        group,
        f"Launching a new EC2 instance.  Status Reason: {reason} Launching EC2 instance failed.",
        f"An instance was started in response to a difference between desired and "
        f"actual capacity, increasing the capacity from {len(group.instance_states)} "
        f"to {group.desired_capacity}.",
        "Failed",
        f"{reason} Launching EC2 instance failed.",
    )


def launch_instances(group: Any, count: int, propagated_tags: dict[str, str]) -> int:
    """Launch up to ``count`` instances into ``group``; returns how many started."""
    tags = dict(propagated_tags)
    tags[ASG_NAME_TAG] = group.name
    tags.update(group.instance_tags)
    subnet_ids = group.vpc_zone_identifier.split(",") if group.vpc_zone_identifier else []
    run, refusal = asg_launch.run_arguments(group)
    launched = 0
    for _ in range(count):
        subnet = _pick_subnet(group, subnet_ids) if subnet_ids else None
        reason = refusal
        if reason is None and subnet_ids and subnet is None:
            first = group.autoscaling_backend.ec2_backend.get_subnet(subnet_ids[0])
            reason = addresses.RUN_INSTANCES_NO_ADDRESSES.format(subnet=first.id)
        if reason is not None:
            _record_failure(group, reason)
            break
        try:
            reservation = group.autoscaling_backend.ec2_backend.run_instances(
                group.image_id,
                1,
                group.user_data,
                group.security_groups,
                instance_type=group.instance_type,
                tags={"instance": dict(tags)},
                placement=None if subnet else mock_random.choice(group.availability_zones),
                is_instance_type_default=False,
                subnet_id=subnet.id if subnet else None,
                **run,
            )
        except ServiceException as error:
            # AWS: EC2 refusing the launch is a failed scaling activity, not an API error.
            _record_failure(group, f"{error.message}")
            break
        for instance in reservation.instances:
            instance.autoscaling_group = group
            instance.twin_launch_spec = launch_spec(group)
            asg_launch.give_profile(group, instance)
            group.instance_states.append(
                InstanceState(
                    instance, protected_from_scale_in=group.new_instances_protected_from_scale_in
                )
            )
            asg_activities.record(
                group,
                f"Launching a new EC2 instance: {instance.id}",
                "An instance was started in response to a difference between desired and "
                "actual capacity.",
                "Successful",
            )
            launched += 1
    return launched


def terminate_instances(group: Any, states: list[Any]) -> None:
    """Take ``states`` out of the group and terminate them (after any terminating lifecycle
    hook; nothing is drained)."""
    asg_lifecycle.terminate(
        group,
        states,
        cause="An instance was taken out of service in response to a rolling update.",
    )


def _outdated(group: Any) -> list[Any]:
    current = launch_spec(group)
    return [
        s
        for s in group.active_instances()
        if getattr(s.instance, "twin_launch_spec", None) != current
    ]


def start_rolling_update(
    state: TwinState, group: Any, policy: dict[str, Any], operation: Operation
) -> None:
    """Replace outdated instances in batches like CloudFormation's AutoScalingRollingUpdate.

    Each batch of ``MaxBatchSize`` old instances is terminated and replaced; when that would
    leave fewer than ``MinInstancesInService``, the replacements launch first. CloudFormation
    then waits until the batch is terminated (a terminating lifecycle hook holds it in
    ``Terminating:Wait``) and ``PauseTime`` before the next batch. Nothing is drained.
    """
    batch = max(1, int(policy.get("MaxBatchSize", 1)))
    minimum = int(policy.get("MinInstancesInService", 0))
    pause = iso_seconds(str(policy.get("PauseTime", "PT0S")))

    def step() -> None:
        if group.name not in group.autoscaling_backend.autoscaling_groups:
            operation.finish()
            return
        outdated = _outdated(group)
        if not outdated:
            operation.finish()
            return
        take = outdated[:batch]
        if len(group.active_instances()) - len(take) >= minimum:
            terminate_instances(group, take)
            launched = launch_instances(group, len(take), group.get_propagated_tags())
        else:
            launched = launch_instances(group, len(take), group.get_propagated_tags())
            terminate_instances(group, take)
        if launched < len(take):
            operation.finish(f"Group {group.name} failed to launch replacement instances")
            return
        # CloudFormation waits for the batch's terminations (lifecycle hooks included).
        asg_lifecycle.when_gone(take, pause_then_step)

    def pause_then_step() -> None:
        state.call_later(pause, step)

    state.call_later(0, step)


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


def update_in_place(group: Any, cloudformation_json: dict[str, Any]) -> Any:
    """CloudFormation's update of an ASG: in place, honouring its UpdatePolicy."""
    state = active()
    props = cloudformation_json["Properties"]
    policy = cloudformation_json.get("UpdatePolicy") or {}
    previous: Any = {}
    if state is not None:
        previous = state.previous_resources.get(getattr(group, "logical_resource_id", ""), {})
    scheduled = policy.get("AutoScalingScheduledAction") or {}
    ignore_sizes = _truthy(scheduled.get("IgnoreUnmodifiedGroupSizeProperties", False))
    before = launch_spec(group)
    vpc = ",".join(props.get("VPCZoneIdentifier", [])) or None
    moved = vpc is not None and vpc != group.vpc_zone_identifier
    if moved:
        group._set_azs_and_vpcs(props.get("AvailabilityZones", []), vpc, update=True)
    if props.get("LaunchConfigurationName"):
        group.ec2_launch_template = None
        group._set_launch_configuration(props["LaunchConfigurationName"], {}, None)
    elif props.get("LaunchTemplate"):
        # Moving to a launch template: the group reports only the template from now on;
        # its running instances keep their launch configuration.
        group.launch_config = None
        group.launch_configuration_name = None
        group._set_launch_configuration(None, props["LaunchTemplate"], None)
    sizes = {}
    for key in ("MinSize", "MaxSize", "DesiredCapacity"):
        if props.get(key) is None:
            continue
        if ignore_sizes and previous.get(key) == props[key]:
            continue  # a scheduled action owns the live size
        sizes[key] = int(props[key])
    group.min_size = sizes.get("MinSize", group.min_size)
    group.max_size = sizes.get("MaxSize", group.max_size)
    desired = sizes.get("DesiredCapacity", group.desired_capacity)
    desired = min(max(desired, group.min_size or 0), group.max_size or desired)
    if desired != group.desired_capacity:
        group.set_desired_capacity(desired)
    rolling = policy.get("AutoScalingRollingUpdate")
    if state is not None and rolling is not None and (moved or launch_spec(group) != before):
        start_rolling_update(state, group, rolling, state.begin(f"rolling update {group.name}"))
    return group
