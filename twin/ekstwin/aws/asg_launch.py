"""What an Auto Scaling group launches instances from, and what each instance reports.

AWS: an instance keeps reporting the launch configuration, or launch template version, it
was launched from after its group has moved on, even once that configuration is deleted
(moto reports the group's current one, and a template's default version). A launch
template may put the security groups and the public-address choice on its primary network
interface (moto reads neither there); it may not then name instance-level security groups
too: EC2 refuses such a launch, as it refuses an image or instance type that does not exist
(moto launches those). An instance carries its launch source's IAM instance profile
(moto's group launches drop it).
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import ServiceException
from moto.ec2.models.instance_types import INSTANCE_TYPES

LAUNCH_CONFIGURATION = "launch-configuration"
INTERFACE_AND_GROUPS = (
    "Network interfaces and an instance-level security groups may not be specified on the "
    "same request."
)


def launch_spec(group: Any) -> tuple[str, str]:
    """What a new instance of ``group`` would be launched from right now: (launch template
    ID, version number), or (``launch-configuration``, its name)."""
    if group.ec2_launch_template is not None:
        version = group.ec2_launch_template.get_version(group.launch_template_version)
        return (group.ec2_launch_template.id, str(version.number))
    return (LAUNCH_CONFIGURATION, str(group.launch_configuration_name))


def launched_from(member: Any) -> tuple[str, str] | None:
    """The :func:`launch_spec` a group member was launched with (None if the twin did not
    launch it)."""
    spec: tuple[str, str] | None = member.instance.__dict__.get("twin_launch_spec")
    return spec


def member_launch_configuration(member: Any) -> str | None:
    """DescribeAutoScalingInstances' LaunchConfigurationName of a member."""
    kind, name = launched_from(member) or ("", "")
    return name if kind == LAUNCH_CONFIGURATION else None


def member_launch_template(member: Any) -> dict[str, Any] | None:
    """DescribeAutoScalingInstances' LaunchTemplate of a member."""
    kind, version = launched_from(member) or (LAUNCH_CONFIGURATION, "")
    if kind == LAUNCH_CONFIGURATION:
        return None
    template = member.auto_scaling_group.ec2_backend.launch_templates.get(kind)
    return {
        "LaunchTemplateId": kind,
        "LaunchTemplateName": template.name if template is not None else None,
        "Version": version,
    }


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


def run_arguments(group: Any) -> tuple[dict[str, Any], str | None]:
    """Keyword arguments of moto's RunInstances for one launch into ``group`` (besides
    image, user data, type, tags and subnet), and the reason EC2 refuses it, if it does."""
    kwargs: dict[str, Any] = {"launch_config": group.launch_config, "launch_template": None}
    kwargs["associate_public_ip"] = None  # the subnet's MapPublicIpOnLaunch
    if group.ec2_launch_template is not None:
        kwargs["launch_template"] = {
            "LaunchTemplateId": group.ec2_launch_template.id,
            "Version": launch_spec(group)[1],
        }
        data = group.ec2_launch_template.get_version(group.launch_template_version).data
        interfaces = data.get("NetworkInterfaces") or []
        primary: dict[str, Any] = next(
            (n for n in interfaces if int(n.get("DeviceIndex", 0)) == 0), {}
        )
        if interfaces and (data.get("SecurityGroupIds") or data.get("SecurityGroups")):
            return kwargs, INTERFACE_AND_GROUPS
        if primary.get("Groups"):
            kwargs["security_group_ids"] = list(primary["Groups"])
        if primary.get("AssociatePublicIpAddress") is not None:
            kwargs["associate_public_ip"] = _truthy(primary["AssociatePublicIpAddress"])
    elif group.launch_config is not None:
        kwargs["associate_public_ip"] = group.launch_config.associate_public_ip_address
        kwargs["key_name"] = group.launch_config.key_name
    return kwargs, _refused_image_or_type(group)


def _refused_image_or_type(group: Any) -> str | None:
    """EC2's refusal of the group's image or instance type, if it refuses them."""
    image, kind = group.image_id, group.instance_type
    if image and image not in group.autoscaling_backend.ec2_backend.amis:
        return f"The image id '[{image}]' does not exist."
    if kind and kind not in INSTANCE_TYPES:
        return f"The instance type '{kind}' does not exist."
    return None


def give_profile(group: Any, instance: Any) -> None:
    """Associate the IAM instance profile of the group's launch source with ``instance``
    (one moto's IAM does not know is left out)."""
    if group.ec2_launch_template is not None:
        data = group.ec2_launch_template.get_version(group.launch_template_version).data
        named = data.get("IamInstanceProfile") or {}
        name, arn = named.get("Name"), named.get("Arn")
    else:
        value = str(getattr(group.launch_config, "iam_instance_profile", None) or "")
        name, arn = (None, value) if value.startswith("arn:") else (value or None, None)
    if not (name or arn):
        return
    try:
        group.autoscaling_backend.ec2_backend.associate_iam_instance_profile(
            instance.id, iam_instance_profile_name=name, iam_instance_profile_arn=arn
        )
    except ServiceException:
        return
