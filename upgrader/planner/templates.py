"""The one reader of the user's stack templates: how upgrader can update a stack.

Finds which parameters carry the Kubernetes version and the node AMI, what each parameter
allows, how an Auto Scaling group launches instances (launch configuration or launch
template), and what CloudFormation's own UpdatePolicy would do to running nodes during a
stack update. Pure: a template body in, frozen records out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from upgrader.catalog.versions import catalog
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import load_template

SSM_IMAGE_TYPE = "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
LAUNCH_CONFIGURATION = "launch-configuration"
LAUNCH_TEMPLATE = "launch-template"
ASG_TYPE = "AWS::AutoScaling::AutoScalingGroup"
LAUNCH_CONFIGURATION_TYPE = "AWS::AutoScaling::LaunchConfiguration"
ROLLING = "AutoScalingRollingUpdate"
REPLACING = "AutoScalingReplacingUpdate"
SCHEDULED = "AutoScalingScheduledAction"


@dataclass(frozen=True, slots=True)
class Expr:
    """A template value as short text (``Ref X``, ``GetAtt R.A``, a literal) and the name
    it refers to when it is a ``Ref``."""

    text: str
    ref: str | None = None

    def shown(self, parameters: Mapping[str, str]) -> str:
        """The text, a ``Ref`` to a parameter shown as its value and name."""
        if self.ref is not None and self.ref in parameters:
            return f"{parameters[self.ref]} ({self.ref})"
        return self.text


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterSpec:
    """One declared template parameter."""

    name: str
    type: str
    default: str | None
    allowed_values: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionSource:
    """Where an EKS cluster's or managed node group's Kubernetes version comes from."""

    resource: str
    resource_type: str
    parameter: str | None  # the first Ref the template declares as a parameter
    refs: tuple[str, ...]  # every name the Version expression refers to
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
    max_batch_size: Expr | None
    min_instances_in_service: Expr | None
    pause_time: Expr | None
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
    """How to update one existing stack."""

    description: str
    parameters: tuple[ParameterSpec, ...]
    clusters: tuple[VersionSource, ...]
    managed_nodegroups: tuple[VersionSource, ...]
    self_managed_groups: tuple[SelfManagedGroup, ...]
    warnings: tuple[str, ...]

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def on_launch_configuration(self) -> tuple[SelfManagedGroup, ...]:
        """The groups that launch from a launch configuration: a new AMI needs the template
        migrated to a launch template (AWS no longer lets new accounts create them)."""
        return tuple(g for g in self.self_managed_groups if g.launch == LAUNCH_CONFIGURATION)


NO_TEMPLATE = StackAdoption(
    description="",
    parameters=(),
    clusters=(),
    managed_nodegroups=(),
    self_managed_groups=(),
    warnings=(),
)


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


def _expr(value: Any) -> Expr:
    ref = value.get("Ref") if isinstance(value, Mapping) and len(value) == 1 else None
    return Expr(_text(value), ref if isinstance(ref, str) else None)


def refs(expr: Any) -> Iterator[str]:
    """Names referenced by ``expr`` through Ref, following both branches of Fn::If."""
    if isinstance(expr, Mapping):
        if isinstance(expr.get("Ref"), str):
            yield expr["Ref"]
        elif isinstance(expr.get("Fn::If"), list):
            for branch in expr["Fn::If"][1:]:
                yield from refs(branch)


def _literals(expr: Any) -> Iterator[str]:
    if isinstance(expr, Mapping):
        if isinstance(expr.get("Fn::If"), list):
            for branch in expr["Fn::If"][1:]:
                yield from _literals(branch)
    elif isinstance(expr, str | int | float) and not isinstance(expr, bool):
        yield str(expr)


def _parameters(declared: Mapping[str, Any]) -> tuple[ParameterSpec, ...]:
    return tuple(
        ParameterSpec(
            name=str(name),
            type=str(spec.get("Type", "")),
            default=str(spec["Default"]) if "Default" in spec else None,
            allowed_values=tuple(str(v) for v in spec.get("AllowedValues") or ()),
        )
        for name, spec in declared.items()
        if isinstance(spec, Mapping)
    )


def _version_source(
    name: str, resource: Mapping[str, Any], parameters: Mapping[str, Any]
) -> VersionSource:
    expr = (resource.get("Properties") or {}).get("Version")
    names = tuple(refs(expr))
    declared = [ref for ref in names if ref in parameters]
    parameter = declared[0] if declared else None
    spec: Mapping[str, Any] = parameters.get(parameter, {}) if parameter else {}
    return VersionSource(
        resource=name,
        resource_type=str(resource["Type"]),
        parameter=parameter,
        refs=names,
        default=str(spec["Default"]) if "Default" in spec else None,
        allowed_values=tuple(str(v) for v in spec.get("AllowedValues", ())),
        literals=tuple(_literals(expr)),
    )


def _update_policy(resource: Mapping[str, Any], launch: str) -> UpdatePolicySummary:
    policy = resource.get("UpdatePolicy", {}) or {}
    rolling = policy.get(ROLLING)
    replacing = policy.get(REPLACING, {}) or {}
    scheduled = policy.get(SCHEDULED, {}) or {}
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

    def setting(key: str) -> Expr | None:
        return _expr(rolling[key]) if isinstance(rolling, Mapping) and key in rolling else None

    return UpdatePolicySummary(
        rolling_update=rolling is not None,
        max_batch_size=setting("MaxBatchSize"),
        min_instances_in_service=setting("MinInstancesInService"),
        pause_time=setting("PauseTime"),
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
        found = list(refs(properties["LaunchConfigurationName"]))
        return LAUNCH_CONFIGURATION, found[0] if found else None, None
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
    found = list(refs(target))
    version = _text(spec["Version"]) if "Version" in spec else None
    return LAUNCH_TEMPLATE, found[0] if found else None, version


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
    properties = resource.get("Properties", {}) or {}
    launch, launch_resource, version = _launch(properties)
    image = _image_expr(resources, launch, launch_resource)
    image_refs = [ref for ref in refs(image) if ref in parameters]
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


def load(template_body: str, subject: str = "stack template") -> Mapping[str, Any]:
    """The template as plain data; unreadable text or no Resources is bad input."""
    try:
        template = load_template(template_body)
    except yaml.YAMLError as error:
        raise BadInputError(
            subject,
            f"is not valid YAML or JSON: {error}",
            "pass the stack's template as CloudFormation returns it (GetTemplate)",
        ) from error
    if not isinstance(template, Mapping) or not isinstance(template.get("Resources"), Mapping):
        raise BadInputError(subject, "has no Resources section", "pass a CloudFormation template")
    return template


def analyse(template: Mapping[str, Any]) -> StackAdoption:
    """Describe how to update the stack whose template is ``template`` (from :func:`load`)."""
    parameters: Mapping[str, Any] = template.get("Parameters", {}) or {}
    resources: Mapping[str, Any] = template.get("Resources", {}) or {}
    clusters, managed, groups = [], [], []
    for name, resource in sorted(resources.items()):
        kind = resource.get("Type") if isinstance(resource, Mapping) else None
        if kind == "AWS::EKS::Cluster":
            clusters.append(_version_source(name, resource, parameters))
        elif kind == "AWS::EKS::Nodegroup":
            managed.append(_version_source(name, resource, parameters))
        elif kind == ASG_TYPE:
            groups.append(_self_managed(name, resource, resources, parameters))
    warnings = [w for source in (*clusters, *managed) for w in _version_warnings(source)]
    warnings += [w for group in groups for w in _group_warnings(group)]
    return StackAdoption(
        description=str(template.get("Description", "")),
        parameters=_parameters(parameters),
        clusters=tuple(clusters),
        managed_nodegroups=tuple(managed),
        self_managed_groups=tuple(groups),
        warnings=tuple(warnings),
    )


def adopt(template_body: str) -> StackAdoption:
    """Describe how to update the stack whose template is ``template_body`` (JSON or YAML,
    CloudFormation short tags such as !Ref allowed)."""
    return analyse(load(template_body))


def read(stack: Stack) -> StackAdoption:
    """:func:`adopt` for a discovered stack; a stack without a template body tells nothing."""
    if not stack.template_body.strip():
        return NO_TEMPLATE
    return analyse(load(stack.template_body, f"template of stack {stack.name}"))
