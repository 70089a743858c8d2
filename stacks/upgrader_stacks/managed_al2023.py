"""Move a managed node group from Amazon Linux 2 to AL2023, blue/green in its own stack.

``AmiType`` and ``NodegroupName`` of an ``AWS::EKS::Nodegroup`` only change by replacing
the resource, which CloudFormation refuses for a named group (and would do undrained for
an unnamed one). The migrated template keeps every parameter, condition and resource, and:

- adds the successor: a copy of the group's resource under a new logical ID, named
  ``<name>-al2023``, with the AL2023 ``AmiType`` and without an AL2 ``ReleaseVersion``;
  its ``Version`` keeps the stack's version parameter, whose ``AllowedValues`` (if any)
  gain the later minors EKS publishes AL2023 AMIs for;
- pins the old group's ``Version`` to the version it runs, so the new parameter value
  only reaches the successor;
- points every output and other resource that referred to the old group at the
  successor.

upgrader drains the old group's nodes into the successor, then a second stack update
removes the old resource (``upgrader.model.managed_ami.without_resource``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from troposphere import eks

from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import dump_template
from upgrader.model.managed_ami import ManagedMove
from upgrader.model.node_bootstrap import AL2023
from upgrader.planner.templates import load
from upgrader.semver import Version
from upgrader_stacks.parameters import kubernetes_versions


def _retarget(node: Any, old: str, new: str) -> Any:
    """``node`` with every Ref, GetAtt, Sub reference and DependsOn of ``old`` -> ``new``."""
    if isinstance(node, list):
        return [_retarget(v, old, new) for v in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "Ref" and value == old:
            out[key] = new
        elif key == "Fn::GetAtt":
            parts = value if isinstance(value, list) else str(value).split(".", 1)
            out[key] = [new if parts[0] == old else parts[0], *parts[1:]]
        elif key == "Fn::Sub":
            text, rest = (value[0], value[1:]) if isinstance(value, list) else (value, [])
            text = str(text).replace("${" + old + "}", "${" + new + "}")
            text = text.replace("${" + old + ".", "${" + new + ".")
            out[key] = [text, *_retarget(rest, old, new)] if rest else text
        elif key == "DependsOn":
            names = [value] if isinstance(value, str) else list(value)
            moved = [new if n == old else n for n in names]
            out[key] = moved[0] if isinstance(value, str) else moved
        else:
            out[key] = _retarget(value, old, new)
    return out


def _allowed(values: list[Any]) -> list[str]:
    """``values`` and, after the newest of them, every minor with AL2023 AMIs."""
    texts = [str(v) for v in values]
    newest = max(Version.parse(v).minor_key for v in texts)
    later = [m for m in kubernetes_versions(AL2023) if Version.parse(m).minor_key > newest]
    return texts + later


def migrate_managed_al2023(stack: Stack, move: ManagedMove, running: str) -> str:
    """The stack's template with ``move``'s successor added and the old group pinned at
    Kubernetes ``running``, as CloudFormation YAML. The same text for the same input."""
    template = dict(load(stack.template_body, f"template of stack {stack.name}"))
    resources = dict(template["Resources"])
    old = dict(resources[move.resource])
    props = dict(old.get("Properties") or {})
    version = props.get("Version")
    successor = copy.deepcopy(props)
    successor.pop("ReleaseVersion", None)
    successor["NodegroupName"] = move.successor
    successor["AmiType"] = move.successor_ami_type
    unknown = sorted(set(successor) - set(eks.Nodegroup.props))
    if unknown:  # the user's template holds what CloudFormation would reject anyway
        raise BadInputError(
            f"stack {stack.name}",
            f"resource {move.resource} has properties AWS::EKS::Nodegroup does not take: "
            + ", ".join(unknown),
            "fix the stack's template, update the stack, then plan again",
        )
    props["Version"] = running
    others = {
        k: _retarget(v, move.resource, move.successor_resource)
        for k, v in resources.items()
        if k != move.resource
    }
    template["Resources"] = {
        **others,
        move.resource: {**old, "Properties": props},
        move.successor_resource: {
            **{k: v for k, v in old.items() if k != "Properties"},
            "Properties": successor,
        },
    }
    if "Outputs" in template:
        template["Outputs"] = _retarget(template["Outputs"], move.resource, move.successor_resource)
    parameters = dict(template.get("Parameters") or {})
    if isinstance(version, Mapping) and version.get("Ref") in parameters:
        name = str(version["Ref"])
        spec = dict(parameters[name])
        if spec.get("AllowedValues"):
            spec["AllowedValues"] = _allowed(list(spec["AllowedValues"]))
            parameters[name] = spec
        template["Parameters"] = parameters
    return dump_template(template)
