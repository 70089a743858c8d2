"""Load CloudFormation templates (JSON or YAML with short tags such as !Ref) with PyYAML.

Short tags become their long form (``!Ref X`` -> ``{"Ref": "X"}``,
``!GetAtt R.A`` -> ``{"Fn::GetAtt": ["R", "A"]}``), as CloudFormation reads them.
"""

from __future__ import annotations

from typing import Any

import yaml

_FUNCTIONS = (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join",
    "Not", "Or", "Select", "Split", "Sub", "Transform", "ToJsonString", "Length",
)  # fmt: skip


class _Loader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation short tags; dates stay strings (2010-09-09)."""


def _value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(
        None, None, f"unexpected node {node!r}", node.start_mark
    )


def _function(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {f"Fn::{name}": _value(loader, node)}

    return construct


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _value(loader, node)}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": _value(loader, node)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _value(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


for _name in _FUNCTIONS:
    _Loader.add_constructor(f"!{_name}", _function(_name))
_Loader.add_constructor("!Ref", _ref)
_Loader.add_constructor("!Condition", _condition)
_Loader.add_constructor("!GetAtt", _get_att)
# CloudFormation keeps AWSTemplateFormatVersion as a string; plain YAML would make it a date.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_template(body: str) -> Any:
    """Parse a template body; raises ``yaml.YAMLError`` on bad syntax."""
    return yaml.load(body, Loader=_Loader)
