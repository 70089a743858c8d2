"""The max pods a node's kubelet is told: the EKS AMI's eni-max-pods.txt value for its
instance type, ``ENIs x (IPv4 per ENI - 1) + 2`` (R§1.1-1.2 of research/vpc-cni.md).

The 2019 bootstrap.sh greps that file whatever the CNI settings are, so custom networking
and prefix delegation do not change it (aws/amazon-vpc-cni-k8s#331: pods beyond the pod
ENIs' addresses stay ContainerCreating). Computed here from the node's own instance data.
"""

from __future__ import annotations

from upgrader.catalog.instances import InstanceType

HOST_NETWORK_PODS = 2  # aws-node and kube-proxy


def eni_max_pods(enis: int, ipv4_per_eni: int) -> int:
    """eni-max-pods.txt: the first address of each ENI is not for pods; +2 host-network pods."""
    return enis * (ipv4_per_eni - 1) + HOST_NETWORK_PODS


def kubelet_max_pods(instance: InstanceType) -> int:
    """``--max-pods`` for a node of ``instance`` (default network card's ENIs)."""
    return eni_max_pods(instance.max_enis, instance.ipv4_per_eni)
