"""Which stack parameters carry the Kubernetes version and the node AMI, and their new values.

Read from the stack's own template and parameters (the user's template is never
replaced): ours names the control-plane version ``KubernetesVersion``, AWS's 2019
cluster template ``ClusterVersion``; node groups use ``NodeImageIdSSMParam`` or
``NodeImageId`` as AWS's 2019 node-group template does.
"""

from __future__ import annotations

import re

from upgrader.catalog.versions import catalog
from upgrader.errors import BadInputError
from upgrader.model.aws import Pairs, Stack

VERSION_PARAMETERS = ("KubernetesVersion", "ClusterVersion", "Version", "EksVersion")
SSM_PREFIX = "/aws/service/eks/optimized-ami/"
IMAGE_SSM_PARAMETER = "NodeImageIdSSMParam"
IMAGE_ID_PARAMETER = "NodeImageId"
# `Version: !Ref P`, `Version: {Ref: P}` or `"Version": {"Ref": "P"}` in YAML or JSON
_VERSION_REF = re.compile(
    r"""["']?Version["']?\s*:\s*(?:!Ref\s+|\{\s*["']?Ref["']?\s*:\s*)["']?([A-Za-z0-9]+)"""
)
_ROLLING = "AutoScalingRollingUpdate"
_REPLACING = "AutoScalingReplacingUpdate"


def version_parameter(stack: Stack, current: str) -> str | None:
    """The parameter the stack's EKS resource takes its ``Version`` from, or None."""
    params = dict(stack.parameters)
    for match in _VERSION_REF.finditer(stack.template_body):
        if match.group(1) in params:
            return match.group(1)
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


def update_policy(stack: Stack, managed: bool) -> str:
    """What CloudFormation or EKS itself does to running nodes on this stack update."""
    if managed:
        return "eks-managed"
    if _ROLLING in stack.template_body:
        return _ROLLING
    if _REPLACING in stack.template_body:
        return _REPLACING
    return "none"
