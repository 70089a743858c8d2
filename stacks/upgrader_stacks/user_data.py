"""Node user data: how an instance joins the cluster, per AMI family.

amazon-linux-2 runs ``/etc/eks/bootstrap.sh``; amazon-linux-2023 has no bootstrap.sh and
reads a nodeadm ``NodeConfig`` from MIME multi-part user data instead.
"""

from __future__ import annotations

from upgrader.model.node_bootstrap import Bootstrap, node_config_user_data

AL2 = "amazon-linux-2"
AL2023 = "amazon-linux-2023"


def bootstrap_arguments(max_pods: int | None) -> str:
    """bootstrap.sh arguments; ``--use-max-pods false`` lets ``--max-pods`` replace the AMI's
    own max-pods table."""
    if max_pods is None:
        return ""
    return f"--use-max-pods false --kubelet-extra-args '--max-pods={max_pods}'"


def al2_user_data() -> str:
    """A Fn::Sub body for amazon-linux-2 (uses ${ClusterName} and ${BootstrapArguments})."""
    return (
        "#!/bin/bash\nset -o xtrace\n/etc/eks/bootstrap.sh ${ClusterName} ${BootstrapArguments}\n"
    )


def al2023_user_data(max_pods: int | None) -> str:
    """A Fn::Sub body for amazon-linux-2023 (uses ${ClusterName}, ${ClusterEndpoint},
    ${ClusterCertificateAuthority} and ${ServiceCidr}): the NodeConfig a migrated AL2
    group gets too, with nothing carried over from a bootstrap.sh call."""
    return node_config_user_data(Bootstrap(resource="", cluster="${ClusterName}"), max_pods)
