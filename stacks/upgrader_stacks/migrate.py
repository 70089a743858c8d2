"""Migrate a self-managed node-group stack from a launch configuration to a launch template.

AWS no longer lets new accounts create launch configurations, so a node-group stack made
from AWS's 2019 template cannot take a new AMI with a parameter change alone. The
migrated template keeps every parameter, condition, output and every other resource as
it is; only:

- each launch configuration an Auto Scaling group launches from is replaced, at the same
  place, by an ``AWS::EC2::LaunchTemplate`` (``NodeLaunchConfig`` -> ``NodeLaunchTemplate``:
  CloudFormation refuses to change the type of a logical id) with the same image,
  instance type, key pair, user data (verbatim), instance profile (``Arn: GetAtt
  profile.Arn``), security groups (``SecurityGroupIds``, or a ``NetworkInterfaces`` entry
  when ``AssociatePublicIpAddress`` is set) and block devices;
- the group launches from ``LaunchTemplate: {LaunchTemplateId: Ref, Version: GetAtt
  LatestVersionNumber}``, loses ``AutoScalingRollingUpdate`` / ``AutoScalingReplacingUpdate``
  (CloudFormation would replace its nodes undrained; upgrader rolls them itself) and gains
  ``AutoScalingScheduledAction: {IgnoreUnmodifiedGroupSizeProperties: true}``.

The new resources are built with troposphere (property names and shapes checked); the
user's values inside them, and everything else, are carried verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from troposphere import AWSHelperFn, GetAtt, Ref, autoscaling, ec2
from troposphere.policies import AutoScalingScheduledAction, UpdatePolicy

from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import dump_template
from upgrader.planner.templates import (
    LAUNCH_CONFIGURATION_TYPE,
    REPLACING,
    ROLLING,
    SCHEDULED,
    StackAdoption,
    analyse,
    load,
    read,
)

INSTANCE_PROFILE_TYPE = "AWS::IAM::InstanceProfile"
# Launch-configuration properties carried into LaunchTemplateData under the same name.
SAME_NAME = ("ImageId", "InstanceType", "KeyName", "UserData", "EbsOptimized", "KernelId",
             "RamDiskId")  # fmt: skip
HANDLED = frozenset(
    {*SAME_NAME, "AssociatePublicIpAddress", "BlockDeviceMappings", "IamInstanceProfile",
     "InstanceMonitoring", "LaunchConfigurationName", "MetadataOptions", "PlacementTenancy",
     "SecurityGroups", "SpotPrice"}
)  # fmt: skip
ATTRIBUTES = ("Condition", "DeletionPolicy", "DependsOn", "Metadata", "UpdateReplacePolicy")


class _Verbatim(AWSHelperFn):  # type: ignore[misc]  # troposphere is untyped
    """A user's value (literal or intrinsic function), rendered exactly as given."""

    def __init__(self, data: Any) -> None:
        self.data = data


def _names(node: Any) -> set[str]:
    """Logical ids ``node`` refers to (Ref, GetAtt, Sub ``${X}``, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(str(value[0] if isinstance(value, list) else value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {p.split("}")[0].split(".")[0] for p in str(text).split("${")[1:]}
                found |= _names(value)
            elif key == "DependsOn":
                found |= {value} if isinstance(value, str) else set(value)
            else:
                found |= _names(value)
    elif isinstance(node, list):
        for item in node:
            found |= _names(item)
    return found


def template_id(lc: str, taken: set[str]) -> str:
    """The launch template's logical id: ``...LaunchConfig(uration)`` -> ``...LaunchTemplate``,
    else ``<lc>LaunchTemplate``; a digit is added while the name is taken."""
    stem = lc
    for suffix in ("LaunchConfiguration", "LaunchConfig"):
        if lc.endswith(suffix):
            stem = lc.removesuffix(suffix)
            break
    base = f"{stem}LaunchTemplate"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _ordered(built: Mapping[str, Any], like: Mapping[str, Any]) -> dict[str, Any]:
    """``built``'s keys in ``like``'s order (``Type`` first), new keys last."""
    keys = ["Type", *(k for k in like if k != "Type"), *(k for k in built if k not in like)]
    return {k: built[k] for k in keys if k in built}


class _Migration:
    """One stack's migration; every refusal names the stack, the resource and the fix."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.template = load(stack.template_body, f"template of stack {stack.name}")
        self.resources: Mapping[str, Any] = self.template["Resources"]
        self.parameters = dict(stack.parameters)

    def refuse(self, resource: str, problem: str, fix: str) -> BadInputError:
        return BadInputError(
            f"stack {self.stack.name}",
            f"cannot migrate {resource} to a launch template: {problem}",
            fix,
        )

    def instance_profile(self, lc: str, value: Any) -> ec2.IamInstanceProfile:
        ref = value.get("Ref") if isinstance(value, Mapping) and set(value) == {"Ref"} else None
        name = ref if isinstance(ref, str) else None
        target = self.resources.get(name) if name else None
        if isinstance(target, Mapping) and target.get("Type") == INSTANCE_PROFILE_TYPE:
            return ec2.IamInstanceProfile(Arn=GetAtt(name, "Arn"))
        if isinstance(value, str):
            arn = value.startswith("arn:")
            return ec2.IamInstanceProfile(**{"Arn" if arn else "Name": _Verbatim(value)})
        if name is not None and name in self.parameters:
            arn = self.parameters[name].startswith("arn:")
            return ec2.IamInstanceProfile(**{"Arn" if arn else "Name": _Verbatim(value)})
        raise self.refuse(
            lc,
            f"IamInstanceProfile {value!r} is neither a profile of this template, a name, an "
            "ARN nor a parameter holding one",
            "make IamInstanceProfile a Ref to the stack's AWS::IAM::InstanceProfile or to a "
            "parameter, then plan again",
        )

    def block_devices(self, value: Any) -> Any:
        if not isinstance(value, list):
            return _Verbatim(value)
        mappings = []
        for raw in value:
            if not isinstance(raw, Mapping) or "NoDevice" in raw:
                return _Verbatim(value)  # intrinsics or NoDevice: carried as given
            ebs = raw.get("Ebs")
            extra = {}
            if isinstance(ebs, Mapping):
                extra["Ebs"] = ec2.EBSBlockDevice(**{k: _Verbatim(v) for k, v in ebs.items()})
            elif ebs is not None:
                extra["Ebs"] = _Verbatim(ebs)
            rest = {k: _Verbatim(v) for k, v in raw.items() if k != "Ebs"}
            mappings.append(ec2.LaunchTemplateBlockDeviceMapping(**rest, **extra))
        return mappings

    def launch_template_data(self, lc: str, props: Mapping[str, Any]) -> ec2.LaunchTemplateData:
        unknown = sorted(set(props) - HANDLED)
        if unknown:
            raise self.refuse(
                lc,
                f"{', '.join(unknown)} has no launch-template equivalent upgrader knows",
                f"remove {', '.join(unknown)} from {lc}, or migrate the stack by hand, then "
                "plan again",
            )
        data: dict[str, Any] = {k: _Verbatim(props[k]) for k in SAME_NAME if k in props}
        if "IamInstanceProfile" in props:
            data["IamInstanceProfile"] = self.instance_profile(lc, props["IamInstanceProfile"])
        if "BlockDeviceMappings" in props:
            data["BlockDeviceMappings"] = self.block_devices(props["BlockDeviceMappings"])
        if "InstanceMonitoring" in props:
            data["Monitoring"] = ec2.Monitoring(Enabled=_Verbatim(props["InstanceMonitoring"]))
        if "MetadataOptions" in props:
            options = props["MetadataOptions"]
            data["MetadataOptions"] = (
                ec2.MetadataOptions(**{k: _Verbatim(v) for k, v in options.items()})
                if isinstance(options, Mapping)
                else _Verbatim(options)
            )
        if "PlacementTenancy" in props:
            data["Placement"] = ec2.Placement(Tenancy=_Verbatim(props["PlacementTenancy"]))
        if "SpotPrice" in props:
            data["InstanceMarketOptions"] = ec2.InstanceMarketOptions(
                MarketType="spot",
                SpotOptions=ec2.SpotOptions(MaxPrice=_Verbatim(props["SpotPrice"])),
            )
        groups = props.get("SecurityGroups")
        if "AssociatePublicIpAddress" in props:
            interface: dict[str, Any] = {
                "AssociatePublicIpAddress": _Verbatim(props["AssociatePublicIpAddress"]),
                "DeviceIndex": 0,
                "DeleteOnTermination": True,
            }
            if groups is not None:
                interface["Groups"] = _Verbatim(groups)
            data["NetworkInterfaces"] = [ec2.NetworkInterfaces(**interface)]
        elif groups is not None:
            data["SecurityGroupIds"] = _Verbatim(groups)
        return ec2.LaunchTemplateData(**data)

    def launch_template(self, lc: str, lt: str) -> dict[str, Any]:
        resource = self.resources[lc]
        props = resource.get("Properties") or {}
        extra: dict[str, Any] = {}
        if "LaunchConfigurationName" in props:
            extra["LaunchTemplateName"] = _Verbatim(props["LaunchConfigurationName"])
        attributes = {k: resource[k] for k in ATTRIBUTES if k in resource}
        built = ec2.LaunchTemplate(
            lt, LaunchTemplateData=self.launch_template_data(lc, props), **extra, **attributes
        )
        return _ordered(built.to_dict(), resource)

    def group(self, name: str, lt: str) -> dict[str, Any]:
        resource = self.resources[name]
        spec = autoscaling.LaunchTemplateSpecification(
            LaunchTemplateId=Ref(lt), Version=GetAtt(lt, "LatestVersionNumber")
        )
        props = {
            ("LaunchTemplate" if k == "LaunchConfigurationName" else k): (
                spec if k == "LaunchConfigurationName" else _Verbatim(v)
            )
            for k, v in (resource.get("Properties") or {}).items()
        }
        kept = {
            k: v
            for k, v in (resource.get("UpdatePolicy") or {}).items()
            if k not in (ROLLING, REPLACING, SCHEDULED)
        }
        policy = UpdatePolicy(
            **kept,
            AutoScalingScheduledAction=AutoScalingScheduledAction(
                IgnoreUnmodifiedGroupSizeProperties=True
            ),
        )
        attributes = {k: resource[k] for k in (*ATTRIBUTES, "CreationPolicy") if k in resource}
        built = autoscaling.AutoScalingGroup(name, **props, UpdatePolicy=policy, **attributes)
        return _ordered(built.to_dict(), resource)

    def launch_configurations(self, adoption: StackAdoption) -> dict[str, tuple[str, ...]]:
        """Each launch configuration to replace, with the groups launching from it; refused
        when one is not in the template or something else refers to it."""
        users: dict[str, tuple[str, ...]] = {}
        for group in adoption.on_launch_configuration:
            lc = group.launch_resource
            target = self.resources.get(lc) if lc else None
            if (
                lc is None
                or not isinstance(target, Mapping)
                or (target.get("Type") != LAUNCH_CONFIGURATION_TYPE)
            ):
                raise self.refuse(
                    group.resource,
                    "its LaunchConfigurationName is not a Ref to a launch configuration of "
                    "this template",
                    "define the launch configuration in the same stack, or move the group "
                    "to a launch template by hand, then plan again",
                )
            users[lc] = (*users.get(lc, ()), group.resource)
        for lc, groups in users.items():
            others = sorted(
                name
                for name, resource in self.resources.items()
                if name not in groups and lc in _names(resource)
            ) + sorted(f"output {name}" for name, out in self._outputs() if lc in _names(out))
            if others:
                raise self.refuse(
                    lc,
                    f"{', '.join(others)} refer(s) to it, and it goes away",
                    f"remove those references to {lc}, then plan again",
                )
        return users

    def _outputs(self) -> list[tuple[str, Any]]:
        outputs = self.template.get("Outputs") or {}
        return list(outputs.items()) if isinstance(outputs, Mapping) else []

    def render(self, adoption: StackAdoption) -> str:
        taken = set(self.resources) | set(self.template.get("Parameters") or {})
        replaced: dict[str, tuple[str, dict[str, Any]]] = {}
        for lc, groups in self.launch_configurations(adoption).items():
            lt = template_id(lc, taken)
            taken.add(lt)
            try:
                replaced[lc] = (lt, self.launch_template(lc, lt))
                for name in groups:
                    replaced[name] = (name, self.group(name, lt))
            except (TypeError, ValueError, AttributeError) as err:  # troposphere's checks
                raise self.refuse(
                    lc, str(err), "fix the resource in the template, then plan again"
                ) from None
        resources: dict[str, Any] = dict(replaced.get(k, (k, v)) for k, v in self.resources.items())
        return dump_template(
            {k: resources if k == "Resources" else v for k, v in self.template.items()}
        )


def needs_migration(stack: Stack) -> bool:
    """Whether an Auto Scaling group of ``stack`` launches from a launch configuration."""
    return bool(read(stack).on_launch_configuration)


def migrate(stack: Stack) -> str:
    """The stack's template moved to launch templates, as CloudFormation YAML; the same
    text for the same stack. Raises BadInputError when a launch configuration cannot be
    carried over (the message names the property)."""
    migration = _Migration(stack)
    adoption = analyse(migration.template)
    if not adoption.on_launch_configuration:
        raise BadInputError(
            f"stack {stack.name}",
            "launches from no launch configuration, so there is nothing to migrate",
            "render it with its stacks/ builder instead",
        )
    return migration.render(adoption)


def migrations(stacks: Iterable[Stack]) -> dict[str, str]:
    """The migrated template of every stack in ``stacks`` that needs one, by stack name
    (what :func:`upgrader.planner.make_plan` takes as ``templates``)."""
    return {stack.name: migrate(stack) for stack in stacks if needs_migration(stack)}
