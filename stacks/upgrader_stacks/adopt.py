"""Read a stack template the user already has and say how the upgrader can update it in place.

The user's template is never replaced: the upgrader changes parameter values (Kubernetes
version, node AMI) through change sets. This module finds which parameters carry those
values, how the Auto Scaling group launches instances, and what CloudFormation's own
UpdatePolicy would do to running nodes during such an update.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from upgrader.catalog.versions import catalog
from upgrader.errors import BadInputError
from upgrader_stacks.cfn_yaml import load_template

SSM_IMAGE_TYPE = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
LAUNCH_CONFIGURATION = "launch-configuration"
LAUNCH_TEMPLATE = "launch-template"


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionSource:
    """Where an EKS cluster's or managed node group's Kubernetes version comes from."""

    resource: str
    resource_type: str
    parameter: str | None
    default: str | None
    allowed_values: tuple[str, ...]
    literals: tuple[str, ...]

    def accepts(self, version: str) -> bool:
        """Whether a parameter-only update can set ``version`` (no template change needed)."""
        return self.parameter is not None and (
            not self.allowed_values or version in self.allowed_values
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePolicySummary:
    """What CloudFormation itself does to the group's instances during a stack update."""

    rolling_update: bool
    max_batch_size: str | None
    min_instances_in_service: str | None
    pause_time: str | None
    replacing_update: bool
    ignore_unmodified_group_sizes: bool
    consequence: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfManagedGroup:
    """A self-managed node group's Auto Scaling group and where its AMI comes from."""

    resource: str
    launch: str
    launch_resource: str | None
    launch_template_version: str | None
    image_id_parameter: str | None
    image_ssm_parameter: str | None
    image_ssm_default: str | None
    image_literals: tuple[str, ...]
    min_size: str | None
    max_size: str | None
    desired_capacity: str | None
    update_policy: UpdatePolicySummary


@dataclass(frozen=True, slots=True, kw_only=True)
class StackAdoption:
    """How to update one existing stack without replacing the user's template."""

    description: str
    clusters: tuple[VersionSource, ...]
    managed_nodegroups: tuple[VersionSource, ...]
    self_managed_groups: tuple[SelfManagedGroup, ...]
    warnings: tuple[str, ...]


def _text(value: Any) -> str:
    """A template value as short readable text (``Ref X``, ``GetAtt R.A``, literal)."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"Ref {arg}"
        if key == "Fn::GetAtt":
            return "GetAtt " + (".".join(map(str, arg)) if isinstance(arg, list) else str(arg))
        return f"{key} {arg}"
    return str(value)


def _refs(expr: Any) -> Iterator[str]:
    """Names referenced by ``expr`` through Ref, following both branches of Fn::If."""
    if isinstance(expr, Mapping):
        if isinstance(expr.get("Ref"), str):
            yield expr["Ref"]
        elif isinstance(expr.get("Fn::If"), list):
            for branch in expr["Fn::If"][1:]:
                yield from _refs(branch)


def _literals(expr: Any) -> Iterator[str]:
    if isinstance(expr, Mapping):
        if isinstance(expr.get("Fn::If"), list):
            for branch in expr["Fn::If"][1:]:
                yield from _literals(branch)
    elif isinstance(expr, str | int | float) and not isinstance(expr, bool):
        yield str(expr)


def _version_source(
    name: str, resource: Mapping[str, Any], parameters: Mapping[str, Any]
) -> VersionSource:
    expr = resource.get("Properties", {}).get("Version")
    refs = [ref for ref in _refs(expr) if ref in parameters]
    parameter = refs[0] if refs else None
    spec: Mapping[str, Any] = parameters.get(parameter, {}) if parameter else {}
    return VersionSource(
        resource=name,
        resource_type=str(resource["Type"]),
        parameter=parameter,
        default=str(spec["Default"]) if "Default" in spec else None,
        allowed_values=tuple(str(v) for v in spec.get("AllowedValues", ())),
        literals=tuple(_literals(expr)),
    )


def _update_policy(resource: Mapping[str, Any], launch: str) -> UpdatePolicySummary:
    policy = resource.get("UpdatePolicy", {}) or {}
    rolling = policy.get("AutoScalingRollingUpdate")
    replacing = policy.get("AutoScalingReplacingUpdate", {}) or {}
    scheduled = policy.get("AutoScalingScheduledAction", {}) or {}
    will_replace = str(replacing.get("WillReplace", "false")).lower() == "true"
    change = "launch configuration" if launch == LAUNCH_CONFIGURATION else "launch template"
    if rolling is not None:
        batch = _text(rolling.get("MaxBatchSize", "1"))
        keep = _text(rolling.get("MinInstancesInService", "0"))
        pause = _text(rolling.get("PauseTime", "PT0S"))
        consequence = (
            f"a new {change} makes CloudFormation replace the nodes itself, {batch} at a "
            f"time, keeping {keep} in service and pausing {pause} between batches, WITHOUT "
            "draining them: pods die with their node. Remove AutoScalingRollingUpdate (or "
            "let the upgrader roll the nodes first) before changing the AMI."
        )
    elif will_replace:
        consequence = (
            f"a new {change} makes CloudFormation create a whole new Auto Scaling group and "
            "delete the old one, WITHOUT draining its nodes"
        )
    else:
        consequence = (
            f"a new {change} only changes what future instances launch with; running nodes "
            "stay until the upgrader drains and replaces them"
        )
    return UpdatePolicySummary(
        rolling_update=rolling is not None,
        max_batch_size=_text(rolling["MaxBatchSize"])
        if rolling and "MaxBatchSize" in rolling
        else None,
        min_instances_in_service=_text(rolling["MinInstancesInService"])
        if rolling and "MinInstancesInService" in rolling
        else None,
        pause_time=_text(rolling["PauseTime"]) if rolling and "PauseTime" in rolling else None,
        replacing_update=will_replace,
        ignore_unmodified_group_sizes=str(
            scheduled.get("IgnoreUnmodifiedGroupSizeProperties", "false")
        ).lower()
        == "true",
        consequence=consequence,
    )


def _launch(properties: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """(kind, launch resource logical id, launch template version text)."""
    if "LaunchConfigurationName" in properties:
        refs = list(_refs(properties["LaunchConfigurationName"]))
        return LAUNCH_CONFIGURATION, refs[0] if refs else None, None
    spec = (
        properties.get("LaunchTemplate")
        or (
            properties.get("MixedInstancesPolicy", {})
            .get("LaunchTemplate", {})
            .get("LaunchTemplateSpecification")
        )
        or {}
    )
    target = spec.get("LaunchTemplateId", spec.get("LaunchTemplateName"))
    refs = list(_refs(target))
    version = _text(spec["Version"]) if "Version" in spec else None
    return LAUNCH_TEMPLATE, refs[0] if refs else None, version


def _image_expr(resources: Mapping[str, Any], launch: str, launch_resource: str | None) -> Any:
    if launch_resource is None or launch_resource not in resources:
        return None
    properties = resources[launch_resource].get("Properties", {})
    if launch == LAUNCH_CONFIGURATION:
        return properties.get("ImageId")
    return properties.get("LaunchTemplateData", {}).get("ImageId")


def _self_managed(
    name: str,
    resource: Mapping[str, Any],
    resources: Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> SelfManagedGroup:
    properties = resource.get("Properties", {})
    launch, launch_resource, version = _launch(properties)
    image = _image_expr(resources, launch, launch_resource)
    image_refs = [ref for ref in _refs(image) if ref in parameters]
    ssm = [ref for ref in image_refs if parameters[ref].get("Type") == SSM_IMAGE_TYPE]
    plain = [ref for ref in image_refs if ref not in ssm]

    def size(key: str) -> str | None:
        return _text(properties[key]) if key in properties else None

    return SelfManagedGroup(
        resource=name,
        launch=launch,
        launch_resource=launch_resource,
        launch_template_version=version,
        image_id_parameter=plain[0] if plain else None,
        image_ssm_parameter=ssm[0] if ssm else None,
        image_ssm_default=str(parameters[ssm[0]].get("Default")) if ssm else None,
        image_literals=tuple(_literals(image)),
        min_size=size("MinSize"),
        max_size=size("MaxSize"),
        desired_capacity=size("DesiredCapacity"),
        update_policy=_update_policy(resource, launch),
    )


def _group_warnings(group: SelfManagedGroup) -> Iterator[str]:
    if group.launch == LAUNCH_CONFIGURATION:
        yield (
            f"{group.resource} launches from a launch configuration: a new AMI makes "
            "CloudFormation create a new one, which AWS refuses in accounts created since "
            "2024-10-01 (launch configurations are disabled); migrate the group to a launch "
            "template"
        )
    if group.update_policy.rolling_update or group.update_policy.replacing_update:
        yield f"{group.resource}: {group.update_policy.consequence}"
    if group.image_id_parameter is None and group.image_ssm_parameter is None:
        yield (
            f"{group.resource}: the AMI is not a parameter "
            f"({', '.join(group.image_literals) or 'not found'}); changing it needs a "
            "template change"
        )
    version = group.launch_template_version
    if (
        group.launch == LAUNCH_TEMPLATE
        and version is not None
        and not ("LatestVersionNumber" in version or version == "$Latest")
    ):
        yield (
            f"{group.resource} pins launch template version {version}: a new AMI version "
            "would not reach the group"
        )


def _version_warnings(source: VersionSource) -> Iterator[str]:
    if source.parameter is None:
        yield (
            f"{source.resource}: Version is not a parameter "
            f"({', '.join(source.literals) or 'unset'}); upgrading needs a template change"
        )
        return
    if source.literals:
        yield (
            f"{source.resource}: Version falls back to the literal "
            f"{', '.join(source.literals)} unless {source.parameter} is set; the upgrader "
            f"passes an explicit {source.parameter}"
        )
    newest = catalog().newest_kubernetes().minor_str
    if source.allowed_values and newest not in source.allowed_values:
        yield (
            f"{source.resource}: {source.parameter} AllowedValues are "
            f"{', '.join(source.allowed_values)}; a version outside them needs a template "
            "change that extends AllowedValues"
        )


def adopt(template_body: str) -> StackAdoption:
    """Describe how to update the stack whose template is ``template_body`` (JSON or YAML,
    CloudFormation short tags such as !Ref allowed)."""
    try:
        template = load_template(template_body)
    except yaml.YAMLError as error:
        raise BadInputError(
            "stack template", f"is not valid YAML or JSON: {error}", "pass the stack's template"
        ) from error
    if not isinstance(template, Mapping) or not isinstance(template.get("Resources"), Mapping):
        raise BadInputError(
            "stack template", "has no Resources section", "pass a CloudFormation template"
        )
    parameters: Mapping[str, Any] = template.get("Parameters", {}) or {}
    resources: Mapping[str, Any] = template.get("Resources", {}) or {}
    clusters, managed, groups = [], [], []
    for name, resource in sorted(resources.items()):
        kind = resource.get("Type") if isinstance(resource, Mapping) else None
        if kind == "AWS::EKS::Cluster":
            clusters.append(_version_source(name, resource, parameters))
        elif kind == "AWS::EKS::Nodegroup":
            managed.append(_version_source(name, resource, parameters))
        elif kind == "AWS::AutoScaling::AutoScalingGroup":
            groups.append(_self_managed(name, resource, resources, parameters))
    warnings = [w for source in (*clusters, *managed) for w in _version_warnings(source)]
    warnings += [w for group in groups for w in _group_warnings(group)]
    return StackAdoption(
        description=str(template.get("Description", "")),
        clusters=tuple(clusters),
        managed_nodegroups=tuple(managed),
        self_managed_groups=tuple(groups),
        warnings=tuple(warnings),
    )
