"""Node user data: how an instance joins the cluster, per AMI family.

amazon-linux-2 runs ``/etc/eks/bootstrap.sh``; amazon-linux-2023 has no bootstrap.sh and
reads a nodeadm ``NodeConfig`` from MIME multi-part user data instead.
"""

from __future__ import annotations

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
    ${ClusterCertificateAuthority} and ${ServiceCidr})."""
    kubelet = (
        f"  kubelet:\n    config:\n      maxPods: {max_pods}\n" if max_pods is not None else ""
    )
    return (
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="BOUNDARY"\n'
        "\n"
        "--BOUNDARY\n"
        "Content-Type: application/node.eks.aws\n"
        "\n"
        "---\n"
        "apiVersion: node.eks.aws/v1alpha1\n"
        "kind: NodeConfig\n"
        "spec:\n"
        "  cluster:\n"
        "    name: ${ClusterName}\n"
        "    apiServerEndpoint: ${ClusterEndpoint}\n"
        "    certificateAuthority: ${ClusterCertificateAuthority}\n"
        "    cidr: ${ServiceCidr}\n"
        f"{kubelet}"
        "\n"
        "--BOUNDARY--\n"
    )
