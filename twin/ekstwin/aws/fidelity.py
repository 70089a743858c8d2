"""moto patches where upgrade tools read EC2, Auto Scaling and SSM as AWS answers them.

Each says what AWS does; installed by :func:`ekstwin.aws.patches.install`, after (so on top
of) the patches there. Without a running twin they fall back to moto's behaviour.

* CreateLaunchTemplateVersion inherits from ``SourceVersion`` (:mod:`launch_sources`).
* Create/UpdateAutoScalingGroup refuse a launch template (version) that does not exist with
  a ValidationError, and a group has one launch source (:mod:`launch_sources`).
* UpdateAutoScalingGroup takes ``TerminationPolicies``; scale-ins follow them and the zone
  balance (:mod:`scale_in`).
* CreateLaunchConfiguration with ``InstanceId`` derives from the instance.
* TerminateInstances: ``shutting-down`` for a while, then ``terminated``.
* CreateNodegroup without a version takes the cluster's (moto: a fixed one).
* Public SSM parameters' ARNs have no account (:mod:`ssm_public`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.ec2.models.instances import Instance
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.eks.models import EKSBackend
from moto.ssm import models as ssm_models
from moto.ssm import utils as ssm_utils

from ekstwin.aws import eks_resources, launch_sources, scale_in, ssm_public
from ekstwin.aws.state import active
from upgrader.catalog import timing

# AWS: an instance stays shutting-down for a short while (typically under a minute)
SHUTTING_DOWN_SECONDS = timing.SHUTTING_DOWN_SECONDS
_ACTIVE_STATES = ("pending", "running", "stopping", "stopped")


def _wrap(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(owner, name)
    setattr(owner, name, functools.wraps(original)(make(original)))


def install() -> None:
    _launch_templates()
    _groups()
    _launch_configurations()
    _termination()
    _nodegroups()
    # moto's Parameter builds its ARN with the name models.py imported from ssm.utils
    ssm_models.parameter_arn = ssm_public.public_arn(ssm_utils.parameter_arn)  # type: ignore[attr-defined]


def _launch_templates() -> None:
    def create_version(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> ActionResult:
            if active() is None:
                return original(self)  # type: ignore[no-any-return]
            template, data = launch_sources.new_version_data(self.ec2_backend, self)
            self.error_on_dryrun()
            version = template.create_version(data, self._get_param("VersionDescription"))
            return ActionResult(
                {
                    "LaunchTemplateVersion": {
                        "CreateTime": version.create_time,
                        "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
                        "DefaultVersion": template.is_default(version),
                        "LaunchTemplateData": version.data,
                        "LaunchTemplateId": template.id,
                        "LaunchTemplateName": template.name,
                        "VersionDescription": version.description,
                        "VersionNumber": version.number,
                    }
                }
            )

        return patched

    _wrap(LaunchTemplates, "create_launch_template_version", create_version)


def _groups() -> None:
    def create(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, *args: Any, **kw: Any) -> Any:
            if active() is not None:
                launch_sources.check_template(self.ec2_backend, kw.get("launch_template"))
                launch_sources.check_launch_configuration(self, kw.get("launch_config_name"))
                scale_in.check_policies(list(kw.get("termination_policies") or []))
            return original(self, *args, **kw)

        return patched

    _wrap(AutoScalingBackend, "create_auto_scaling_group", create)

    # AWS: one launch source per group; a switch drops the other one before anything is
    # launched (moto kept the template next to a new launch configuration, and an update
    # naming a missing version broke every later launch of the group).
    def update(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, name: str, *args: Any, **kw: Any) -> Any:
            group = self.autoscaling_groups.get(name)
            if active() is None or group is None:
                return original(self, name, *args, **kw)
            template, config = kw.get("launch_template"), kw.get("launch_config_name")
            launch_sources.check_template(self.ec2_backend, template)
            launch_sources.check_launch_configuration(self, config)
            policy = group.mixed_instances_policy
            if config and not template:
                group.ec2_launch_template = None
                group.launch_template_version = None
                group.provided_launch_template_version = None
                policy = None
            elif template:
                group.launch_config = None
                group.launch_configuration_name = None
            if kw.get("mixed_instances_policy") is None:
                kw["mixed_instances_policy"] = policy  # moto drops it on every update
            return original(self, name, *args, **kw)

        return patched

    _wrap(AutoScalingBackend, "update_auto_scaling_group", update)

    def update_request(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> ActionResult:
            policies = self._get_param("TerminationPolicies")
            group = self.autoscaling_backend.autoscaling_groups.get(
                self._get_param("AutoScalingGroupName")
            )
            if active() is not None and policies and group is not None:
                scale_in.check_policies(list(policies))
                group.termination_policies = list(policies)
            return original(self)  # type: ignore[no-any-return]

        return patched

    _wrap(AutoScalingResponse, "update_auto_scaling_group", update_request)

    # AWS: scale-in picks by zone balance and TerminationPolicies (see scale_in); the
    # inner set_desired_capacity takes the first unprotected members, so they go first.
    def set_desired(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, new_capacity: int | None) -> None:
            ordered = scale_in.ordered_for_scale_in(self, new_capacity) if active() else None
            if ordered is None:
                original(self, new_capacity)
                return
            before = {id(m): i for i, m in enumerate(self.instance_states)}
            self.instance_states[:] = ordered
            try:
                original(self, new_capacity)
            finally:
                self.instance_states.sort(key=lambda m: before.get(id(m), len(before)))

        return patched

    _wrap(FakeAutoScalingGroup, "set_desired_capacity", set_desired)


def _launch_configurations() -> None:
    def create(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, *args: Any, **kw: Any) -> Any:
            instance_id = kw.get("instance_id")
            if active() is not None and instance_id:
                kw = launch_sources.from_instance(self.ec2_backend, instance_id, kw)
            return original(self, *args, **kw)

        return patched

    _wrap(AutoScalingBackend, "create_launch_configuration", create)


def _termination() -> None:
    # AWS: TerminateInstances answers shutting-down; the instance keeps its addresses and
    # shows shutting-down in DescribeInstances until it is terminated a little later
    # (moto: terminated at once).
    def terminate(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> Any:
            state = active()
            if state is None:
                return original(self)
            if self.state in {"shutting-down", "terminated"}:
                return copy.copy(self._state)
            if self.state not in _ACTIVE_STATES:
                return original(self)
            previous = copy.copy(self._state)
            self._state.name = "shutting-down"
            self._state.code = 32

            def finish() -> None:
                if self.state == "shutting-down":
                    self._state.name = "running"  # what moto's terminate expects
                    original(self)

            state.call_later(SHUTTING_DOWN_SECONDS, finish)
            return previous

        return patched

    _wrap(Instance, "terminate", terminate)


def _nodegroups() -> None:
    # AWS: a node group created without a version gets its cluster's Kubernetes version
    # (and that version's latest release); moto gives a fixed one.
    def create(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, *args: Any, **kw: Any) -> Any:
            cluster = self.clusters.get(kw.get("cluster_name"))
            if active() is not None and cluster is not None and not kw.get("version"):
                kw["version"] = cluster.version
                if not kw.get("release_version"):
                    kw["release_version"] = eks_resources.default_release(cluster.version)
            return original(self, *args, **kw)

        return patched

    _wrap(EKSBackend, "create_nodegroup", create)
