"""Per step: what it does, the exact commands to watch or do it by hand, and rollback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from upgrader.catalog.versions import catalog
from upgrader.errors import UpgraderError
from upgrader.markdown import code, inline, table
from upgrader.model.addons import object_of
from upgrader.model.drain_hook import HEARTBEAT_SECONDS, HOOK, replaces_instances
from upgrader.model.plan import Plan
from upgrader.model.steps import (
    AddonStep,
    ChangeSet,
    CniStep,
    ControlPlaneStep,
    FargateRestartStep,
    ManagedAddonAdoptStep,
    ManagedAddonStackStep,
    ManagedAddonStep,
    NodegroupRollStep,
    NodegroupStackStep,
    Step,
    StepKind,
    TemplateChange,
    VerifyStep,
)
from upgrader.runbook import kubectl, managed_move
from upgrader.runbook.ipamd import IpamdGuide, guide
from upgrader.runbook.redact import safe_mapping, scrub
from upgrader.semver import Version

CFN_EVENTS_QUERY = (
    "'StackEvents[].[Timestamp,LogicalResourceId,ResourceStatus,ResourceStatusReason]'"
)
COREDNS_FORWARD_SINCE = Version(1, 5, 0)  # CoreDNS 1.5.0 removed the proxy plugin
QUOTED_NODE = '"$node"'
SUSPENDED = "AZRebalance"  # would terminate nodes, undrained, to even out AZs during a surge


@dataclass(frozen=True, slots=True, kw_only=True)
class StepGuide:
    """The human side of one step."""

    what: str
    details: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    rollback: str = ""
    rollback_commands: tuple[str, ...] = ()


def _version(text: str) -> Version | None:
    try:
        return Version.parse(text)
    except UpgraderError:
        return None


def cfn_wait(region: str, stack: str) -> list[str]:
    """Wait for a stack update, then show its last events."""
    return [
        "# the waiter gives up after 60 min; run it again while the stack is UPDATE_IN_PROGRESS",
        f"aws cloudformation wait stack-update-complete --region {region} --stack-name {stack}",
        f"aws cloudformation describe-stack-events --region {region} --stack-name {stack}"
        f" --max-items 15 --query {CFN_EVENTS_QUERY} --output table",
    ]


def change_set_commands(region: str, stack: str, change_set: ChangeSet) -> list[str]:
    """Describe, then execute, the plan's change set."""
    return describe_and_execute(region, stack, change_set.name)


def describe_and_execute(region: str, stack: str, name: str) -> list[str]:
    """Describe, then execute, change set ``name`` of ``stack``."""
    return [
        f"aws cloudformation describe-change-set --region {region} --stack-name {stack}"
        f" --change-set-name {name} --query"
        " 'Changes[].ResourceChange.[Action,LogicalResourceId,ResourceType,Replacement]'"
        " --output table",
        f"aws cloudformation execute-change-set --region {region} --stack-name {stack}"
        f" --change-set-name {name}",
    ]


def _subnets_free(region: str, subnet_ids: Sequence[str]) -> str:
    return (
        f"aws ec2 describe-subnets --region {region} --subnet-ids {' '.join(subnet_ids)}"
        " --query 'Subnets[].[SubnetId,AvailabilityZone,AvailableIpAddressCount]'"
        " --output table"
    )


def change_table(change_set: ChangeSet) -> str:
    """The change set's resource changes as a table."""
    rows = [[c.action, c.logical_id, c.type, str(c.replacement)] for c in change_set.changes]
    head = f"Change set {inline(change_set.name)} (created, not executed):"
    if not rows:
        return head + " no resource changes."
    return head + "\n\n" + table(["Action", "Logical ID", "Type", "Replacement"], rows)


def _control_plane(plan: Plan, step: ControlPlaneStep) -> StepGuide:
    region, stack = plan.region, step.stack
    old, new = step.from_, step.to
    parameter = "KubernetesVersion" if step.parameter is None else step.parameter
    change_set = step.change_set
    commands = [
        f"aws eks describe-cluster --region {region} --name {plan.cluster}"
        " --query 'cluster.[status,version,platformVersion]' --output text",
    ]
    details: list[str] = []
    if change_set is not None:
        details.append(change_table(change_set))
        commands += change_set_commands(region, stack, change_set)
    else:
        commands.append(
            f"aws cloudformation create-change-set --region {region} --stack-name {stack}"
            f" --change-set-name upgrader-{new.replace('.', '-')} --use-previous-template"
            f" --parameters ParameterKey={parameter},ParameterValue={new}"
            "  # plus ParameterKey=<other>,UsePreviousValue=true for every other parameter"
        )
    control_plane_subnets = sorted(
        s.subnet_id for s in plan.context.subnets if s.control_plane and s.subnet_id
    )
    if control_plane_subnets:
        commands.insert(1, _subnets_free(region, control_plane_subnets) + "  # CAP002")
    commands += [
        f"aws eks list-updates --region {region} --name {plan.cluster}",
        *cfn_wait(region, stack),
        "kubectl get --raw /version",
    ]
    return StepGuide(
        what=(
            f"Sets parameter {inline(parameter)} of stack {inline(stack)} from {inline(old)} to"
            f" {inline(new)}. EKS replaces the control plane in place; the API stays served"
            " (clients may see a few reconnects). Nodes and add-ons are untouched."
        ),
        details=tuple(details),
        commands=tuple(commands),
        rollback=(
            f"A failed update is undone by EKS and CloudFormation (stack"
            f" `UPDATE_ROLLBACK_COMPLETE`, cluster still {old}): read the events above, fix,"
            " run `upgrader apply` again. A finished upgrade can be rolled back to"
            f" {old} with EKS version rollback: `upgrader rollback` sets {inline(parameter)}"
            f" back to {old} through a change set on {inline(stack)}, and refuses (exit 3,"
            " nothing changed) unless the upgrade finished less than 7 days ago, every node"
            f" still runs {old} and no managed node group moved (their nodes cannot go back)."
            f" {_rollback_timeout(step)} Put add-ons newer than {old} back first. Stopping"
            f" here is safe: kubelets at {old} are within the version-skew policy."
        ),
        rollback_commands=(
            "upgrader rollback PLAN.json  # this plan's file; asks before it changes anything",
            f"aws eks list-updates --region {region} --name {plan.cluster}"
            "  # the VersionRollback update, then describe-update --update-id ...",
        ),
    )


def _rollback_timeout(step: ControlPlaneStep) -> str:
    if step.rollback_parameter is None or step.rollback_timeout_minutes is None:
        return (
            "The cluster's template sets no RollbackConfig, so EKS's default applies (a"
            " rollback may run 720 minutes before EKS cancels it); to choose it, give the"
            " AWS::EKS::Cluster `RollbackConfig: {TimeoutMinutes: !Ref <parameter>}`."
        )
    return (
        f"This step sets {inline(step.rollback_parameter)} (the cluster's"
        f" RollbackConfig.TimeoutMinutes) to {step.rollback_timeout_minutes}: how long a"
        " rollback may run before EKS cancels it."
    )


def _manifest_pipe(step: AddonStep | CniStep, plan_file: str, command: str) -> str:
    """The step's compiled objects piped to kubectl as one v1 List (kubectl refuses a bare
    JSON array)."""
    objects = f'.steps[] | select(.id == "{step.id}") | .params.manifest'
    as_list = f'{{apiVersion: "v1", kind: "List", items: ({objects})}}'
    return f"jq '{as_list}' {plan_file} | {command} -f -"


def _changes_between(old: IpamdGuide, new: IpamdGuide) -> list[str]:
    out: list[str] = []
    if old.introspection != new.introspection:
        out.append(
            f"introspection moves from {inline(old.introspection)} to {inline(new.introspection)}"
        )
    if old.metric_prefix != new.metric_prefix:
        out.append(
            f"metric names gain the {inline(new.metric_prefix)} prefix"
            f" ({inline(old.metric('total_ip_addresses'))} becomes"
            f" {inline(new.metric('total_ip_addresses'))}); update dashboards and alerts"
        )
    if old.enis_shape != new.enis_shape:
        out.append(f"`/v1/enis` returns {inline(new.enis_format)}")
    if old.pods_endpoint and not new.pods_endpoint:
        out.append("`/v1/pods` is gone (removed in v1.7.0)")
    return out


def _downgrade_floor(old: Version, new: Version) -> str:
    for floor in catalog().downgrade_floors:
        if new >= floor.once_at_least and old < floor.floor:
            return (
                f" Do not go back below {floor.floor} once {new} has run: {floor.reason}"
                f" ({floor.issue})."
            )
    return ""


def _managed_addon(plan: Plan, step: ManagedAddonStep) -> StepGuide:
    if isinstance(step, ManagedAddonStackStep):
        return _managed_addon_stack(plan, step)
    if isinstance(step, ManagedAddonAdoptStep):
        return _managed_addon_adopt(plan, step)
    cluster, region, name = plan.cluster, plan.region, step.addon
    kept = (
        " Its `configurationValues` are sent back exactly as EKS holds them."
        if step.configuration_values is not None
        else ""
    )
    update = (
        f"aws eks update-addon --region {region} --cluster-name {cluster} --addon-name {name}"
        f" --addon-version {step.to} --resolve-conflicts {step.resolve_conflicts}"
        + (" --configuration-values file://<its current configurationValues>" if kept else "")
    )
    gate = _cni_gate(name)
    return StepGuide(
        what=(
            f"EKS managed add-on {inline(name)} {inline(step.from_)} → {inline(step.to)}, a"
            f" version EKS offers for this Kubernetes minor, through `UpdateAddon` with"
            f" `resolveConflicts` {step.resolve_conflicts} (fields you changed on its objects"
            f" are kept).{kept} upgrader waits on `DescribeUpdate`, then for the rollout.{gate}"
        ),
        commands=(
            update,
            f"aws eks describe-addon --region {region} --cluster-name {cluster}"
            f" --addon-name {name} --query 'addon.[addonVersion,status,health]'",
            kubectl.pending_pods(),
        ),
        rollback=(
            f"Update the add-on back to {inline(step.from_)} the same way, while the control"
            " plane still accepts it."
        ),
        rollback_commands=(
            update.replace(f"--addon-version {step.to}", f"--addon-version {step.from_}"),
        ),
    )


def _cni_gate(addon: str) -> str:
    """vpc-cni's per-node gate, as a sentence (nothing for other add-ons)."""
    if addon != "vpc-cni":
        return ""
    return (
        " After each node's aws-node restarts, no pod on that node may stay"
        " `ContainerCreating` (POD001; aws/amazon-vpc-cni-k8s#59 is restarted once)."
    )


def _previous_values(region: str, stack: str, parameter: str, value: str, name: str) -> str:
    return (
        f"aws cloudformation create-change-set --region {region} --stack-name {stack}"
        f" --change-set-name {name} --use-previous-template"
        f" --parameters ParameterKey={parameter},ParameterValue={value}"
        "  # plus ParameterKey=<other>,UsePreviousValue=true for every other parameter"
    )


def _managed_addon_stack(plan: Plan, step: ManagedAddonStackStep) -> StepGuide:
    cluster, region, name, stack = plan.cluster, plan.region, step.addon, step.stack
    parameter, old, new = step.parameter, step.from_, step.to
    commands: list[str] = []
    details: list[str] = []
    if step.change_set is not None:
        details.append(change_table(step.change_set))
        commands += change_set_commands(region, stack, step.change_set)
    else:
        details.append(
            f"Its change set is made by `upgrader apply` when the step starts: an earlier"
            f" step of the plan updates stack {inline(stack)} first, and executing a change"
            " set drops the stack's others."
        )
        made = f"upgrader-{name}-{new}".replace(".", "-")
        commands += [
            _previous_values(region, stack, parameter, new, made),
            f"aws cloudformation execute-change-set --region {region} --stack-name {stack}"
            f" --change-set-name {made}",
        ]
    gate = _cni_gate(name)
    return StepGuide(
        what=(
            f"EKS add-on {inline(name)} {inline(old)} → {inline(new)}, a version EKS offers for"
            f" this Kubernetes minor. It is declared in stack {inline(stack)} as"
            f" {inline(step.resource)} (`AWS::EKS::Addon`), so a change set on that stack sets"
            f" parameter {inline(parameter)} from {inline(old)} to {inline(new)}; the template"
            f" is kept, so its `ResolveConflicts` ({inline(step.resolve_conflicts)}) and"
            " `ConfigurationValues` stay as you wrote them (upgrader never calls `UpdateAddon`"
            " behind CloudFormation's back). upgrader waits for the stack, the add-on, then the"
            f" rollout.{gate}"
        ),
        details=tuple(details),
        commands=(
            *commands,
            *cfn_wait(region, stack),
            f"aws eks describe-addon --region {region} --cluster-name {cluster}"
            f" --addon-name {name} --query 'addon.[addonVersion,status,health]'",
            kubectl.pending_pods(),
        ),
        rollback=(
            f"A failed update is rolled back by CloudFormation itself. After success, set"
            f" {inline(parameter)} back to its previous value {inline(old)} through another"
            f" change set on {inline(stack)}, while the control plane still accepts it."
        ),
        rollback_commands=(
            _previous_values(region, stack, parameter, old, "upgrader-rollback"),
            f"aws cloudformation execute-change-set --region {region} --stack-name {stack}"
            " --change-set-name upgrader-rollback",
        ),
    )


def _managed_addon_adopt(plan: Plan, step: ManagedAddonAdoptStep) -> StepGuide:
    cluster, region, name = plan.cluster, plan.region, step.addon
    base = f"aws eks %s --region {region} --cluster-name {cluster} --addon-name {name}"
    create = (
        base % "create-addon"
        + f" --addon-version {step.to} --resolve-conflicts {step.resolve_conflicts}"
        + (
            f" --configuration-values '{scrub(step.configuration_values)}'"
            if step.configuration_values
            else ""
        )
    )
    owned = object_of(name)
    shown = f"{owned[0]} `kube-system/{owned[1]}`" if owned else "its objects"
    values = (
        f" Its `configurationValues` carry the config's `cni.env`:"
        f" {inline(scrub(step.configuration_values))}."
        if step.configuration_values
        else ""
    )
    return StepGuide(
        what=(
            f"Makes the self-managed {inline(name)} ({shown}, {inline(step.from_)}) an EKS"
            f" managed add-on at {inline(step.to)} (`addons.adopt`): `CreateAddon` with"
            f" `resolveConflicts` {step.resolve_conflicts}, so EKS takes its objects over and"
            f" overwrites fields it manages.{values} From here on EKS owns {shown}: later"
            " steps update it through `UpdateAddon`, never through manifests. upgrader waits"
            " until the add-on is ACTIVE, then for the rollout."
        ),
        commands=(
            create,
            f"aws eks wait addon-active --region {region} --cluster-name {cluster}"
            f" --addon-name {name}",
            kubectl.pending_pods(),
        ),
        rollback=(
            f"Delete the add-on while keeping its objects (`--preserve`): {shown} stays as EKS"
            " left it and is self-managed again; re-apply your own manifest if you need your"
            " fields back."
        ),
        rollback_commands=(base % "delete-addon" + " --preserve",),
    )


def _addon(plan: Plan, step: AddonStep | CniStep, plan_file: str) -> StepGuide:
    ns, name, resource = step.namespace, step.name, step.resource.lower()
    old, new = step.from_, step.to
    target = Version.parse(plan.to.kubernetes)
    ref = f"{resource}/{name}"
    selector = kubectl.app_selector(name)
    apply: list[str] = []
    if step.manifest is not None:
        if kubectl.has_diff(target):
            apply.append(_manifest_pipe(step, plan_file, "kubectl diff"))
        apply.append(_manifest_pipe(step, plan_file, "kubectl apply"))
    else:
        apply.append(f"kubectl apply -f <compiled {name} {new} manifest>  # upgrader compile")
    watch = [
        f"kubectl -n {ns} rollout status {ref} --timeout=15m",
        f"kubectl -n {ns} get {resource} {name}"
        " -o jsonpath='{.spec.template.spec.containers[*].image}{\"\\n\"}'",
        f"kubectl -n {ns} get pods -l {selector} -o wide",
        kubectl.pending_pods(),
    ]
    details: list[str] = []
    extra = ""
    if isinstance(step, CniStep):
        env = safe_mapping(dict(plan.context.cni.env))
        carried = ", ".join(f"{inline(f'{k}={v}')}" for k, v in env.items()) or "none"
        extra = (
            f" The whole manifest is applied (DaemonSet, RBAC, ENIConfig CRD), carrying the"
            f" user's env: {carried}. After each node's aws-node restarts, upgrader checks that"
            " no pod on that node is stuck in `ContainerCreating` (POD001); if one is, it"
            " restarts aws-node on that node once (aws/amazon-vpc-cni-k8s#59) and reports it."
        )
        old_v, new_v = _version(old), _version(new)
        if old_v and new_v:
            user_env = dict(plan.context.cni.env)
            changes = _changes_between(guide(old_v, user_env), guide(new_v, user_env))
            if changes:
                details.append(
                    f"What changes for operators from {old} to {new}:\n\n"
                    + "\n".join(f"- {c}" for c in changes)
                )
        watch += [
            f"kubectl -n {ns} get {resource} {name} -o jsonpath="
            "'{range .spec.template.spec.containers[0].env[*]}{.name}={.value}{\"\\n\"}{end}'"
            " | grep -E '^(WARM_|MINIMUM_IP_TARGET|MAX_ENI|ENABLE_PREFIX|AWS_VPC_K8S_CNI_)'",
            "# per node, once its aws-node pod is Running again:",
            kubectl.pending_pods("<node-name>"),
        ]
    elif step.kind == StepKind.COREDNS:
        old_v, new_v = _version(old), _version(new)
        if old_v and new_v and old_v < COREDNS_FORWARD_SINCE <= new_v:
            extra = (
                " CoreDNS 1.5.0 removed the `proxy` plugin: the Corefile must use `forward`"
                " (the compiled ConfigMap does); a hand-kept Corefile with `proxy` crash-loops."
            )
    elif step.kind == StepKind.KUBE_PROXY:
        extra = " Each node's Service rules are reprogrammed while its kube-proxy restarts."
    rollback_note = ""
    old_v, new_v = _version(old), _version(new)
    if isinstance(step, CniStep) and old_v and new_v:
        rollback_note = _downgrade_floor(old_v, new_v)
    return StepGuide(
        what=(
            f"Rolls {inline(f'{ns}/{name}')} ({resource}) from {inline(old)} to {inline(new)}."
            + extra
        ),
        details=tuple(details),
        commands=(*apply, *watch),
        rollback=(
            f"`rollout undo` restores the previous pod template (image and env) of {ref};"
            " RBAC and CRD changes of the manifest stay, which older releases ignore."
            + rollback_note
        ),
        rollback_commands=(
            f"kubectl -n {ns} rollout undo {ref}",
            f"kubectl -n {ns} rollout status {ref} --timeout=15m",
        ),
    )


AL2023_SEGMENT = "/amazon-linux-2023/"  # an AMI parameter moving a group to AL2023


def _ssm_parameter(plan: Plan) -> str | None:
    try:
        return catalog().kubernetes(plan.to.kubernetes).ami_ssm_parameter()
    except UpgraderError:
        return None


def group_status(plan: Plan, kind: str, group: str, asg: str) -> str:
    """Show a managed group's status and version, or a self-managed group's ASG."""
    if kind == "managed":
        return (
            f"aws eks describe-nodegroup --region {plan.region} --cluster-name {plan.cluster}"
            f" --nodegroup-name {group} --query 'nodegroup.[status,version,releaseVersion]'"
            " --output text"
        )
    return (
        f"aws autoscaling describe-auto-scaling-groups --region {plan.region}"
        f" --auto-scaling-group-names {asg} --query 'AutoScalingGroups[0].[DesiredCapacity,"
        "MaxSize,LaunchTemplate.Version,SuspendedProcesses[].ProcessName]' --output json"
    )


def _drained_by_hook(policy: str, asg: str) -> str:
    return (
        f" CloudFormation replaces the group's nodes itself during this stack update ({policy})."
        f" So `upgrader apply` first puts a termination lifecycle hook {inline(HOOK)} on ASG"
        f" {inline(asg)}: every node the update terminates waits in `Terminating:Wait` while"
        " upgrader cordons and drains it through the Eviction API (PDB refusals retried),"
        " then upgrader completes its lifecycle action and the ASG terminates it;"
        " CloudFormation waits for that before its next batch. The hook is removed when the"
        " stack settles. The next step finds the replaced nodes and drains any old one left."
        " Executing the change set by hand: put the hook first, drain and complete each"
        " waiting instance while the stack updates, delete the hook afterwards (commands"
        " below)."
    )


def _hook_put(plan: Plan, asg: str) -> str:
    return (
        f"aws autoscaling put-lifecycle-hook --region {plan.region}"
        f" --auto-scaling-group-name {asg} --lifecycle-hook-name {HOOK}"
        " --lifecycle-transition autoscaling:EC2_INSTANCE_TERMINATING"
        f" --heartbeat-timeout {HEARTBEAT_SECONDS} --default-result CONTINUE"
    )


def _hook_drain_and_delete(plan: Plan, asg: str, stack: str) -> list[str]:
    region = plan.region
    hook = f"--auto-scaling-group-name {asg} --lifecycle-hook-name {HOOK}"
    waiting = (
        f"aws autoscaling describe-auto-scaling-groups --region {region}"
        f' --auto-scaling-group-names {asg} --query "AutoScalingGroups[0].Instances'
        "[?LifecycleState=='Terminating:Wait'].InstanceId\" --output text"
    )
    node = (
        f'node=$(aws ec2 describe-instances --region {region} --instance-ids "$id"'
        " --query 'Reservations[0].Instances[0].PrivateDnsName' --output text)"
    )
    drain = kubectl.drain(QUOTED_NODE, Version.parse(plan.to.kubernetes))
    return [
        "# repeat while the stack is UPDATE_IN_PROGRESS: drain each instance CloudFormation"
        " is terminating, then let it go",
        f"for id in $({waiting}); do",
        f'  {node}; kubectl cordon "$node" && {drain} &&',
        f"  aws autoscaling complete-lifecycle-action --region {region} {hook}"
        ' --lifecycle-action-result CONTINUE --instance-id "$id"',
        "done",
        *cfn_wait(region, stack),
        "# once the stack is UPDATE_COMPLETE (or rolled back) and no instance waits any more",
        f"aws autoscaling delete-lifecycle-hook --region {region} {hook}",
    ]


def table_of_parameters(step: NodegroupStackStep) -> str:
    """The parameters a node-group stack step sets, secrets masked ("" when none)."""
    if not step.parameters:
        return ""
    rows = [[inline(k), inline(v)] for k, v in safe_mapping(dict(step.parameters)).items()]
    return table(["Parameter", "New value"], rows)


def _nodegroup_stack(plan: Plan, step: NodegroupStackStep) -> StepGuide:
    region, stack, group = plan.region, step.stack, step.nodegroup
    view = plan.context.nodegroup(group)
    asg = (view.asg if view else None) or "<asg-name>"
    kind = view.kind if view else "self-managed"
    details: list[str] = [t for t in (table_of_parameters(step),) if t]
    commands: list[str] = []
    ssm = _ssm_parameter(plan)
    if ssm:
        commands.append(
            f"aws ssm get-parameter --region {region} --name {ssm}"
            " --query Parameter.Value --output text"
            + (f"  # expect {view.image_to}" if view else "")
        )
    replacing = replaces_instances(step)
    template = step.template
    saved = f"{stack}.before.yaml"
    if template is not None:
        details += template_change_details(template)
        commands.append(
            f"aws cloudformation get-template --region {region} --stack-name {stack}"
            f" --query TemplateBody --output text > {saved}  # the template before, kept"
        )
    change_set = step.change_set
    if change_set is not None:
        details.append(change_table(change_set))
        described, executed = change_set_commands(region, stack, change_set)
        # with CloudFormation replacing nodes, the hook must be on before the change set runs
        commands += [described, *([_hook_put(plan, asg)] if replacing else []), executed]
    elif replacing:
        commands.append(_hook_put(plan, asg))
    policy = step.update_policy
    image = f" (AMI {inline(view.image_from)} → {inline(view.image_to)})" if view else ""
    what = (
        f"Updates stack {inline(stack)} of node group {inline(group)} to the"
        f" {plan.to.kubernetes} AMI{image}."
    )
    if template is not None and any(AL2023_SEGMENT in v for _, v in step.parameters):
        what += (
            " Its change set also replaces the stack's template: Amazon Linux 2 has no AMI"
            f" for {plan.to.kubernetes}, so the group moves to Amazon Linux 2023 and its user"
            " data from /etc/eks/bootstrap.sh to a nodeadm NodeConfig. What is carried over,"
            " and the shell lines to review, are listed below with the diff."
            + "".join(
                f" **Port first ({f.id}):** {f.message}"
                for f in plan.findings
                if f.id == "AMI001" and f.subject == f"stack {stack}"
            )
        )
    elif template is not None:
        what += (
            " Its change set also replaces the stack's template: the launch configuration"
            " becomes a launch template (diff below)."
        )
    if replacing:
        what += _drained_by_hook(policy, asg)
        commands += [
            *_hook_drain_and_delete(plan, asg, stack),
            group_status(plan, kind, group, asg),
        ]
        rollback = (
            "A failed update is rolled back by CloudFormation itself, which replaces the nodes"
            " again; upgrader keeps draining them through the hook while it waits. After"
            " success the nodes already run the new AMI; going back is another stack update"
            " with the previous values"
            + (f" (AMI {inline(view.image_from)})" if view else "")
            + ", which CloudFormation rolls through the group the same way: put the hook on"
            " and drain as above."
        )
    else:
        what += (
            " No node is replaced by CloudFormation here"
            + (f" ({policy})" if policy else "")
            + ": the next step replaces them, drained, in waves."
        )
        commands += [*cfn_wait(region, stack), group_status(plan, kind, group, asg)]
        rollback = (
            "A failed update is rolled back by CloudFormation itself. After success, running"
            " nodes still use the old AMI; to return, update the stack with the previous"
            " values"
            + (f" (AMI {inline(view.image_from)})" if view else "")
            + " before the roll starts."
        )
    source = "--use-previous-template"
    if template is not None:
        source = f"--template-body file://{saved}"
        rollback += (
            f" Going back to the launch configuration also needs the template saved before"
            f" ({inline(saved)}), and AWS refuses it where launch configurations are disabled:"
            " prefer rolling forward."
        )
    return StepGuide(
        what=what,
        details=tuple(details),
        commands=tuple(commands),
        rollback=rollback,
        rollback_commands=(
            f"aws cloudformation create-change-set --region {region} --stack-name {stack}"
            f" --change-set-name upgrader-rollback {source}"
            " --parameters ParameterKey=<parameter>,ParameterValue=<previous value> ...",
        ),
    )


def template_change_details(template: TemplateChange) -> list[str]:
    """Why the node group's template changes, and the change as a unified diff."""
    reason = " ".join(template.reason.split())
    diff = template.diff.splitlines()
    return [
        "**Template change** (the change set carries a new template): " + scrub(reason),
        code([scrub(line) for line in diff], "diff") if diff else "No line changes.",
    ]


def _roll(plan: Plan, step: NodegroupRollStep) -> StepGuide:
    region, group, kind, waves = plan.region, step.nodegroup, step.group_kind, step.waves
    view = plan.context.nodegroup(group)
    asg = step.asg or (view.asg if view else None) or "<asg-name>"
    nodes = view.nodes if view else None
    old_k8s, new_k8s = Version.parse(plan.from_.kubernetes), Version.parse(plan.to.kubernetes)
    count = sum(len(w) for w in waves)
    lower = step.lower_bound
    what = (
        f"Replaces {count} node(s) of {inline(group)} ({step.instance_type}, {kind},"
        f" ASG {inline(asg)}) in {len(waves)} wave(s) of up to {step.surge} new node(s)"
        + ("" if lower is None else f"; no plan can do it in fewer than {lower}")
        + ". Each wave: launch the new nodes (they take their peak addresses), wait until"
        f" they are Ready at {new_k8s.minor_str}, cordon and drain the old ones through the"
        " Eviction API (PDB refusals are retried and the blocking PDB named), terminate them"
        f" (their addresses return), then restore the ASG size and resume {SUSPENDED} —"
        " also on failure. Capacity per subnet: see [Capacity](#capacity)."
    )
    details = [
        table(
            ["Wave", "Old instances"],
            [[str(n), ", ".join(inline(i) for i in wave)] for n, wave in enumerate(waves, 1)],
        )
        if waves
        else "No wave can run yet: see the gate results below."
    ]
    zone, itype = kubectl.zone_label(old_k8s), kubectl.instance_type_label(old_k8s)
    commands = [
        group_status(plan, kind, group, asg),
        f"kubectl get nodes -o wide -L {zone} -L {itype}",
        kubectl.pending_pods(),
        "kubectl get pdb --all-namespaces",
        "drain_instance() {  # cordon and drain the node of one EC2 instance",
        f'  node=$(aws ec2 describe-instances --region {region} --instance-ids "$1"'
        " --query 'Reservations[0].Instances[0].PrivateDnsName' --output text)",
        f'  kubectl cordon "$node" && {kubectl.drain(QUOTED_NODE, new_k8s)}',
        "}",
        f"aws autoscaling suspend-processes --region {region} --auto-scaling-group-name {asg}"
        f" --scaling-processes {SUSPENDED}",
    ]
    for n, wave in enumerate(waves, 1):
        desired = str(nodes + len(wave)) if nodes is not None else f"<nodes + {len(wave)}>"
        ids = " ".join(wave)
        commands += [
            f"# wave {n} of {len(waves)}: {len(wave)} new node(s) first",
            f"aws autoscaling set-desired-capacity --region {region}"
            f" --auto-scaling-group-name {asg} --desired-capacity {desired}"
            "  # raise --max-size first if it is lower",
            f"kubectl get nodes -o wide -L {zone} -w  # until {len(wave)} new node(s)"
            f" v{new_k8s.minor_str} are Ready",
            f'for id in {ids}; do drain_instance "$id"; done',
            f"for id in {ids}; do aws autoscaling terminate-instance-in-auto-scaling-group"
            f' --region {region} --instance-id "$id" --should-decrement-desired-capacity; done',
            kubectl.pending_pods(),
        ]
    commands.append(
        f"aws autoscaling resume-processes --region {region} --auto-scaling-group-name {asg}"
        f" --scaling-processes {SUSPENDED}"
    )
    return StepGuide(
        what=what,
        details=tuple(details),
        commands=tuple(commands),
        rollback=(
            "Stop after the current wave. Uncordon old nodes that are still running, set the"
            f" desired capacity back to {nodes if nodes is not None else 'its value before'},"
            f" resume {SUSPENDED}. New nodes at {new_k8s.minor_str} can stay (the control plane"
            " already runs it); to go back to the old AMI, roll back the stack step first and"
            " run the roll again. `upgrader apply` re-run resumes at the first unfinished wave."
        ),
        rollback_commands=(
            "kubectl uncordon <node-name>",
            f"aws autoscaling set-desired-capacity --region {region} --auto-scaling-group-name"
            f" {asg} --desired-capacity {nodes if nodes is not None else '<nodes>'}",
            f"aws autoscaling resume-processes --region {region} --auto-scaling-group-name {asg}"
            f" --scaling-processes {SUSPENDED}",
        ),
    )


def _fargate(step: FargateRestartStep) -> StepGuide:
    """Deployments with pods on Fargate restarted onto the new kubelet."""
    commands = [
        "kubectl get nodes -l eks.amazonaws.com/compute-type=fargate"
        " -o custom-columns='NAME:.metadata.name,KUBELET:.status.nodeInfo.kubeletVersion'"
    ]
    for workload in step.workloads:
        namespace, name = workload.split(" ", 1)[1].split("/", 1)
        commands += [
            f"kubectl -n {namespace} rollout restart deployment/{name}",
            f"kubectl -n {namespace} rollout status deployment/{name}",
        ]
    manual = (
        f" Pods no Deployment owns are not restarted by upgrader; restart them by hand"
        f" (delete and let their owner recreate them, or re-run the Job):"
        f" {', '.join(inline(p) for p in step.manual)}."
        if step.manual
        else ""
    )
    return StepGuide(
        what=(
            f"A Fargate pod keeps the kubelet it started with: restarting"
            f" {', '.join(inline(w) for w in step.workloads) or 'nothing'} as `kubectl rollout"
            f" restart` does starts each new pod on a {step.to} kubelet. Each Deployment's"
            " own strategy (maxUnavailable, maxSurge) paces it; PodDisruptionBudgets do not"
            " apply to a rollout." + manual
        ),
        commands=tuple(commands),
        rollback=(
            "Nothing to undo: the pods run the same spec. A rollout that does not finish"
            " (a new pod stays Pending: no Fargate profile matches, or the subnet has no"
            " free address) stops the step; fix it and re-run apply."
        ),
    )


def _verify(plan: Plan) -> StepGuide:
    region = plan.region
    subnet_ids = sorted(s.subnet_id for s in plan.context.subnets if s.subnet_id)
    subnet_filter = f" Name=subnet-id,Values={','.join(subnet_ids)}" if subnet_ids else ""
    commands = [
        "kubectl get nodes -o custom-columns="
        "NAME:.metadata.name,KUBELET:.status.nodeInfo.kubeletVersion",
        "kubectl -n kube-system get daemonset aws-node kube-proxy -o custom-columns="
        "NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image,"
        "READY:.status.numberReady,DESIRED:.status.desiredNumberScheduled",
        "kubectl -n kube-system get deployment coredns -o custom-columns="
        "NAME:.metadata.name,IMAGE:.spec.template.spec.containers[0].image,"
        "READY:.status.readyReplicas",
        kubectl.pending_pods(),
        f"aws ec2 describe-network-interfaces --region {region} --filters"
        " Name=status,Values=available Name=description,Values='aws-K8S-*'"
        f"{subnet_filter} --query"
        " 'NetworkInterfaces[].[NetworkInterfaceId,SubnetId,Description]' --output table",
    ]
    if subnet_ids:
        commands.append(_subnets_free(region, subnet_ids))
    return StepGuide(
        what=(
            f"Checks every node runs kubelet {plan.to.kubernetes}, aws-node {plan.to.cni},"
            f" kube-proxy {plan.to.kube_proxy} and CoreDNS {plan.to.coredns}; no pod is stuck;"
            " leaked ENIs (`available`, described `aws-K8S-*`, instance gone) are reported and,"
            " with `--cleanup-leaked-enis`, deleted."
        ),
        commands=tuple(commands),
        rollback="Read-only: nothing to roll back.",
    )


def step_guide(plan: Plan, step: Step, plan_file: str = "PLAN.json") -> StepGuide:  # noqa: PLR0911 - one per step kind
    """What ``step`` does and how a human watches, does or undoes it."""
    match step:
        case ControlPlaneStep():
            return _control_plane(plan, step)
        case AddonStep() | CniStep():
            return _addon(plan, step, plan_file)
        case ManagedAddonStep():
            return _managed_addon(plan, step)
        case NodegroupStackStep():
            if step.retires is not None:
                return managed_move.retire_guide(plan, step, plan_file)
            successor = managed_move.successor_of(plan, step)
            if successor is not None:
                return managed_move.stack_guide(plan, step, successor, plan_file)
            return _nodegroup_stack(plan, step)
        case NodegroupRollStep():
            if step.successor is not None:
                return managed_move.roll_guide(plan, step, step.successor)
            return _roll(plan, step)
        case FargateRestartStep():
            return _fargate(step)
        case VerifyStep():
            return _verify(plan)
        case _:
            assert_never(step)


def cni_path(plan: Plan) -> Sequence[str]:
    """The CNI releases in order: now, every step's target."""
    path = [plan.from_.cni]
    path += [s.to for s in plan.steps if isinstance(s, CniStep)]
    if path[-1] != plan.to.cni:
        path.append(plan.to.cni)
    return path
