"""CloudFormation stack updates as AWS runs them, replacing moto's ``ResourceMap.update``.

Differences from moto, each what CloudFormation does:
- a resource is updated when its *resolved* properties change, so a new launch-template
  version or a new launch-configuration name reaches the ASG that refers to it;
- resources are updated in dependency order, and a resource waits while a resource it
  depends on has a long operation running (a control-plane update, a rolling update);
- the stack stays ``UPDATE_IN_PROGRESS`` until every such operation finishes;
- resources the new template drops are deleted last, in the cleanup phase, once every
  other resource is updated (moto deletes them first: a launch configuration went while
  its group still used it);
- a failed update leaves the stack ``UPDATE_ROLLBACK_COMPLETE`` with the failure reason on
  a resource event (moto has no rollback; resources already changed stay changed, dropped
  ones stay in the stack);
- an update with no changes is refused ("No updates are to be performed."), as is an
  update while another is in progress.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.parsing import clean_json, parse_and_update_resource
from moto.core.exceptions import JsonRESTError, ServiceException

from ekstwin.aws import eks_resources, eks_updates, stack_events
from ekstwin.aws.state import Operation, TwinState, require

_UNRESOLVED = object()
# what resource updates raise for an AWS-side failure (EKS errors are JSON REST errors)
_FAILURES = (ServiceException, JsonRESTError)


def references(node: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, GetAtt, Sub, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(part.split("}")[0].split(".")[0] for part in str(text).split("${")[1:])
                found |= references(value)
            elif key == "DependsOn":
                found.update([value] if isinstance(value, str) else value)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids so that every resource comes after the resources it refers to."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in seen or name in path:
            return
        for dep in sorted(references(resources[name]) & resources.keys()):
            visit(dep, (*path, name))
        seen.add(name)
        order.append(name)

    for name in resources:
        visit(name, ())
    return order


def resolve(resource_map: Any, resource_json: dict[str, Any]) -> Any:
    """The resource's properties with every intrinsic function evaluated."""
    try:
        return clean_json(copy.deepcopy(resource_json.get("Properties", {})), resource_map)
    except Exception:
        return _UNRESOLVED


class StackUpdate:
    """One running stack update; continues after long operations finish."""

    def __init__(
        self, state: TwinState, stack: Any, template: dict[str, Any], parameters: dict[str, Any]
    ) -> None:
        self.state = state
        self.stack = stack
        self.rm = stack.resource_map
        self.template = template
        self.parameters = parameters
        self.pending: list[str] = []
        self.before: dict[str, Any] = {}
        # resources the new template drops: logical id -> (moto resource, its old JSON)
        self.dropped: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.failed: str | None = None
        self.failing = ""  # logical id of the resource whose update failed
        # stack events: resources updated so far (rolled back on failure, newest last), the
        # one whose long operation runs, and replaced resources' old physical ids
        self.updated: list[str] = []
        self.running = ""
        self.replaced: list[tuple[str, str, str]] = []
        self.on_done: Callable[[str | None], None] = lambda _failure: None

    def start(self) -> None:
        rm = self.rm
        old = (rm._template, rm.input_parameters, dict(rm.resolved_parameters))
        self.before = {
            name: resolve(rm, rm._resource_json_map[name])
            for name in rm._resource_json_map
            if name in rm._parsed_resources
        }
        rm._template = self.template
        if self.parameters:
            rm.input_parameters = self.parameters
        rm.load_mapping()
        rm.load_parameters()
        rm.load_conditions()
        try:
            self._precheck()
        except _FAILURES as error:
            rm._template, rm.input_parameters, rm.resolved_parameters = old
            rm.load_parameters()
            rm.load_conditions()
            self._fail(error)
            return
        self._remove()
        rm._resource_json_map = self.template["Resources"]
        self.pending = dependency_order(self.template["Resources"])
        self._continue()

    def _precheck(self) -> None:
        """Fail before changing anything when an EKS version step is invalid, or when a
        test injected a failure for this stack's next update."""
        fault = self.state.stack_update_faults.pop(self.stack.name, None)
        if fault is not None:
            self.failing = fault[0]
            raise ValidationError(self.stack.name, fault[1])
        for name, resource in self.template["Resources"].items():
            if resource.get("Type") != "AWS::EKS::Cluster" or name not in self.rm._parsed_resources:
                continue
            wanted = resource.get("Properties", {}).get("Version")
            if wanted is None or references(wanted) - set(self.rm.resolved_parameters):
                continue
            version = clean_json(copy.deepcopy(wanted), self.rm)
            cluster = self.rm._parsed_resources[name]._cluster()
            if str(version) != cluster.version:
                self.failing = name
                config = resource.get("Properties", {}).get("RollbackConfig")
                timeout = clean_json(copy.deepcopy(config), self.rm) if config else None
                eks_updates.check_version_change(
                    self.state,
                    cluster,
                    str(version),
                    rollback_timeout=eks_resources.rollback_timeout(timeout),
                )

    def _remove(self) -> None:
        """Take the resources the new template drops out of the stack; :meth:`cleanup`
        deletes them."""
        for name in list(self.rm._resource_json_map):
            if name in self.template["Resources"]:
                continue
            resource = self.rm._parsed_resources.pop(name, None)
            if resource is not None and not isinstance(resource, str):
                self.dropped[name] = (resource, self.rm._resource_json_map[name])

    def cleanup(self) -> None:
        """UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: delete the resources the template dropped
        (replaced resources' old physical resources went at once; their events come here)."""
        for name, rtype, physical in self.replaced:
            stack_events.deleted(self.stack, name, rtype, physical)
        for name, (resource, resource_json) in self.dropped.items():
            rtype, physical = str(resource_json.get("Type", "")), stack_events.physical_id(resource)
            stack_events.resource_event(
                self.stack, name, rtype, "DELETE_IN_PROGRESS", None, physical
            )
            self.rm._delete_resource(resource, resource_json)
            stack_events.resource_event(self.stack, name, rtype, "DELETE_COMPLETE", None, physical)
        self.dropped.clear()

    def rollback_events(self) -> None:
        """The resources the failed update touched are updated back, newest first."""
        names = list(self.updated)
        if self.failing and self.failing not in names:
            names.append(self.failing)
        for name in reversed(names):
            resource_json = self.rm._resource_json_map.get(name) or self.template["Resources"].get(
                name, {}
            )
            rtype = str(resource_json.get("Type", ""))
            physical = stack_events.physical_id(self.rm._parsed_resources.get(name))
            for status in ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"):
                stack_events.resource_event(self.stack, name, rtype, status, None, physical)

    def keep_dropped(self) -> None:
        """The update failed: the resources it would have deleted stay in the stack."""
        for name, (resource, resource_json) in self.dropped.items():
            self.rm._parsed_resources[name] = resource
            self.rm._resource_json_map[name] = resource_json
        self.dropped.clear()

    def _continue(self) -> None:
        rm = self.rm
        while self.pending:
            name = self.pending.pop(0)
            resource_json = rm._resource_json_map[name]
            condition = resource_json.get("Condition")
            if condition and not rm.lazy_condition_map[condition]:
                continue
            rtype = str(resource_json.get("Type", ""))
            if name not in rm._parsed_resources:
                stack_events.created(self.stack, name, rtype, rm[name])  # rm[name] creates it
                continue
            after = resolve(rm, resource_json)
            if after is _UNRESOLVED or after == self.before.get(name):
                continue
            physical = stack_events.physical_id(rm._parsed_resources[name])
            stack_events.resource_event(
                self.stack, name, rtype, "UPDATE_IN_PROGRESS", None, physical
            )
            self.updated.append(name)
            self.state.collecting = []
            self.state.previous_resources = self.before
            try:
                changed = parse_and_update_resource(
                    name, resource_json, rm, account_id=rm._account_id, region_name=rm._region_name
                )
            except _FAILURES as error:
                self.failing = name
                self._fail(error)
                return
            finally:
                started, self.state.collecting = self.state.collecting or [], None
            if changed is not None:
                rm._parsed_resources[name] = changed
            now = stack_events.physical_id(rm._parsed_resources[name])
            if now != physical:
                self.replaced.append((name, rtype, physical))
                stack_events.resource_event(
                    self.stack, name, rtype, "UPDATE_IN_PROGRESS", stack_events.REPLACING, now
                )
            running = [op for op in started if not op.done]
            if running:
                self.running = name
                self._wait(running)
                return
            stack_events.resource_event(self.stack, name, rtype, "UPDATE_COMPLETE", None, now)
        self.on_done(None)

    def _wait(self, running: list[Operation]) -> None:
        left = set(running)

        def finished(op: Operation) -> None:
            left.discard(op)
            if op.failure and self.failed is None:
                self.failed = op.failure
            if left:
                return
            name, self.running = self.running, ""
            rtype = str(self.rm._resource_json_map[name].get("Type", ""))
            physical = stack_events.physical_id(self.rm._parsed_resources.get(name))
            if self.failed is not None:
                stack_events.resource_event(
                    self.stack, name, rtype, "UPDATE_FAILED", self.failed, physical
                )
                self.failing = name
                self.on_done(_failed_to_update(name))
            else:
                stack_events.resource_event(
                    self.stack, name, rtype, "UPDATE_COMPLETE", None, physical
                )
                self._continue()

        for op in running:
            op.on_finish(finished)

    def _fail(self, error: Exception) -> None:
        resource = self.template["Resources"].get(self.failing, {})
        reason = getattr(error, "message", "") or str(error)
        if hasattr(error, "description"):  # EKS errors carry their message in JSON
            reason = json.loads(error.description).get("message", reason)
        rtype = str(resource.get("Type", ""))
        physical = stack_events.physical_id(self.rm._parsed_resources.get(self.failing))
        if self.failing not in self.updated:
            stack_events.resource_event(
                self.stack, self.failing, rtype, "UPDATE_IN_PROGRESS", None, physical
            )
        stack_events.resource_event(
            self.stack, self.failing, rtype, "UPDATE_FAILED", reason, physical
        )
        self.on_done(_failed_to_update(self.failing))


def _failed_to_update(name: str) -> str:
    return f"The following resource(s) failed to update: [{name}]. "


def _has_changes(stack: Any, template: dict[str, Any], parameters: dict[str, Any]) -> bool:
    return template != stack.template_dict or (parameters or {}) != (stack.parameters or {})


def run_update(
    stack: Any, template: str, parameters: dict[str, Any] | None, *, refuse_no_op: bool
) -> None:
    """Update ``stack`` to ``template``/``parameters`` the way CloudFormation does."""
    state = require()
    if stack.status.endswith("_IN_PROGRESS"):
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
        )
    new_dict = stack.parse_template(template)
    params = _keep_ssm_paths(stack, new_dict, dict(parameters or {}))
    if refuse_no_op and not _has_changes(stack, new_dict, params):
        raise ValidationError(message="No updates are to be performed.")
    old = (stack.template, stack.template_dict, stack.parameters)
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "UPDATE_IN_PROGRESS"
    stack.template, stack.template_dict = template, new_dict
    if params:
        stack.parameters = params
    update = StackUpdate(state, stack, new_dict, params)

    def done(failure: str | None) -> None:
        if failure is None:
            stack.output_map = stack._create_output_map()
            stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            update.cleanup()
            stack._add_stack_event("UPDATE_COMPLETE")
            stack.status = "UPDATE_COMPLETE"
            return
        update.keep_dropped()
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=failure)
        stack.template, stack.template_dict, stack.parameters = old
        stack.resource_map._template = old[1]
        update.rollback_events()
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"

    update.on_done = done
    update.start()


def _keep_ssm_paths(
    stack: Any, template: dict[str, Any], parameters: dict[str, Any]
) -> dict[str, Any]:
    """moto's UsePreviousValue passes the *resolved* value of an SSM-typed parameter;
    CloudFormation keeps the parameter path."""
    slots = template.get("Parameters", {})
    for key, value in parameters.items():
        kind = str(slots.get(key, {}).get("Type", ""))
        previous = (stack.parameters or {}).get(key)
        if (
            kind.startswith("AWS::SSM::Parameter::")
            and previous is not None
            and value == stack.resource_map.resolved_parameters.get(key)
        ):
            parameters[key] = previous
    return parameters
