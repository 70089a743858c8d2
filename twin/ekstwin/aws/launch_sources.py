"""Launch templates and launch configurations where AWS checks them.

AWS: CreateLaunchTemplateVersion with ``SourceVersion`` starts from all of that version's
LaunchTemplateData and overrides the top-level fields given (moto keeps only the fields
given). CreateAutoScalingGroup/UpdateAutoScalingGroup refuse a launch template that does
not exist, or a version it does not have, with a ValidationError (moto: EC2's error codes,
and an update stores the bad version, after which every launch fails with HTTP 500). A
group has one launch source: switching to a launch configuration drops its template and
the other way round. CreateLaunchConfiguration with ``InstanceId`` derives the AMI,
instance type, key pair, security groups, IAM instance profile, monitoring and EBS
optimisation from the instance, each overridable by the request; block device mappings
are not derived (AWS: "except for the block device mapping": the AMI's apply).
"""

from __future__ import annotations

import copy
from typing import Any

from moto.autoscaling.exceptions import ValidationError
from moto.ec2.exceptions import (
    InvalidLaunchTemplateNameNotFoundWithNameError,
    InvalidLaunchTemplateVersionNotFound,
    MissingParameterError,
)

FULLY_FORMED = "You must use a valid fully-formed launch template."


def resolve_version(template: Any, version: str | None) -> Any | None:
    """The template's version ``version`` ($Latest, $Default, a number; None = $Default)."""
    wanted = str(version or "$Default")
    if wanted == "$Latest":
        return template.versions[-1] if template.versions else None
    if wanted == "$Default":
        wanted = str(template.default_version_number)
    return next((v for v in template.versions if str(v.number) == wanted), None)


def check_template(ec2: Any, spec: dict[str, Any] | None) -> None:
    """AWS's ValidationError for a LaunchTemplate specification that names no usable
    template version; nothing for None or an empty specification."""
    if not spec:
        return
    template_id, name = spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName")
    if bool(template_id) == bool(name):
        raise ValidationError(
            "Valid requests must contain either launchTemplateId or LaunchTemplateName"
        )
    if template_id:
        template = ec2.launch_templates.get(template_id)
        missing = f"The specified launch template, with template ID {template_id}, does not exist."
    else:
        template = next((t for t in ec2.launch_templates.values() if t.name == name), None)
        missing = f"The specified launch template, with template name {name}, does not exist."
    if template is None:
        raise ValidationError(f"{FULLY_FORMED} {missing}")
    version = spec.get("Version")
    if resolve_version(template, version) is None:
        raise ValidationError(
            f"{FULLY_FORMED} Could not find the specified version {version} for the launch "
            f"template with ID {template.id}."
        )


def check_launch_configuration(backend: Any, name: str | None) -> None:
    if name and name not in backend.launch_configurations:
        raise ValidationError(f"Launch configuration name not found - {name}")


def new_version_data(ec2: Any, request: Any) -> tuple[Any, dict[str, Any]]:
    """The template and the LaunchTemplateData of the version CreateLaunchTemplateVersion
    creates (``request`` is moto's EC2 response object)."""
    name = request._get_param("LaunchTemplateName")
    template_id = request._get_param("LaunchTemplateId")
    if template_id:
        template = ec2.get_launch_template(template_id)
    elif name:
        template = ec2.launch_templates.get(ec2.launch_template_name_to_ids.get(name, [""])[0])
        if template is None:
            raise InvalidLaunchTemplateNameNotFoundWithNameError(name)
    else:
        raise MissingParameterError("launch template ID or launch template name")
    given: dict[str, Any] = request._get_param("LaunchTemplateData", {}) or {}
    source = request._get_param("SourceVersion")
    if source is None:
        return template, given
    found = resolve_version(template, str(source))
    if found is None:
        raise InvalidLaunchTemplateVersionNotFound(str(source), template.id)
    data = copy.deepcopy(found.data)
    data.update(given)
    return template, data


def from_instance(ec2: Any, instance_id: str, given: dict[str, Any]) -> dict[str, Any]:
    """CreateLaunchConfiguration keyword arguments with the instance's attributes filling
    in what ``given`` leaves out."""
    try:
        instance = ec2.get_instance(instance_id)
    except Exception:
        raise ValidationError(f"Invalid instance id: {instance_id}") from None
    profile = instance.iam_instance_profile
    if isinstance(profile, dict):
        profile = profile.get("Arn") or profile.get("Name")
    derived: dict[str, Any] = {
        "image_id": instance.image_id,
        "instance_type": instance.instance_type,
        "key_name": instance.key_name,
        "security_groups": [g.id for g in instance.security_groups],
        "instance_profile_name": profile or None,
        "user_data": instance.user_data,
        "instance_monitoring": instance.monitoring_state == "enabled",
        "ebs_optimized": bool(instance.ebs_optimized),
    }
    merged = dict(given)
    for key, value in derived.items():
        if merged.get(key) in (None, [], "", False):
            merged[key] = value
    return merged
