"""Move a self-managed node-group stack from Amazon Linux 2 to AL2023 (nodeadm).

Amazon Linux 2 EKS AMIs end at Kubernetes 1.32. The migrated template keeps every
parameter, condition, output and resource; only:

- the ``UserData`` of each launch template (or launch configuration) becomes MIME
  multi-part user data with a nodeadm ``NodeConfig`` carrying what its bootstrap.sh call
  set, and the other shell lines as a ``text/x-shellscript`` part
  (:mod:`upgrader.model.node_bootstrap`);
- the parameters that NodeConfig reads (``ClusterEndpoint``, ``ClusterCertificateAuthority``,
  ``ServiceCidr``) are added when missing; the plan gives their values.

The AMI parameter's new value (the AL2023 SSM path) is a parameter change of the plan.
User data upgrader cannot read is left as it is: gate AMI001 blocks that plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troposphere import Base64, Parameter, Sub

from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import dump_template
from upgrader.model.node_bootstrap import (
    CA_PARAMETER,
    CIDR_PARAMETER,
    ENDPOINT_PARAMETER,
    node_config_user_data,
    read_bootstrap,
    user_data_values,
)
from upgrader.planner.templates import load

_DESCRIPTIONS = {
    ENDPOINT_PARAMETER: "API server endpoint (nodeadm NodeConfig)",
    CA_PARAMETER: "Cluster CA data, base64 (nodeadm NodeConfig)",
    CIDR_PARAMETER: "Kubernetes service CIDR (nodeadm NodeConfig)",
}


def _with_user_data(resource: Mapping[str, Any], user_data: Any) -> dict[str, Any]:
    props = dict(resource.get("Properties") or {})
    if "LaunchTemplateData" in props:
        props["LaunchTemplateData"] = {**props["LaunchTemplateData"], "UserData": user_data}
    else:
        props["UserData"] = user_data
    return {**resource, "Properties": props}


def migrate_al2023(stack: Stack, body: str | None = None, max_pods: int | None = None) -> str:
    """``body`` (default: the stack's template) with its user data moved to nodeadm, as
    CloudFormation YAML; ``max_pods`` is the kubelet's when the bootstrap.sh call set none.
    The same text for the same input."""
    template = dict(load(body or stack.template_body, f"template of stack {stack.name}"))
    resources = dict(template["Resources"])
    parameters = dict(stack.parameters)
    for name, value in user_data_values(template):
        boot = read_bootstrap(name, value, parameters)
        if not boot.cluster:  # nothing readable to carry: AMI001 blocks the plan
            continue
        user_data = Base64(Sub(node_config_user_data(boot, max_pods))).to_dict()
        resources[name] = _with_user_data(resources[name], user_data)
    declared = dict(template.get("Parameters") or {})
    for key, description in _DESCRIPTIONS.items():
        if key not in declared:
            declared[key] = Parameter(key, Type="String", Description=description).to_dict()
    template["Parameters"] = declared
    template["Resources"] = resources
    return dump_template(template)
