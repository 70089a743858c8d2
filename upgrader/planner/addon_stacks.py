"""EKS add-ons declared in one of the config's stacks (``AWS::EKS::Addon``): where their
``AddonVersion`` comes from, and the step that moves one through a change set on its stack.

Only the parameter ``AddonVersion`` refers to changes (``UsePreviousTemplate``): the
template's ``ResolveConflicts`` and ``ConfigurationValues`` stay as the user wrote them. An
``AddonVersion`` written into the template is refused: upgrader never rewrites the user's
template here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from upgrader.errors import BadInputError
from upgrader.model.addons import ADDON_TYPE, EksAddon, declares_addon
from upgrader.model.aws import Stack
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonStackStep
from upgrader.planner.parameters import check_allowed_values
from upgrader.planner.templates import load, refs

GATES = ("STK001", "VER001", "POD001")
UNSET = "unset"  # what the step shows for a ResolveConflicts the template leaves out


@dataclass(frozen=True, slots=True, kw_only=True)
class AddonSource:
    """One ``AWS::EKS::Addon`` of a stack's template."""

    resource: str  # its logical id
    parameter: str | None  # the template parameter its AddonVersion refers to
    version: str  # AddonVersion as written (``Ref X``, a literal, or ``unset``)
    resolve_conflicts: str  # ResolveConflicts as written, or ``unset``


def _text(value: Any) -> str:
    if value is None:
        return UNSET
    if isinstance(value, Mapping) and isinstance(value.get("Ref"), str) and len(value) == 1:
        return f"Ref {value['Ref']}"
    return str(value)


def _named(value: Any, parameters: Mapping[str, str]) -> str | None:
    """AddonName as the stack resolves it (a literal, or a Ref to a parameter)."""
    if isinstance(value, str):
        return value
    ref = value.get("Ref") if isinstance(value, Mapping) else None
    return parameters.get(ref) if isinstance(ref, str) else None


def addon_source(stack: Stack, addon: str) -> AddonSource | None:
    """The stack's ``AWS::EKS::Addon`` for ``addon`` (by the discovered resource's physical
    ID, else by ``AddonName``), or None when the template declares none."""
    if not stack.template_body.strip():
        return None
    template = load(stack.template_body, f"template of stack {stack.name}")
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    resources: Mapping[str, Any] = template["Resources"]
    values = dict(stack.parameters)

    def declares(name: str, resource: Any) -> bool:
        if not isinstance(resource, Mapping) or resource.get("Type") != ADDON_TYPE:
            return False
        named = _named((resource.get("Properties") or {}).get("AddonName"), values)
        return named == addon or any(
            r.logical_id == name and declares_addon(r.physical_id, addon) for r in stack.resources
        )

    found = sorted(name for name, resource in resources.items() if declares(name, resource))
    if not found:
        return None
    name = found[0]
    properties: Mapping[str, Any] = resources[name].get("Properties") or {}
    expr = properties.get("AddonVersion")
    parameter = next((ref for ref in refs(expr) if ref in declared), None)
    return AddonSource(
        resource=name,
        parameter=parameter,
        version=_text(expr),
        resolve_conflicts=_text(properties.get("ResolveConflicts")),
    )


def _source(state: ClusterState, addon: EksAddon, version: str) -> tuple[Stack, AddonSource]:
    """The add-on's stack and resource, its AddonVersion a parameter; else BadInputError."""
    name = str(addon.stack)
    stack = state.stack(name)
    source = addon_source(stack, addon.name) if stack is not None else None
    if stack is None or source is None:
        raise BadInputError(
            f"stack {name}",
            f"holds the EKS add-on {addon.name}, and upgrader could not read its "
            "AWS::EKS::Addon from the stack's template",
            "check that the stack is one of the config's stacks and that "
            "`aws cloudformation get-template` returns its template, then plan again",
        )
    if source.parameter is None:
        raise BadInputError(
            f"stack {name}",
            f"declares the EKS add-on {addon.name} as {source.resource} (AWS::EKS::Addon) "
            f"with AddonVersion {source.version} written into the template, so no change "
            f"set of parameters can move it to {version} (upgrader never rewrites your "
            "template)",
            f"make {source.resource}'s AddonVersion a parameter (AddonVersion: !Ref "
            f"<Parameter>, its value now {addon.version}), update the stack with that "
            "template, then plan again",
        )
    check_allowed_values(stack, {source.parameter: version})
    return stack, source


def stack_step(
    state: ClusterState,
    addon: EksAddon,
    previous: str,
    version: str,
    kubernetes: str,
) -> ManagedAddonStackStep:
    """The step moving ``addon`` (declared in ``addon.stack``) from ``previous`` to
    ``version`` through a change set on its stack."""
    stack, source = _source(state, addon, version)
    parameter = str(source.parameter)
    return ManagedAddonStackStep(
        id=f"addon-{addon.name}-{version}",
        description=(
            f"Update the EKS add-on {addon.name} {previous} -> {version} (offered for "
            f"Kubernetes {kubernetes}), declared in stack {stack.name} as {source.resource}: "
            f"change set setting {parameter}={version}, its ResolveConflicts "
            f"({source.resolve_conflicts}) and ConfigurationValues as the template has them; "
            "wait for the stack, then the rollout."
        ),
        gates=GATES,
        addon=addon.name,
        from_=previous,
        to=version,
        resolve_conflicts=source.resolve_conflicts,
        configuration_values=addon.configuration_values,
        nodes=len(state.nodes),
        stack=stack.name,
        resource=source.resource,
        parameter=parameter,
    )
