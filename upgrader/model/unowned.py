"""Nodes upgrader does not own: Fargate profiles and their nodes, Karpenter NodePools,
EC2NodeClasses and the nodes Karpenter launched. upgrader never drains or replaces them;
they follow the control plane by themselves (Karpenter drift, Fargate pod restarts)."""

from __future__ import annotations

from dataclasses import dataclass

from upgrader.model.aws import Pairs
from upgrader.model.kube import Node

FARGATE = "fargate"
KARPENTER = "karpenter"
COMPUTE_TYPE_LABEL = "eks.amazonaws.com/compute-type"
NODEPOOL_LABEL = "karpenter.sh/nodepool"
PROVISIONER_LABEL = "karpenter.sh/provisioner-name"  # Karpenter before v0.32 (v1alpha5)


@dataclass(frozen=True, slots=True, kw_only=True)
class FargateSelector:
    namespace: str
    labels: Pairs = ()

    @property
    def shown(self) -> str:
        """``shop`` or ``shop (tier=web)``."""
        labels = ", ".join(f"{k}={v}" for k, v in self.labels)
        return f"{self.namespace} ({labels})" if labels else self.namespace


@dataclass(frozen=True, slots=True, kw_only=True)
class FargateProfile:
    """One Fargate profile (ListFargateProfiles + DescribeFargateProfile)."""

    name: str
    status: str
    selectors: tuple[FargateSelector, ...]
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodePool:
    """One Karpenter NodePool (karpenter.sh v1 or v1beta1)."""

    name: str
    api_version: str
    node_class: str  # the EC2NodeClass its template refers to
    budgets: tuple[str, ...] = ()  # spec.disruption.budgets, e.g. "10%", "0 (0 9 * * 1-5, 8h)"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeClass:
    """One Karpenter EC2NodeClass (karpenter.k8s.aws v1 or v1beta1): how it picks AMIs."""

    name: str
    api_version: str
    ami_family: str = ""  # v1beta1 spec.amiFamily
    ami_selectors: tuple[str, ...] = ()  # spec.amiSelectorTerms, e.g. "alias=al2023@latest"

    @property
    def follows_control_plane(self) -> bool:
        """Whether the AMI it resolves moves with the cluster's Kubernetes version, so its
        nodes drift after the control-plane upgrade: an ``@latest`` alias (v1), or no
        selector terms at all (v1beta1: the EKS-optimized AMI of the cluster's version)."""
        if not self.ami_selectors:
            return self.api_version.endswith("/v1beta1") and bool(self.ami_family)
        return any(s.startswith("alias=") and s.endswith("@latest") for s in self.ami_selectors)


def _label(node: Node, key: str) -> str | None:
    return next((v for k, v in node.labels if k == key), None)


def node_owner(node: Node) -> str | None:
    """``fargate`` or ``karpenter`` for a node upgrader does not own by its labels, else None."""
    if _label(node, COMPUTE_TYPE_LABEL) == FARGATE:
        return FARGATE
    return KARPENTER if karpenter_pool(node) is not None else None


def karpenter_pool(node: Node) -> str | None:
    """The NodePool (or v1alpha5 Provisioner) that launched ``node``, else None."""
    return _label(node, NODEPOOL_LABEL) or _label(node, PROVISIONER_LABEL)
