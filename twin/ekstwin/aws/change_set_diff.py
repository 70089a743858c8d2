"""The ``Changes`` of a CloudFormation change set as AWS computes them (moto lists only
``Action``/``LogicalResourceId``/``ResourceType``, reports nothing for a parameter-only
change, and every resource as ``Add`` without a ChangeSetType).

CloudFormation evaluates the old and the new template statically: parameters, conditions,
``Fn::If``, ``Fn::Sub`` and ``Fn::Join`` over parameters are resolved; a ``Ref`` to another
resource or an ``Fn::GetAtt`` stays symbolic. A property whose evaluated value differs is a
change, caused by the template itself (``DirectModification``) or by a parameter it refers
to (``ParameterReference``, its name the ``CausingEntity``). A property that refers to a
resource being replaced (its ``Ref`` changes) or to an attribute of a modified resource
changes *dynamically* (``Evaluation: Dynamic``, ``ResourceReference`` / ``ResourceAttribute``).
Whether a changed property replaces the resource comes from :data:`UPDATE_REQUIRES`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.ssm.models import ssm_backends

from ekstwin.aws.stack_updates import dependency_order
from ekstwin.aws.state import active

PAGE_SIZE = 100  # Changes per DescribeChangeSet page
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to "
    "create a change set."
)

ALWAYS, NEVER, CONDITIONALLY = "Always", "Never", "Conditionally"

# The CloudFormation resource reference's "Update requires" of each property of the types
# EKS stacks use: "Replacement" -> ALWAYS, "No interruption" / "Some interruptions" -> NEVER.
# A dotted key is a sub-property (the first that differs decides). Unlisted properties of a
# listed type take its "*" entry; unlisted types are CONDITIONALLY (not known here).
UPDATE_REQUIRES: dict[str, dict[str, str]] = {
    # AWS::EKS::Cluster: Name, RoleArn, KubernetesNetworkConfig, EncryptionConfig,
    # ResourcesVpcConfig SubnetIds / SecurityGroupIds "Replacement"; Version, Logging, Tags,
    # AccessConfig, endpoint access "No interruption".
    "AWS::EKS::Cluster": {
        "Name": ALWAYS,
        "RoleArn": ALWAYS,
        "KubernetesNetworkConfig": ALWAYS,
        "EncryptionConfig": ALWAYS,
        "OutpostConfig": ALWAYS,
        "ResourcesVpcConfig.SubnetIds": ALWAYS,
        "ResourcesVpcConfig.SecurityGroupIds": ALWAYS,
        "*": NEVER,
    },
    # AWS::EKS::Nodegroup: ClusterName, NodegroupName, NodeRole, Subnets, InstanceTypes,
    # AmiType, CapacityType, DiskSize, RemoteAccess "Replacement"; Version,
    # ReleaseVersion, LaunchTemplate, ScalingConfig, Labels, Taints, Tags, UpdateConfig,
    # ForceUpdateEnabled "No interruption".
    "AWS::EKS::Nodegroup": dict.fromkeys(
        (
            "ClusterName",
            "NodegroupName",
            "NodeRole",
            "Subnets",
            "InstanceTypes",
            "AmiType",
            "CapacityType",
            "DiskSize",
            "RemoteAccess",
        ),
        ALWAYS,
    )
    | {"*": NEVER},
    # AWS::EKS::Addon: ClusterName, AddonName "Replacement"; AddonVersion, ResolveConflicts,
    # ConfigurationValues, ServiceAccountRoleArn, Tags … "No interruption".
    "AWS::EKS::Addon": {"ClusterName": ALWAYS, "AddonName": ALWAYS, "*": NEVER},
    # AWS::EC2::LaunchTemplate: LaunchTemplateName "Replacement"; LaunchTemplateData,
    # VersionDescription, TagSpecifications "No interruption" (a new version).
    "AWS::EC2::LaunchTemplate": {"LaunchTemplateName": ALWAYS, "*": NEVER},
    # AWS::AutoScaling::LaunchConfiguration: every property "Replacement".
    "AWS::AutoScaling::LaunchConfiguration": {"*": ALWAYS},
    # AWS::AutoScaling::AutoScalingGroup: AutoScalingGroupName, InstanceId "Replacement";
    # LaunchConfigurationName, LaunchTemplate, MixedInstancesPolicy, Min/Max/DesiredCapacity,
    # VPCZoneIdentifier, Tags … "No interruption" / "Some interruptions".
    "AWS::AutoScaling::AutoScalingGroup": {
        "AutoScalingGroupName": ALWAYS,
        "InstanceId": ALWAYS,
        "*": NEVER,
    },
    # AWS::IAM::Role: RoleName, Path "Replacement"; policies, tags … "No interruption".
    "AWS::IAM::Role": {"RoleName": ALWAYS, "Path": ALWAYS, "*": NEVER},
    # AWS::IAM::InstanceProfile: InstanceProfileName, Path "Replacement"; Roles "No
    # interruption".
    "AWS::IAM::InstanceProfile": {"InstanceProfileName": ALWAYS, "Path": ALWAYS, "*": NEVER},
    # AWS::EC2::SecurityGroup: GroupDescription, GroupName, VpcId "Replacement"; rules and
    # Tags "No interruption".
    "AWS::EC2::SecurityGroup": {
        "GroupDescription": ALWAYS,
        "GroupName": ALWAYS,
        "VpcId": ALWAYS,
        "*": NEVER,
    },
    # AWS::EC2::SecurityGroupIngress / Egress: every property but Description "Replacement".
    "AWS::EC2::SecurityGroupIngress": {"Description": NEVER, "*": ALWAYS},
    "AWS::EC2::SecurityGroupEgress": {"Description": NEVER, "*": ALWAYS},
    # AWS::SSM::Parameter: Name "Replacement"; Value, Description … "No interruption".
    "AWS::SSM::Parameter": {"Name": ALWAYS, "*": NEVER},
}

# resource attributes other than Properties whose change AWS reports, with their Scope
_ATTRIBUTES = (
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
    "DeletionPolicy",
    "UpdateReplacePolicy",
)
_REPLACEMENT = {ALWAYS: "True", CONDITIONALLY: "Conditional", NEVER: "False"}
_RANK = {"False": 0, "Conditional": 1, "True": 2}


@dataclass
class ResourceChange:
    """One ``Changes[].ResourceChange``; moto serialises its snake_case attributes."""

    action: str
    logical_resource_id: str
    resource_type: str
    physical_resource_id: str | None = None
    replacement: str | None = None
    scope: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    policy_action: str | None = None


class _Symbol(str):
    """A value known only after deployment (a resource's Ref or attribute)."""

    __slots__ = ()


def requires(resource_type: str, prop: str, before: Any, after: Any) -> str:
    table = UPDATE_REQUIRES.get(resource_type)
    if table is None:
        return CONDITIONALLY
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key) and f"{prop}.{key}" in table:
                return table[f"{prop}.{key}"]
    return table.get(prop, table.get("*", CONDITIONALLY))


class _Evaluator:
    """Static evaluation of one template with one set of parameter values."""

    def __init__(self, template: dict[str, Any], params: dict[str, Any], pseudo: dict[str, str]):
        self.template = template
        self.params = params
        self.pseudo = pseudo
        self.resources: dict[str, Any] = template.get("Resources") or {}
        self.mappings: dict[str, Any] = template.get("Mappings") or {}
        self._conditions: dict[str, Any] = {}

    def condition(self, name: str) -> Any:
        if name not in self._conditions:
            self._conditions[name] = None  # a cycle evaluates as unknown
            node = (self.template.get("Conditions") or {}).get(name)
            self._conditions[name] = self.value(node)
        return self._conditions[name]

    def exists(self, name: str) -> bool:
        resource = self.resources.get(name)
        if resource is None:
            return False
        condition = resource.get("Condition")
        return condition is None or self.condition(condition) is not False

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return None  # the property is left out
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        return _Symbol(f"{{Ref:{name}}}")

    def value(self, node: Any) -> Any:  # noqa: PLR0911, PLR0912 - one case per function
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Fn::GetAtt":
                target = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return _Symbol(f"{{GetAtt:{'.'.join(map(str, target))}}}")
            if key == "Condition":
                return self.condition(str(arg))
            if key == "Fn::If":
                chosen = self.condition(str(arg[0]))
                if chosen is None:
                    return _Symbol(f"{{If:{arg[0]}}}")
                return self.value(arg[1] if chosen else arg[2])
            if key == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                if isinstance(a, _Symbol) or isinstance(b, _Symbol):
                    return None
                return str(a) == str(b)
            if key in ("Fn::Not", "Fn::And", "Fn::Or"):
                values = [self.value(x) for x in arg]
                if any(v is None for v in values):
                    return None
                if key == "Fn::Not":
                    return not values[0]
                return all(values) if key == "Fn::And" else any(values)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                sep, parts = arg[0], self.value(arg[1])
                if not isinstance(parts, list):
                    return _Symbol(f"{{Join:{parts}}}")
                joined = str(sep).join(str(p) for p in parts)
                symbolic = any(isinstance(p, _Symbol) for p in parts)
                return _Symbol(joined) if symbolic else joined
            if key == "Fn::FindInMap":
                keys = [self.value(x) for x in arg]
                found: Any = self.mappings
                for part in keys:
                    if not isinstance(found, dict) or str(part) not in found:
                        return _Symbol(f"{{FindInMap:{keys}}}")
                    found = found[str(part)]
                return found
            if key == "Fn::Select":
                index, items = self.value(arg[0]), self.value(arg[1])
                if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
                    return items[int(index)]
                return _Symbol(f"{{Select:{index}}}")
            if key.startswith("Fn::"):
                return {key: self.value(arg)}
        out = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not None}

    def sub(self, arg: Any) -> Any:
        text, extra = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
        values = {k: self.value(v) for k, v in (extra or {}).items()}
        out, symbolic = [], False
        pieces = str(text).split("${")
        out.append(pieces[0])
        for piece in pieces[1:]:
            name, _, rest = piece.partition("}")
            if name.startswith("!"):
                out.append("${" + name[1:] + "}" + rest)
                continue
            if name in values:
                value = values[name]
            elif "." in name:
                value = _Symbol(f"{{GetAtt:{name}}}")
            else:
                value = self.ref(name)
            symbolic = symbolic or isinstance(value, _Symbol)
            out.append(str(value) + rest)
        joined = "".join(out)
        return _Symbol(joined) if symbolic else joined


def _parameter_values(template: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, slot in (template.get("Parameters") or {}).items():
        value = given.get(name, slot.get("Default"))
        if value is None:
            continue
        out[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


def _resolved(
    template: dict[str, Any], values: dict[str, Any], account: str, region: str
) -> dict[str, Any]:
    """SSM-typed parameters compare by the value they resolve to as well as their path."""
    out = dict(values)
    ssm = ssm_backends[account][region]
    for name, slot in (template.get("Parameters") or {}).items():
        if name in out and str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
            found = ssm.get_parameter(out[name])
            out[name] = f"{out[name]}={found.value if found is not None else ''}"
    return out


def _refs(node: Any) -> tuple[set[str], set[str]]:
    """(Ref'd names, GetAtt 'Res.Attr' names) in a template fragment, Sub included."""
    refs: set[str] = set()
    atts: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                refs.add(str(value))
            elif key == "Fn::GetAtt":
                parts = value if isinstance(value, list) else str(value).split(".", 1)
                atts.add(".".join(map(str, parts)))
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                for piece in str(text).split("${")[1:]:
                    name = piece.split("}")[0]
                    if not name.startswith("!"):
                        (atts if "." in name else refs).add(name)
                if isinstance(value, list):
                    more = _refs(value[1:])
                    refs |= more[0]
                    atts |= more[1]
            else:
                more = _refs(value)
                refs |= more[0]
                atts |= more[1]
    elif isinstance(node, list):
        for item in node:
            more = _refs(item)
            refs |= more[0]
            atts |= more[1]
    return refs, atts


def diff(
    stack: Any, new_template: dict[str, Any], new_given: dict[str, Any], *, creating: bool
) -> list[ResourceChange]:
    """The ResourceChanges of a change set taking ``stack`` to ``new_template`` with the
    parameter values ``new_given`` (the rest keep their defaults)."""
    rm = stack.resource_map
    old_template: dict[str, Any] = {} if creating else (stack.template_dict or {})
    pseudo = {
        "AWS::StackName": stack.name,
        "AWS::StackId": stack.stack_id,
        "AWS::Region": stack.region_name,
        "AWS::AccountId": stack.account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    account, region = stack.account_id, stack.region_name
    old_values = _parameter_values(old_template, {} if creating else dict(stack.stack_parameters))
    new_values = _parameter_values(new_template, new_given)
    old_cmp = _resolved(old_template, old_values, account, region)
    new_cmp = _resolved(new_template, new_values, account, region)
    changed_params = {k for k in new_cmp if old_cmp.get(k) != new_cmp[k]}
    old = _Evaluator(old_template, old_cmp, pseudo)
    new = _Evaluator(new_template, new_cmp, pseudo)
    changes: dict[str, ResourceChange] = {}
    replaced: set[str] = set()  # their Ref (physical id) changes
    modified: set[str] = set()  # their attributes may change

    for name in dependency_order(new.resources):
        resource = new.resources[name]
        rtype = str(resource.get("Type", ""))
        if not new.exists(name):
            continue
        if not old.exists(name):
            changes[name] = ResourceChange("Add", name, rtype)
            replaced.add(name)
            modified.add(name)
            continue
        change = _modification(name, resource, old, new, changed_params, replaced, modified)
        if change is None:
            continue
        parsed = rm._parsed_resources.get(name)
        change.physical_resource_id = _physical(parsed)
        if change.replacement == "True":
            change.policy_action = "ReplaceAndDelete"
        changes[name] = change
        modified.add(name)
        if change.replacement != "False":
            replaced.add(name)
    for name, resource in old.resources.items():
        if old.exists(name) and not new.exists(name):
            retain = resource.get("DeletionPolicy") == "Retain"
            changes[name] = ResourceChange(
                "Remove",
                name,
                str(resource.get("Type", "")),
                physical_resource_id=_physical(rm._parsed_resources.get(name)),
                policy_action="Retain" if retain else "Delete",
            )
    return list(changes.values())


def _physical(parsed: Any) -> str | None:
    if parsed is None or isinstance(parsed, str):
        return None
    value = getattr(parsed, "physical_resource_id", None)
    return str(value) if value is not None else None


def _modification(  # noqa: PLR0912 - one case per kind of change
    name: str,
    resource: dict[str, Any],
    old: _Evaluator,
    new: _Evaluator,
    changed_params: set[str],
    replaced: set[str],
    modified: set[str],
) -> ResourceChange | None:
    rtype = str(resource.get("Type", ""))
    before_raw = old.resources[name]
    before_props = before_raw.get("Properties") or {}
    after_props = resource.get("Properties") or {}
    details: list[dict[str, Any]] = []
    scope: set[str] = set()
    replacement = "False"
    for prop in sorted(set(before_props) | set(after_props)):
        raw_a, raw_b = before_props.get(prop), after_props.get(prop)
        val_a, val_b = old.value(copy.deepcopy(raw_a)), new.value(copy.deepcopy(raw_b))
        attribute = "Tags" if prop == "Tags" else "Properties"
        found: list[tuple[str, str, str | None, str]] = []  # evaluation, source, entity, needs
        if val_a != val_b:
            needs = requires(rtype, prop, val_a, val_b)
            if raw_a != raw_b:
                found.append(("Static", "DirectModification", None, needs))
            refs, _ = _refs(raw_b)
            found.extend(
                ("Static", "ParameterReference", param, needs)
                for param in sorted(refs & changed_params)
            )
            if not found:
                found.append(("Static", "DirectModification", None, needs))
        refs, atts = _refs(raw_b)
        for ref in sorted(refs & replaced):
            needs = requires(rtype, prop, val_a, val_b)
            found.append(("Dynamic", "ResourceReference", ref, _dynamic(needs)))
        for att in sorted(a for a in atts if a.split(".")[0] in modified):
            needs = requires(rtype, prop, val_a, val_b)
            found.append(("Dynamic", "ResourceAttribute", att, _dynamic(needs)))
        for evaluation, source, entity, needs in found:
            target: dict[str, Any] = {"Attribute": attribute, "RequiresRecreation": needs}
            if attribute == "Properties":
                target["Name"] = prop
            detail: dict[str, Any] = {
                "Target": target,
                "Evaluation": evaluation,
                "ChangeSource": source,
            }
            if entity is not None:
                detail["CausingEntity"] = entity
            details.append(detail)
            scope.add(attribute)
            if _RANK[_REPLACEMENT[needs]] > _RANK[replacement]:
                replacement = _REPLACEMENT[needs]
    for attribute in _ATTRIBUTES:
        if old.value(before_raw.get(attribute)) != new.value(resource.get(attribute)):
            details.append(
                {
                    "Target": {"Attribute": attribute, "RequiresRecreation": NEVER},
                    "Evaluation": "Static",
                    "ChangeSource": "DirectModification",
                }
            )
            scope.add(attribute)
    if not details:
        return None
    return ResourceChange(
        "Modify",
        name,
        rtype,
        replacement=replacement,
        scope=sorted(scope),
        details=details,
    )


def _dynamic(needs: str) -> str:
    """A dynamic change of a property that would replace the resource may replace it."""
    return CONDITIONALLY if needs == ALWAYS else needs


def check_create(backend: Any, stack_name: str, change_set_name: str) -> None:
    """A CREATE change set needs a stack that does not exist yet (or one still in review)."""
    for stack in backend.stacks.values():
        if stack.name == stack_name and stack.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(
                message=f"Stack [{stack_name}] already exists and cannot be created again "
                f"with the changeSet [{change_set_name}]."
            )


def settle(change_set: Any) -> None:
    """Status of a just-created change set: FAILED when it changes nothing."""
    state = active()
    if state is not None:
        change_set.creation_time = state.now()
    stack = change_set.stack
    same = (
        change_set.change_set_type == "UPDATE"
        and not change_set.changes
        and change_set.template_dict == stack.template_dict
        and _parameter_values(change_set.template_dict, change_set.parameters)
        == _parameter_values(stack.template_dict, dict(stack.stack_parameters))
    )
    if same:
        change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
    else:
        change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
        change_set.status_reason = None


def page(change_set: Any, token: str | None) -> Any:
    """The change set as one DescribeChangeSet page shows it (``token``: its offset)."""
    start = int(token) if token and token.isdigit() else 0
    shown = copy.copy(change_set)
    shown.changes = change_set.changes[start : start + PAGE_SIZE]
    end = start + PAGE_SIZE
    shown.next_token = str(end) if end < len(change_set.changes) else None
    return shown
