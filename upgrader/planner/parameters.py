"""Which stack parameters carry the Kubernetes version and the node AMI, and their new values.

Read from the stack's template (:mod:`upgrader.planner.templates`) and parameters: ours
names the control-plane version ``KubernetesVersion``, AWS's 2019 cluster template
``ClusterVersion``; node groups use ``NodeImageIdSSMParam`` or ``NodeImageId`` as AWS's
2019 node-group template does.
"""

from __future__ import annotations

from upgrader.catalog.versions import catalog
from upgrader.errors import BadInputError, VersionError
from upgrader.model.aws import Pairs, Stack
from upgrader.model.node_bootstrap import AL2, al2023_path, ami_family, is_al2
from upgrader.planner.templates import ROLLING, Expr, StackAdoption, adopt, read

VERSION_PARAMETERS = ("KubernetesVersion", "ClusterVersion", "Version", "EksVersion")
SSM_PREFIX = "/aws/service/eks/optimized-ami/"
IMAGE_SSM_PARAMETER = "NodeImageIdSSMParam"
IMAGE_ID_PARAMETER = "NodeImageId"
EKS_MANAGED = "eks-managed"


def check_allowed_values(
    stack: Stack, changes: dict[str, str], template: str | None = None
) -> None:
    """Refuse a change CloudFormation would reject: a new value outside its parameter's
    ``AllowedValues`` (only a template change can allow it). ``template``: the new
    template the change set carries, if any."""
    adoption = read(stack) if template is None else adopt(template)
    for key, value in sorted(changes.items()):
        spec = adoption.parameter(key)
        allowed = spec.allowed_values if spec else ()
        if allowed and value not in allowed:
            raise BadInputError(
                f"stack {stack.name}",
                f"cannot take {key}={value}: the template's AllowedValues for {key} are "
                f"{', '.join(allowed)}, so CloudFormation would reject the change set",
                f"extend {key}'s AllowedValues in the stack's template to include {value} and "
                "update the stack with it (upgrader never replaces your template), then plan "
                "again",
            )


def version_parameter(stack: Stack, current: str) -> str | None:
    """The parameter the stack's EKS resource takes its ``Version`` from, or None."""
    params = dict(stack.parameters)
    adoption = read(stack)
    for source in (*adoption.clusters, *adoption.managed_nodegroups):
        for name in source.refs:
            if name in params:
                return name
    for name in VERSION_PARAMETERS:
        if name in params:
            return name
    return next((k for k, v in sorted(params.items()) if v == current), None)


def target_ssm_path(current: str | None, kubernetes: str) -> str:
    """The EKS AMI SSM path for ``kubernetes``: the current path with its version segment
    replaced (keeps the family, architecture and variant), else the catalog default."""
    if current and current.startswith(SSM_PREFIX):
        rest = current[len(SSM_PREFIX) :].split("/", 1)
        if len(rest) == 2:
            return f"{SSM_PREFIX}{kubernetes}/{rest[1]}"
    return catalog().kubernetes(kubernetes).ami_ssm_parameter()


def _published_family(stack: Stack, path: str, kubernetes: str) -> str:
    """``path``, or its AL2023 counterpart when it names Amazon Linux 2 AMIs and EKS
    publishes none for ``kubernetes`` (AL2 AMIs end at 1.32): the group then moves to
    AL2023, its user data to a nodeadm NodeConfig (:mod:`upgrader.model.node_bootstrap`)."""
    if not is_al2(path) or AL2 in catalog().kubernetes(kubernetes).ami_families:
        return path
    moved = al2023_path(path, kubernetes)
    if moved is None:
        raise VersionError(
            f"stack {stack.name}",
            f"runs Amazon Linux 2 AMIs ({ami_family(path)}), EKS publishes none for "
            f"Kubernetes {kubernetes} (AL2 AMIs end at 1.32), and upgrader knows no AL2023 "
            "AMI of that variant",
            "move the node group to an Amazon Linux 2023 AMI yourself (the AL2023 SSM "
            "parameter and nodeadm NodeConfig user data), or target 1.32",
        )
    return moved


def image_change(
    stack: Stack, kubernetes: str, ami_parameters: Pairs
) -> tuple[dict[str, str], str]:
    """Parameter changes that move a self-managed group's AMI to ``kubernetes``, and
    what the image becomes (SSM path or AMI ID)."""
    params = dict(stack.parameters)
    ssm_key = next((k for k, v in sorted(params.items()) if v.startswith(SSM_PREFIX)), None)
    if ssm_key is None and IMAGE_SSM_PARAMETER in params:
        ssm_key = IMAGE_SSM_PARAMETER
    path = target_ssm_path(params.get(ssm_key) if ssm_key else None, kubernetes)
    path = _published_family(stack, path, kubernetes)
    pinned = params.get(IMAGE_ID_PARAMETER, "")
    if pinned:
        ami = dict(ami_parameters).get(path)
        if ami is None:
            raise BadInputError(
                f"stack {stack.name}",
                f"pins {IMAGE_ID_PARAMETER}={pinned} and the AMI for {kubernetes} "
                f"({path}) was not discovered",
                f"check that SSM parameter {path} exists in this region",
            )
        return {IMAGE_ID_PARAMETER: ami}, ami
    if ssm_key is None:
        raise BadInputError(
            f"stack {stack.name}",
            f"has neither {IMAGE_SSM_PARAMETER} nor {IMAGE_ID_PARAMETER}, so the node AMI "
            "cannot be changed with a parameter",
            "add an AMI parameter to the template (the launch template's ImageId)",
        )
    return {ssm_key: path}, path


def _shown(setting: Expr | None, default: str, values: dict[str, str]) -> str:
    return setting.shown(values) if setting is not None else default


def rolling_update(adoption: StackAdoption, parameters: Pairs) -> str | None:
    """How CloudFormation's own AutoScalingRollingUpdate replaces the nodes, or None."""
    values = dict(parameters)
    for group in adoption.self_managed_groups:  # sorted by logical id
        policy = group.update_policy
        if not policy.rolling_update:
            continue
        batch = _shown(policy.max_batch_size, "1", values)
        keep = _shown(policy.min_instances_in_service, "0", values)
        pause = _shown(policy.pause_time, "PT0S", values)
        return (
            f"{ROLLING} on {group.resource}: executing this change set makes CloudFormation "
            f"replace the group's nodes itself, {batch} at a time, keeping {keep} in service "
            f"and pausing {pause} between batches, WITHOUT cordoning or draining them (pods "
            "die with their node, PodDisruptionBudgets are ignored)"
        )
    return None


def update_policy(adoption: StackAdoption, parameters: Pairs, managed: bool) -> str:
    """What CloudFormation or EKS itself does to running nodes on this stack update: the
    UpdatePolicy's name, and for a rolling update how it replaces the nodes."""
    if managed:
        return EKS_MANAGED
    rolling = rolling_update(adoption, parameters)
    if rolling is not None:
        return rolling
    if any(g.update_policy.replacing_update for g in adoption.self_managed_groups):
        return "AutoScalingReplacingUpdate"
    return "none"
