"""CloudFormation templates as plain data: load JSON or YAML (short tags such as ``!Ref``
allowed), dump deterministic YAML.

Short tags become their long form (``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt R.A`` ->
``{"Fn::GetAtt": ["R", "A"]}``, any other ``!Name`` -> ``{"Fn::Name": ...}``), as
CloudFormation reads them. Dates stay strings (``2010-09-09``); a float keeps its source
text (``1.10`` prints and dumps as ``1.10``, never ``1.1``), so a template loaded and
dumped again keeps every value the user wrote.
"""

from __future__ import annotations

from typing import Any

import yaml


class SourceFloat(float):
    """A YAML float that remembers how it was written."""

    text: str

    def __new__(cls, value: float, text: str) -> SourceFloat:
        made = super().__new__(cls, value)
        made.text = text
        return made

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


class _Loader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation short tags."""


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


def _function(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    return {f"Fn::{suffix}": _value(loader, node)}


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


def _float(loader: yaml.SafeLoader, node: yaml.Node) -> SourceFloat:
    assert isinstance(node, yaml.ScalarNode)
    return SourceFloat(loader.construct_yaml_float(node), str(node.value))


_Loader.add_multi_constructor("!", _function)
_Loader.add_constructor("!Ref", _ref)
_Loader.add_constructor("!Condition", _condition)
_Loader.add_constructor("!GetAtt", _get_att)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)
# CloudFormation keeps AWSTemplateFormatVersion as a string; plain YAML would make it a date.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_template(body: str) -> Any:
    """Parse a template body; raises ``yaml.YAMLError`` on bad syntax."""
    return yaml.load(body, Loader=_Loader)  # a SafeLoader


class _Dumper(yaml.SafeDumper):
    """Block style, indented lists, multi-line strings as literal blocks, never anchors or aliases
    (CloudFormation does not take them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # list items indented under their key


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_float(dumper: yaml.SafeDumper, data: SourceFloat) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", data.text)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(SourceFloat, _represent_float)


def dump_template(template: Any) -> str:
    """``template`` as CloudFormation YAML: keys in the order given, long-form intrinsic
    functions, no line folding; byte-stable for equal input."""
    text: str = yaml.dump(
        template,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,
    )
    return text
