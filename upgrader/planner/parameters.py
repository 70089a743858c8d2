"""Which stack parameters carry the Kubernetes version and the node AMI, and their new values.

Read from the stack's own template and parameters (the user's template is never
replaced): ours names the control-plane version ``KubernetesVersion``, AWS's 2019
cluster template ``ClusterVersion``; node groups use ``NodeImageIdSSMParam`` or
``NodeImageId`` as AWS's 2019 node-group template does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from upgrader.catalog.versions import catalog
from upgrader.errors import BadInputError
from upgrader.model.aws import Pairs, Stack

VERSION_PARAMETERS = ("KubernetesVersion", "ClusterVersion", "Version", "EksVersion")
SSM_PREFIX = "/aws/service/eks/optimized-ami/"
IMAGE_SSM_PARAMETER = "NodeImageIdSSMParam"
IMAGE_ID_PARAMETER = "NodeImageId"
# `Version: !Ref P`, `Version: {Ref: P}` or `"Version": {"Ref": "P"}` in YAML or JSON
_VERSION_REF = re.compile(
    r"""["']?Version["']?\s*:\s*(?:!Ref\s+|\{\s*["']?Ref["']?\s*:\s*)["']?([A-Za-z0-9]+)"""
)
_ROLLING = "AutoScalingRollingUpdate"
_REPLACING = "AutoScalingReplacingUpdate"
_ASG = "AWS::AutoScaling::AutoScalingGroup"


class _TemplateLoader(yaml.SafeLoader):
    """Every scalar a string (CloudFormation reads ``1.10`` as "1.10"); short tags such as
    ``!Ref X`` become their long form."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class-level table


def _short_tag(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict[str, Any]:
    name = tag.removeprefix("!")
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    if isinstance(node, yaml.MappingNode):
        return {key: loader.construct_mapping(node, deep=True)}
    if isinstance(node, yaml.SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return {key: value.split(".", 1) if name == "GetAtt" else value}


_TemplateLoader.add_multi_constructor("!", _short_tag)


def template_of(stack: Stack) -> Mapping[str, Any]:
    """The stack's template as plain data ({} when it cannot be read)."""
    try:
        loaded = yaml.load(stack.template_body, Loader=_TemplateLoader)  # a SafeLoader
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, Mapping) else {}


def check_allowed_values(stack: Stack, changes: Mapping[str, str]) -> None:
    """Refuse a change CloudFormation would reject: a new value outside its parameter's
    ``AllowedValues`` (only a template change, which upgrader never makes, can allow it)."""
    declared = template_of(stack).get("Parameters") or {}
    for key, value in sorted(changes.items()):
        allowed = [str(v) for v in (declared.get(key) or {}).get("AllowedValues") or ()]
        if allowed and value not in allowed:
            raise BadInputError(
                f"stack {stack.name}",
                f"cannot take {key}={value}: the template's AllowedValues for {key} are "
                f"{', '.join(allowed)}, so CloudFormation would reject the change set",
                f"extend {key}'s AllowedValues in the stack's template to include {value} and "
                "update the stack with it (upgrader never replaces your template), then plan "
                "again",
            )


def version_parameter(stack: Stack, current: str) -> str | None:
    """The parameter the stack's EKS resource takes its ``Version`` from, or None."""
    params = dict(stack.parameters)
    for match in _VERSION_REF.finditer(stack.template_body):
        if match.group(1) in params:
            return match.group(1)
    for name in VERSION_PARAMETERS:
        if name in params:
            return name
    return next((k for k, v in sorted(params.items()) if v == current), None)


def target_ssm_path(current: str | None, kubernetes: str) -> str:
    """The EKS AMI SSM path for ``kubernetes``: the current path with its version segment
    replaced (keeps the family, architecture and variant), else the catalog default."""
    if current and current.startswith(SSM_PREFIX):
        rest = current[len(SSM_PREFIX) :].split("/", 1)
        if len(rest) == 2:
            return f"{SSM_PREFIX}{kubernetes}/{rest[1]}"
    return catalog().kubernetes(kubernetes).ami_ssm_parameter()


def image_change(
    stack: Stack, kubernetes: str, ami_parameters: Pairs
) -> tuple[dict[str, str], str]:
    """Parameter changes that move a self-managed group's AMI to ``kubernetes``, and
    what the image becomes (SSM path or AMI ID)."""
    params = dict(stack.parameters)
    ssm_key = next((k for k, v in sorted(params.items()) if v.startswith(SSM_PREFIX)), None)
    if ssm_key is None and IMAGE_SSM_PARAMETER in params:
        ssm_key = IMAGE_SSM_PARAMETER
    path = target_ssm_path(params.get(ssm_key) if ssm_key else None, kubernetes)
    pinned = params.get(IMAGE_ID_PARAMETER, "")
    if pinned:
        ami = dict(ami_parameters).get(path)
        if ami is None:
            raise BadInputError(
                f"stack {stack.name}",
                f"pins {IMAGE_ID_PARAMETER}={pinned} and the AMI for {kubernetes} "
                f"({path}) was not discovered",
                f"check that SSM parameter {path} exists in this region",
            )
        return {IMAGE_ID_PARAMETER: ami}, ami
    if ssm_key is None:
        raise BadInputError(
            f"stack {stack.name}",
            f"has neither {IMAGE_SSM_PARAMETER} nor {IMAGE_ID_PARAMETER}, so the node AMI "
            "cannot be changed with a parameter",
            "add an AMI parameter to the template (the launch template's ImageId)",
        )
    return {ssm_key: path}, path


def _shown(value: Any, parameters: Mapping[str, str]) -> str:
    """A policy value as text, a ``Ref`` to a parameter shown with its value."""
    if isinstance(value, Mapping) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return f"{parameters[value['Ref']]} ({value['Ref']})"
    return str(value)


def _rolling_update(template: Mapping[str, Any], parameters: Mapping[str, str]) -> str | None:
    resources = template.get("Resources") or {}
    for name, resource in sorted(resources.items()):
        if not isinstance(resource, Mapping) or resource.get("Type") != _ASG:
            continue
        rolling = (resource.get("UpdatePolicy") or {}).get(_ROLLING)
        if not isinstance(rolling, Mapping):
            continue
        batch = _shown(rolling.get("MaxBatchSize", "1"), parameters)
        keep = _shown(rolling.get("MinInstancesInService", "0"), parameters)
        pause = _shown(rolling.get("PauseTime", "PT0S"), parameters)
        return (
            f"{_ROLLING} on {name}: executing this change set makes CloudFormation replace "
            f"the group's nodes itself, {batch} at a time, keeping {keep} in service and "
            f"pausing {pause} between batches, WITHOUT cordoning or draining them (pods die "
            "with their node, PodDisruptionBudgets are ignored)"
        )
    return None


def update_policy(stack: Stack, managed: bool) -> str:
    """What CloudFormation or EKS itself does to running nodes on this stack update: the
    UpdatePolicy's name, and for a rolling update how it replaces the nodes."""
    if managed:
        return "eks-managed"
    template = template_of(stack)
    rolling = _rolling_update(template, dict(stack.parameters)) if template else None
    if rolling is not None:
        return rolling
    if _ROLLING in stack.template_body:
        return _ROLLING
    if _REPLACING in stack.template_body:
        return _REPLACING
    return "none"
