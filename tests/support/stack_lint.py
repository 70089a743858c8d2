"""Template checks: cfn-lint offline, plus the EKS version check cfn-lint does not make."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cfnlint.api import lint as cfn_lint
from cfnlint.config import ManualArgs
from troposphere import Template

from upgrader.catalog.versions import catalog
from upgrader.errors import VersionError
from upgrader.model.cfn_yaml import load_template

EKS_VERSIONED_TYPES = ("AWS::EKS::Cluster", "AWS::EKS::Nodegroup")
_MINOR = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One cfn-lint match: rule id (E…/W…/I…), severity, message and where."""

    rule: str
    severity: str
    message: str
    path: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return f"{self.rule} ({self.severity}) line {self.line}: {self.message}"


def lint(template_body: str, regions: tuple[str, ...] = ("us-east-1",)) -> list[Finding]:
    """cfn-lint ``template_body`` (JSON or YAML) with its bundled specs; never goes online."""
    matches = cfn_lint(template_body, config=ManualArgs(regions=list(regions)))
    return [
        Finding(
            rule=str(m.rule.id),
            severity=str(m.rule.severity),
            message=str(m.message),
            path=tuple(str(p) for p in (m.path or ())),
            line=int(m.linenumber),
        )
        for m in matches
    ]


def _as_dict(template: Template | Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(template, Template):
        result: Mapping[str, Any] = template.to_dict()
        return result
    if isinstance(template, str):
        parsed: Mapping[str, Any] = load_template(template)
        return parsed
    return template


def _version_values(expr: Any, parameters: Mapping[str, Any]) -> Iterator[tuple[str, object]]:
    """(where, value) for every version a Version expression can take."""
    if isinstance(expr, Mapping):
        if "Ref" in expr and isinstance(expr["Ref"], str):
            name = expr["Ref"]
            parameter = parameters.get(name)
            if not isinstance(parameter, Mapping):
                return
            if "Default" in parameter:
                yield f"parameter {name} Default", parameter["Default"]
            for value in parameter.get("AllowedValues", ()):
                yield f"parameter {name} AllowedValues", value
        elif "Fn::If" in expr and isinstance(expr["Fn::If"], list):
            for branch in expr["Fn::If"][1:]:
                yield from _version_values(branch, parameters)
        return
    yield "literal", expr


def _known(value: object) -> bool:
    # A YAML float such as 1.13 is rejected too: 1.10 would read as 1.1.
    if not isinstance(value, str) or not _MINOR.match(value):
        return False
    try:
        catalog().kubernetes(value)
    except VersionError:
        return False
    return True


def check_eks_versions(template: Template | Mapping[str, Any] | str) -> list[str]:
    """Problems with EKS ``Version`` values: each literal, parameter Default and AllowedValue
    an EKS cluster or node group can get must be a Kubernetes minor the catalog knows.

    ``template`` is a troposphere Template, a parsed template, or its JSON/YAML text."""
    body = _as_dict(template)
    parameters = body.get("Parameters", {}) or {}
    problems: list[str] = []
    for name, resource in sorted((body.get("Resources", {}) or {}).items()):
        if not isinstance(resource, Mapping) or resource.get("Type") not in EKS_VERSIONED_TYPES:
            continue
        expr = (resource.get("Properties", {}) or {}).get("Version")
        if expr is None:
            continue
        for where, value in _version_values(expr, parameters):
            if not _known(value):
                problems.append(
                    f"{name} ({resource['Type']}) Version {where}: {value!r} is not a "
                    "Kubernetes minor the version catalog knows (write it as a string like "
                    '"1.13")'
                )
    return problems
