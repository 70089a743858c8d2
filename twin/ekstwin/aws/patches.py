"""Every change the twin makes to moto 5.2.5, in one place, each saying what AWS does.

Installed once per process by :func:`install`. Patches that need the running twin (its
clock, its hooks) fall back to moto's own behaviour when no twin is active.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

import yaml
from moto.autoscaling.models import (
    AutoScalingBackend,
    FakeAutoScalingGroup,
    InstanceState,
    TerminateInstanceActivity,
)
from moto.autoscaling.responses import AutoScalingResponse
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend
from moto.ec2.models.instances import Instance, InstanceBackend
from moto.ec2.models.security_groups import SecurityGroupIngress
from moto.ec2.models.subnets import Subnet
from moto.eks.exceptions import InvalidParameterException
from moto.eks.models import EKSBackend
from moto.ssm.models import ssm_backends

from ekstwin.aws import (
    addresses,
    asg_launch,
    asg_lifecycle,
    asg_rollout,
    change_set_diff,
    ec2_resources,
    eks_addon_resource,
    eks_resources,
    fidelity,
    stack_events,
    stack_updates,
    virtual_time,
)
from ekstwin.aws.state import active
from upgrader.catalog.versions import catalog
from upgrader.errors import VersionError

_installed = False
_guard = threading.Lock()


def _wrap(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(owner, name)
    setattr(owner, name, functools.wraps(original)(make(original)))


def install() -> None:
    """Apply the patches (idempotent)."""
    global _installed  # noqa: PLW0603 - moto's classes are process-global
    with _guard:
        if _installed:
            return
        _cloudformation()
        _change_sets_and_events()
        _eks()
        _autoscaling()
        _lifecycle_hooks()
        _ec2()
        _ec2_interfaces()
        fidelity.install()
        virtual_time.install()
        _installed = True


def _given_parameters(stack: Any) -> dict[str, str]:
    rm = stack.resource_map
    out: dict[str, str] = {}
    for name, slot in (rm._template.get("Parameters") or {}).items():
        if name in rm.input_parameters:
            value = rm.input_parameters[name]
        elif "Default" in slot:
            value = slot["Default"]
        else:
            continue
        out[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


def _parameter_list(stack: Any) -> list[dict[str, Any]]:
    rm = stack.resource_map
    slots = rm._template.get("Parameters") or {}
    out = []
    for key, value in _given_parameters(stack).items():
        entry: dict[str, Any] = {
            "ParameterKey": key,
            "ParameterValue": "****" if key in rm.no_echo_parameter_keys else value,
        }
        if str(slots.get(key, {}).get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
            entry["ResolvedValue"] = rm.resolved_parameters.get(key)
        out.append(entry)
    return out


def _cloudformation() -> None:
    # AWS: AWS::EKS::Cluster, AWS::EKS::Nodegroup, AWS::EKS::Addon and
    # AWS::EC2::SecurityGroupEgress are real resource types (moto skips them). moto builds
    # its type map once from CloudFormationModel.__subclasses__().
    assert eks_resources.EksCluster.cloudformation_type() == "AWS::EKS::Cluster"
    assert eks_addon_resource.EksAddonResource.cloudformation_type() == "AWS::EKS::Addon"
    assert ec2_resources.SecurityGroupEgress.cloudformation_type().endswith("Egress")
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()

    # AWS: an AWS::EC2::SecurityGroupIngress resource's physical ID is its rule's ID (moto
    # gives none, so DescribeStackResources left PhysicalResourceId out).
    def ingress(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(
            cls: Any,
            name: str,
            cfn_json: dict[str, Any],
            account_id: str,
            region: str,
            /,
            **kw: Any,
        ) -> Any:
            ec2 = ec2_backends[account_id][region]
            create = functools.partial(original, name, cfn_json, account_id, region, **kw)
            return ec2_resources.created_ingress(create, cfn_json, ec2)

        return classmethod(patched)  # type: ignore[return-value]

    name = "create_from_cloudformation_json"
    setattr(SecurityGroupIngress, name, ingress(getattr(SecurityGroupIngress, name)))
    SecurityGroupIngress.physical_resource_id = property(ec2_resources.ingress_rule_id)  # type: ignore[attr-defined]

    # AWS: updates cascade resolved values, wait for long operations, can fail and roll
    # back, and "No updates are to be performed." (see stack_updates).
    def update(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(
            self: Any,
            template: str,
            role_arn: str | None = None,
            parameters: dict[str, Any] | None = None,
            tags: dict[str, str] | None = None,
        ) -> None:
            if active() is None:
                original(self, template, role_arn, parameters, tags)
                return
            stack_updates.run_update(self, template, parameters, refuse_no_op=True)
            self.role_arn = role_arn
            if tags is not None:
                self.tags = tags

        return patched

    _wrap(Stack, "update", update)

    # AWS: executing an UPDATE change set is a stack update like any other.
    def execute(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
            change_set = self.describe_change_set(change_set_name)
            if active() is None or change_set.change_set_type != "UPDATE":
                original(self, change_set_name, stack_name)
                return
            stack = self.stacks[change_set.stack_id]
            stack_updates.run_update(
                stack, change_set.template, change_set.parameters, refuse_no_op=False
            )
            change_set.execution_status = "EXECUTE_COMPLETE"
            # AWS: executing a change set removes every change set of the stack (they no
            # longer apply to the updated stack)
            for key in [k for k, c in self.change_sets.items() if c.stack_id == stack.stack_id]:
                del self.change_sets[key]

        return patched

    _wrap(CloudFormationBackend, "execute_change_set", execute)

    # AWS: a stack's parameters are the values given (or the template defaults): an SSM
    # path stays a path (DescribeStacks adds its ResolvedValue), a list stays "a,b". moto
    # hands out the resolved values, so UsePreviousValue re-sent an AMI ID as an SSM name
    # and a Python list as a string, and ExecuteChangeSet failed.
    Stack.stack_parameters = property(_given_parameters)  # type: ignore[method-assign,assignment]
    Stack.parameter_list = property(_parameter_list)  # type: ignore[method-assign,assignment]

    # AWS: ListChangeSets lists the change sets of the StackName given (moto: all of them).
    def list_change_sets(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> ActionResult:
            stack = self._get_param("StackName")
            if not stack:
                return original(self)  # type: ignore[no-any-return]
            summaries = [
                c
                for c in self.cloudformation_backend.list_change_sets()
                if stack in (c.stack_name, c.stack_id)
            ]
            return ActionResult({"Summaries": summaries})

        return patched

    _wrap(CloudFormationResponse, "list_change_sets", list_change_sets)

    # AWS: a missing SSM parameter fails validation instead of an HTTP 500.
    def ssm_parameter(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, value: str, value_type: str) -> Any:
            backend = ssm_backends[self._account_id][self._region_name]
            if backend.get_parameter(value) is None:
                raise ValidationError(
                    message=f"Unable to fetch parameters [{value}] from parameter store "
                    "for this account."
                )
            return original(self, value, value_type)

        return patched

    _wrap(parsing.ResourceMap, "parse_ssm_parameter", ssm_parameter)

    # AWS: a short tag on a mapping (`UserData: !Base64 {"Fn::Sub": ...}`, as in AWS's 2019
    # node-group template) takes the whole mapping; moto hands on raw YAML nodes (HTTP 500).
    # moto registers its constructor by module-global name on every parse.
    def yaml_tag(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(loader: Any, tag: str, node: Any) -> Any:
            if isinstance(node, yaml.MappingNode):
                key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
                return {key: loader.construct_mapping(node, deep=True)}
            return original(loader, tag, node)

        return patched

    for module in (cfn_models, cfn_responses):
        _wrap(module, "yaml_tag_constructor", yaml_tag)


def _change_sets_and_events() -> None:
    # AWS: a change set lists each resource it adds, modifies (with Replacement, Scope and
    # Details) or removes, parameter-only changes included (see change_set_diff).
    def diff(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> Any:
            if active() is None:
                return original(self)
            creating = self.change_set_type == "CREATE"
            return change_set_diff.diff(
                self.stack, self.template_dict, self.parameters, creating=creating
            )

        return patched

    _wrap(ChangeSet, "diff", diff)

    # AWS: ChangeSetType defaults to UPDATE; CREATE for a stack that exists is refused; a
    # change set without changes is created FAILED (moto: default CREATE, which listed every
    # resource as Add, and "No updates are to be performed." as an error).
    def create_change_set(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> ActionResult:
            if active() is None:
                return original(self)  # type: ignore[no-any-return]
            self.params.setdefault("ChangeSetType", "UPDATE")
            if self.params["ChangeSetType"] == "CREATE":
                change_set_diff.check_create(
                    self.cloudformation_backend,
                    self._get_param("StackName"),
                    self._get_param("ChangeSetName"),
                )
            self._validate_different_update = lambda *_args: None
            return original(self)  # type: ignore[no-any-return]

        return patched

    _wrap(CloudFormationResponse, "create_change_set", create_change_set)

    def backend_create_change_set(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, *args: Any, **kw: Any) -> tuple[str, str]:
            change_set_id, stack_id = original(self, *args, **kw)
            if active() is not None:
                change_set_diff.settle(self.change_sets[change_set_id])
            return change_set_id, stack_id

        return patched

    _wrap(CloudFormationBackend, "create_change_set", backend_create_change_set)

    # AWS: DescribeChangeSet pages its Changes (NextToken).
    def describe_change_set(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> ActionResult:
            if active() is None:
                return original(self)  # type: ignore[no-any-return]
            change_set = self.cloudformation_backend.describe_change_set(
                change_set_name=self._get_param("ChangeSetName")
            )
            page = change_set_diff.page(change_set, self._get_param("NextToken"))
            return ActionResult(page)

        return patched

    _wrap(CloudFormationResponse, "describe_change_set", describe_change_set)

    # AWS: stack events carry the (virtual) time; CreateStack records every resource's
    # CREATE_IN_PROGRESS / CREATE_COMPLETE (see stack_events).
    def add_stack_event(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, *args: Any, **kw: Any) -> None:
            original(self, *args, **kw)
            stack_events.stamp(self, self.events[-1])

        return patched

    _wrap(Stack, "_add_stack_event", add_stack_event)

    def create_resources(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> None:
            first = len(self.events)
            original(self)
            if active() is not None:
                stack_events.record_creation(self, first)

        return patched

    _wrap(Stack, "create_resources", create_resources)
    # moto's ResourceMap calls parse_and_create_resource by its module name
    parsing.parse_and_create_resource = stack_events.timed(parsing.parse_and_create_resource)


def _eks() -> None:
    # AWS: EKS rejects versions it does not offer, defaults to a current one, creates a
    # cluster security group, and (here) serves the sandbox's Kubernetes endpoint and CA.
    def create_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(
            self: Any, name: str, role_arn: str, resources_vpc_config: Any, **kw: Any
        ) -> Any:
            state = active()
            if state is None:
                return original(self, name, role_arn, resources_vpc_config, **kw)
            version = kw.get("version") or str(catalog().newest_kubernetes().minor_str)
            try:
                catalog().kubernetes(version)
            except VersionError:
                raise InvalidParameterException(
                    clusterName=name, nodegroupName=None, fargateProfileName=None,
                    addonName=None, message="unsupported Kubernetes version",
                ) from None  # fmt: skip
            kw["version"] = version
            config = dict(resources_vpc_config or {})
            cluster = original(self, name, role_arn, config, **kw)
            ec2 = ec2_backends[self.account_id][self.region_name]
            subnets = config.get("subnetIds") or []
            vpc_id = ec2.get_subnet(subnets[0]).vpc_id if subnets else None
            group = ec2.create_security_group(
                name=f"eks-cluster-sg-{name}",
                description="EKS created security group applied to ENI that is attached to "
                "EKS Control Plane master nodes, as well as any managed workloads.",
                vpc_id=vpc_id,
                tags={f"kubernetes.io/cluster/{name}": "owned", "aws:eks:cluster-name": name},
            )
            config.update({"clusterSecurityGroupId": group.id, "vpcId": vpc_id or ""})
            cluster.resources_vpc_config = config
            cluster.platformVersion = "eks.1"
            if state.kube_endpoint:
                cluster.endpoint = state.kube_endpoint
            if state.kube_ca_data:
                cluster.certificate_authority = {"data": state.kube_ca_data}
            return cluster

        return patched

    _wrap(EKSBackend, "create_cluster", create_cluster)


def _autoscaling() -> None:
    # AWS: CloudFormation updates an ASG in place; instances are replaced only under an
    # AutoScalingRollingUpdate policy (moto deletes and recreates the group).
    def update_from_cfn(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(
            cls: Any,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> Any:
            if active() is None:
                return original(
                    original_resource,
                    new_resource_name,
                    cloudformation_json,
                    account_id,
                    region_name,
                )
            return asg_rollout.update_in_place(original_resource, cloudformation_json)

        return classmethod(patched)  # type: ignore[return-value]

    name = "update_from_cloudformation_json"
    setattr(FakeAutoScalingGroup, name, update_from_cfn(getattr(FakeAutoScalingGroup, name)))

    # AWS: launches are balanced across the group's zones, skip full subnets and record a
    # failed activity when no subnet has an address (moto: first subnet, no limit).
    def replace(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
            if active() is None:
                original(self, count_needed, propagated_tags)
                return
            asg_rollout.launch_instances(self, count_needed, propagated_tags)

        return patched

    _wrap(FakeAutoScalingGroup, "replace_autoscaling_group_instances", replace)

    # AWS: DescribeScalingActivities lists launches and failures, newest first.
    def activities(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> ActionResult:
            if active() is None:
                return original(self)  # type: ignore[no-any-return]
            single = self._get_param("AutoScalingGroupName")
            wanted = {single} if single else set()
            found: list[dict[str, Any]] = []
            for name, group in self.autoscaling_backend.autoscaling_groups.items():
                if not wanted or name in wanted:
                    found.extend(group.__dict__.get("twin_activities", []))
            found.sort(key=lambda a: a["StartTime"] or 0, reverse=True)
            return ActionResult({"Activities": found})

        return patched

    _wrap(AutoScalingResponse, "describe_scaling_activities", activities)

    # AWS: an instance reports the launch configuration or launch template version it was
    # launched from, whatever its group uses now (moto: the group's current one, and the
    # template's default version).
    def own(original: Any, mine: Callable[[Any], Any]) -> Any:
        def get(self: Any) -> Any:
            if asg_launch.launched_from(self) is None:
                return original.fget(self)
            return mine(self)

        return property(get)

    InstanceState.launch_configuration_name = own(  # type: ignore[method-assign]
        InstanceState.launch_configuration_name, asg_launch.member_launch_configuration
    )
    InstanceState.launch_template = own(  # type: ignore[method-assign]
        InstanceState.launch_template, asg_launch.member_launch_template
    )


def _lifecycle_hooks() -> None:
    # AWS: an instance the group terminates while it has EC2_INSTANCE_TERMINATING hooks waits
    # in Terminating:Wait until its actions complete or time out (moto terminates at once).
    def terminate_instance(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, instance_id: str, should_decrement: bool) -> Any:
            member = asg_lifecycle.member_of(self, instance_id)
            if active() is None or member is None:
                return original(self, instance_id, should_decrement)
            group = member.instance.autoscaling_group
            if not asg_lifecycle.terminating_hooks(group):
                return original(self, instance_id, should_decrement)
            size = group.desired_capacity
            if member.lifecycle_state == asg_lifecycle.IN_SERVICE:
                if should_decrement:
                    group.desired_capacity = size - 1
                asg_lifecycle.terminate(
                    group,
                    [member],
                    cause=f"At {active_iso()} instance {instance_id} was taken out of service "
                    "in response to a user request.",
                )
                group.set_desired_capacity(group.desired_capacity)  # launches a replacement
            return TerminateInstanceActivity(member.instance, size)

        return patched

    _wrap(AutoScalingBackend, "terminate_instance", terminate_instance)

    # AWS: a scale-in takes the instances out of service through the terminating hooks.
    def set_desired(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, new_capacity: int | None) -> None:
            if active() is None or not asg_lifecycle.terminating_hooks(self):
                original(self, new_capacity)
                return
            desired = self.min_size if new_capacity is None else new_capacity
            surplus = len(self.active_instances()) - (desired or 0)
            if surplus <= 0:
                original(self, new_capacity)
                return
            self.desired_capacity = desired
            chosen = [m for m in self.active_instances() if not m.protected_from_scale_in]
            asg_lifecycle.terminate(
                self,
                chosen[:surplus],
                cause=f"At {active_iso()} a user request explicitly set group desired capacity "
                f"changing the desired capacity to {desired}.",
            )

        return patched

    _wrap(FakeAutoScalingGroup, "set_desired_capacity", set_desired)

    # AWS: deleting a hook completes its outstanding terminating actions with CONTINUE.
    def delete_hook(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, as_name: str, name: str) -> None:
            if active() is not None:
                asg_lifecycle.release_hook(self, as_name, name)
            original(self, as_name, name)

        return patched

    _wrap(AutoScalingBackend, "delete_lifecycle_hook", delete_hook)

    # AWS: a group's hooks go with it (here its waiting instances terminate, as ForceDelete).
    def delete_group(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, group_name: str) -> None:
            if active() is not None and group_name in self.autoscaling_groups:
                for hook in asg_lifecycle.terminating_hooks(self.autoscaling_groups[group_name]):
                    self.delete_lifecycle_hook(group_name, hook.name)
            original(self, group_name)

        return patched

    _wrap(AutoScalingBackend, "delete_auto_scaling_group", delete_group)

    # AWS: CompleteLifecycleAction and RecordLifecycleActionHeartbeat (moto: HTTP 500).
    def complete_lifecycle_action(self: Any) -> ActionResult:
        asg_lifecycle.complete(
            self.autoscaling_backend,
            self._get_param("AutoScalingGroupName"),
            self._get_param("LifecycleHookName"),
            self._get_param("LifecycleActionResult"),
            instance_id=self._get_param("InstanceId"),
            token=self._get_param("LifecycleActionToken"),
        )
        return EmptyResult()

    def record_lifecycle_action_heartbeat(self: Any) -> ActionResult:
        asg_lifecycle.heartbeat(
            self.autoscaling_backend,
            self._get_param("AutoScalingGroupName"),
            self._get_param("LifecycleHookName"),
            instance_id=self._get_param("InstanceId"),
            token=self._get_param("LifecycleActionToken"),
        )
        return EmptyResult()

    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action  # type: ignore[attr-defined]
    AutoScalingResponse.record_lifecycle_action_heartbeat = record_lifecycle_action_heartbeat  # type: ignore[attr-defined]


def active_iso() -> str:
    """The twin's virtual now as Auto Scaling writes it in an activity's cause."""
    state = active()
    return state.now().strftime("%Y-%m-%dT%H:%M:%SZ") if state is not None else ""


def _ec2() -> None:
    # AWS: RunInstances fails with InsufficientFreeAddressesInSubnet when the subnet has
    # too few addresses; the primary ENI it creates is deleted on termination; launch
    # times are the (virtual) time of launch.
    def run_instances(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(
            self: Any, image_id: str, count: int, user_data: Any, sgs: Any, **kw: Any
        ) -> Any:
            state = active()
            subnet_id = kw.get("subnet_id") or next(
                (n.get("SubnetId") for n in kw.get("nics", []) if n.get("SubnetId")), None
            )
            if (
                state is not None
                and subnet_id
                and addresses.free_count(self.get_subnet(subnet_id)) < int(count)
            ):
                raise addresses.insufficient_for_instances(subnet_id)
            reservation = original(self, image_id, count, user_data, sgs, **kw)
            explicit = {int(n.get("DeviceIndex", 0)): n for n in kw.get("nics", [])}
            for instance in reservation.instances:
                # moto defaults an instance launched by an ASG to us-east-1, which names
                # it ip-….ec2.internal; AWS names it ip-….<region>.compute.internal.
                instance.region_name = self.region_name
                spec = explicit.get(0, {})
                primary = instance.nics.get(0)
                if primary is not None and "NetworkInterfaceId" not in spec:
                    primary.delete_on_termination = spec.get("DeleteOnTermination", True) in (
                        True,
                        "true",
                    )
                if state is not None:
                    instance.launch_time = state.now()
                    instance.twin_launch_time = state.clock.now()
            return reservation

        return patched

    _wrap(InstanceBackend, "run_instances", run_instances)

    # AWS: terminating detaches the ENIs that are not DeleteOnTermination (they become
    # `available`) and deletes the others, giving their addresses back to the subnet.
    def terminate(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any) -> Any:
            if active() is None:
                return original(self)
            if self.state == "terminated":  # AWS: terminating twice is a no-op
                return copy.copy(self._state)
            for eni in list(self.nics.values()):
                if not eni.delete_on_termination:
                    self.detach_eni(eni)
            for ip in list(self._private_ips):
                self.ec2_backend.get_subnet(self.subnet_id).del_subnet_ip(ip)
            self._private_ips.clear()
            return original(self)

        return patched

    _wrap(Instance, "terminate", terminate)

    # AWS: addresses are unique within the subnet (moto picks ENI addresses at random).
    def subnet_ip(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, instance: Any) -> str:
            if active() is None:
                return original(self, instance)  # type: ignore[no-any-return]
            ip = addresses.allocate(self, 1)[0]
            self._subnet_ips[ip] = instance
            return ip

        return patched

    _wrap(Subnet, "get_available_subnet_ip", subnet_ip)


def _ec2_interfaces() -> None:
    # AWS: CreateNetworkInterface takes free addresses or fails with
    # InsufficientFreeAddressesInSubnet.
    def create_eni(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, subnet: Any, private_ip_address: Any, *args: Any, **kw: Any) -> Any:
            if active() is None:
                return original(self, subnet, private_ip_address, *args, **kw)
            if isinstance(subnet, str):
                subnet = self.get_subnet(subnet)
            secondary = int(kw.pop("secondary_ips_count", None) or 0)
            given = private_ip_address or (args[0] if args else None)
            if addresses.free_count(subnet) < (0 if given else 1) + secondary:
                raise addresses.insufficient_for_eni()
            if not given:
                private_ip_address = addresses.allocate(subnet, 1)[0]
            eni = original(self, subnet, private_ip_address, *args, **kw)
            if secondary:
                eni.private_ip_addresses.extend(
                    {"Primary": False, "PrivateIpAddress": ip}
                    for ip in addresses.allocate(subnet, secondary)
                )
            return eni

        return patched

    _wrap(NetworkInterfaceBackend, "create_network_interface", create_eni)

    # AWS: AssignPrivateIpAddresses respects the subnet's free addresses and the
    # instance type's IPv4-per-ENI limit.
    def assign(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(
            self: Any,
            eni_id: str,
            private_ip_addresses: list[str] | None = None,
            secondary_ips_count: int | None = None,
        ) -> Any:
            if active() is None:
                return original(self, eni_id, private_ip_addresses, secondary_ips_count)
            eni = self.get_network_interface(eni_id)
            wanted = len(private_ip_addresses or []) or int(secondary_ips_count or 0)
            addresses.check_ip_limit(eni, wanted)
            if addresses.free_count(eni.subnet) < wanted:
                raise addresses.insufficient_for_eni()
            chosen = private_ip_addresses or addresses.allocate(eni.subnet, wanted)
            return original(self, eni_id, chosen, None)

        return patched

    _wrap(NetworkInterfaceBackend, "assign_private_ip_addresses", assign)

    # AWS: AttachNetworkInterface enforces the instance type's ENI count
    # (AttachmentLimitExceeded) and one ENI per device index.
    def attach(original: Callable[..., Any]) -> Callable[..., Any]:
        def patched(self: Any, eni_id: str, instance_id: str, device_index: int) -> Any:
            if active() is not None:
                addresses.check_attach(self.get_instance(instance_id), int(device_index))
            return original(self, eni_id, instance_id, device_index)

        return patched

    _wrap(NetworkInterfaceBackend, "attach_network_interface", attach)
