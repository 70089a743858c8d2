"""Third-party CloudFormation templates the twin builds scenario stacks from, kept verbatim.

``amazon-eks-nodegroup-2019.yaml`` is AWS's self-managed node-group template as teams
deployed it in 2019 (launch configuration, ``NodeImageIdSSMParam``, an ASG under
``AutoScalingRollingUpdate``). Provenance (also in README.md beside it):
awslabs/amazon-eks-ami at 81ac166912ebbdb46c56549efe3d88331f524cad, path
``amazon-eks-nodegroup.yaml``, licence MIT-0 (MIT No Attribution), sha256 below.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

AWS_2019_NODEGROUP = "amazon-eks-nodegroup-2019.yaml"
AWS_2019_NODEGROUP_SHA256 = "b172849483374a5475b856039ad2f74487abb2d52857556ca8db59d1121a691e"


class _Loader(yaml.SafeLoader):
    """SafeLoader reading CloudFormation short tags in their long form (``!Ref X`` ->
    ``{"Ref": "X"}``, ``!GetAtt R.A`` -> ``{"Fn::GetAtt": ["R", "A"]}``); dates stay text."""


def _long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _long_form)
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(body: str) -> Any:
    """A CloudFormation template (YAML with short tags, or JSON) as plain data."""
    return yaml.load(body, Loader=_Loader)


@cache
def aws_2019_nodegroup() -> str:
    """The 2019 node-group template's text, byte for byte as published."""
    return resources.files(__name__).joinpath(AWS_2019_NODEGROUP).read_text(encoding="utf-8")


@cache
def aws_2019_instance_types() -> tuple[str, ...]:
    """The instance types the 2019 template's ``NodeInstanceType`` allows."""
    parameters = load(aws_2019_nodegroup())["Parameters"]
    return tuple(str(t) for t in parameters["NodeInstanceType"]["AllowedValues"])
