"""A self-managed group on Amazon Linux 2 rolled to a minor without AL2 AMIs (1.33+): its
stack moves to the AL2023 AMI and nodeadm NodeConfig user data.

The new template is rendered outside the pure planner (``upgrader_stacks.al2023``); this
module gives what it needs (max pods following the CNI settings), the values of the
NodeConfig parameters it adds (from discovery, or what the bootstrap.sh call passed) and
the plan's and runbook's account of the move.
"""

from __future__ import annotations

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.gates import SELF_MANAGED
from upgrader.model.aws import Stack
from upgrader.model.node_bootstrap import (
    CA_PARAMETER,
    CIDR_PARAMETER,
    ENDPOINT_PARAMETER,
    Bootstrap,
    moves_to_al2023,
    stack_bootstraps,
)
from upgrader.model.state import ClusterState
from upgrader.planner.groups import discover_groups
from upgrader.planner.versions import plan_versions
from upgrader.semver import Version


def max_pods_settings(state: ClusterState, config: Config) -> dict[str, int | None]:
    """Per stack moving to AL2023 at ``config``'s target, the kubelet maxPods its NodeConfig
    sets when the bootstrap.sh call set none: the ENI formula under prefix delegation or
    custom networking (nodeadm's own default ignores both), else None (nodeadm's default,
    as AL2's max-pods table)."""
    minor = config.target_kubernetes.minor_str
    versions = plan_versions(state, config)
    cni = CniSettings.from_env(Version.parse(versions.to.cni), dict(versions.cni_env))
    out: dict[str, int | None] = {}
    for group in discover_groups(state, config):
        if group.kind != SELF_MANAGED or not moves_to_al2023(group.stack, minor):
            continue
        if cni.prefix_delegation or cni.custom_networking:
            out[group.stack.name] = max_pods(group.instance_type, cni, calculator_cap=True).value
        else:
            out[group.stack.name] = None
    return out


def _given(boots: tuple[Bootstrap, ...], attribute: str) -> str | None:
    return next((v for b in boots if (v := getattr(b, attribute)) is not None), None)


def node_config_parameters(state: ClusterState, stack: Stack) -> dict[str, str]:
    """The NodeConfig parameters of the migrated template: what the bootstrap.sh call
    passed, else the cluster's endpoint, CA and service CIDR from DescribeCluster."""
    boots = stack_bootstraps(stack)
    cluster = state.cluster
    values = {
        ENDPOINT_PARAMETER: _given(boots, "endpoint") or cluster.endpoint,
        CA_PARAMETER: _given(boots, "certificate_authority") or cluster.certificate_authority,
        CIDR_PARAMETER: cluster.service_cidr,
    }
    missing = sorted(k for k, v in values.items() if not v)
    if missing:
        raise BadInputError(
            f"EKS cluster {cluster.name}",
            f"DescribeCluster gave no value for {', '.join(missing)} (endpoint, "
            "certificateAuthority.data, kubernetesNetworkConfig.serviceIpv4Cidr), which the "
            f"AL2023 NodeConfig of stack {stack.name} needs",
            "check that the credentials may call eks:DescribeCluster and that the cluster is "
            "ACTIVE, then plan again",
        )
    return values


def reason(stack: Stack, minor: str, image: str) -> str:
    """Why and how the template moves the group to AL2023, what is carried over and what
    the user should review."""
    boots = stack_bootstraps(stack)
    carried = list(dict.fromkeys(c for b in boots for c in b.carried()))
    shell = [line for b in boots for line in b.shell]
    dropped = list(dict.fromkeys(d for b in boots for d in b.dropped if not d.startswith("#")))
    text = (
        f"EKS publishes no Amazon Linux 2 AMI for Kubernetes {minor} (AL2 AMIs end at 1.32), "
        f"so the group moves to Amazon Linux 2023: its AMI parameter takes {image} and the "
        "user data of "
        + ", ".join(sorted({b.resource for b in boots}))
        + " becomes a nodeadm NodeConfig (AL2023 has no /etc/eks/bootstrap.sh) with new "
        f"parameters {ENDPOINT_PARAMETER}, {CA_PARAMETER} and {CIDR_PARAMETER} (values from "
        "DescribeCluster, or the ones the bootstrap.sh call passed). Carried over: "
        + "; ".join(carried)
        + "."
    )
    if shell:
        text += (
            " Review: these lines of the old user data run as a text/x-shellscript part, "
            "before nodeadm joins the node (no bootstrap.sh, so $? no longer reports the "
            "join): " + "; ".join(" ".join(line.split()) for line in shell) + "."
        )
    if dropped:
        text += " Dropped (shell options of the old script): " + "; ".join(dropped) + "."
    if any("${BootstrapArguments}" in line for line in shell) or stack.parameter(
        "BootstrapArguments"
    ):
        text += (
            " The BootstrapArguments parameter stays but is no longer read: change kubelet "
            "settings in the NodeConfig from now on."
        )
    return text
