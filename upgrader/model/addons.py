"""EKS add-ons: the managed ones as discovery reads them, and where each add-on runs when
nobody manages it through EKS (self-managed)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from upgrader.model.kube import Container

ADDON_TYPE = "AWS::EKS::Addon"
# add-on name -> the object it runs as when self-managed: (kind, kube-system name)
SELF_MANAGED_OBJECTS: tuple[tuple[str, str, str], ...] = (
    ("vpc-cni", "DaemonSet", "aws-node"),
    ("kube-proxy", "DaemonSet", "kube-proxy"),
    ("coredns", "Deployment", "coredns"),
    ("eks-pod-identity-agent", "DaemonSet", "eks-pod-identity-agent"),
    ("aws-ebs-csi-driver", "Deployment", "ebs-csi-controller"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EksAddon:
    """One EKS managed add-on (ListAddons + DescribeAddon)."""

    name: str
    version: str
    status: str
    configuration_values: str | None  # exactly as DescribeAddon returns it, never re-encoded
    service_account_role_arn: str | None
    stack: str | None = None  # the config's stack declaring it (AWS::EKS::Addon), if any

    def fingerprint(self) -> list[str | None]:
        """What the plan derives from: not the status or timestamps, which move by themselves."""
        return [
            self.name,
            self.version,
            self.configuration_values,
            self.service_account_role_arn,
            self.stack,
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class AddonVersions:
    """``DescribeAddonVersions`` of one add-on for one Kubernetes minor: the versions EKS
    offers for it, newest first, and the one it marks as default."""

    addon: str
    kubernetes: str
    versions: tuple[str, ...]
    default: str | None


def version_key(version: str) -> tuple[int, ...]:
    """``v1.19.2-eksbuild.3`` -> ``(1, 19, 2, 3)``: the numbers in order, for sorting."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def object_of(addon: str) -> tuple[str, str] | None:
    """The (kind, kube-system name) an add-on runs as, when upgrader knows it."""
    return next(((k, n) for a, k, n in SELF_MANAGED_OBJECTS if a == addon), None)


def image_tag(containers: tuple[Container, ...]) -> str:
    """The add-on's version as its first container's image tag (``""`` when untagged)."""
    return containers[0].tag if containers else ""


def declares_addon(physical_id: str, addon: str) -> bool:
    """Whether an ``AWS::EKS::Addon`` physical ID (``cluster|name``, an add-on ARN
    ``…:addon/<cluster>/<name>/<uuid>`` or the bare name) is the add-on ``addon``."""
    if physical_id.startswith("arn:"):
        parts = physical_id.split(":", 5)[-1].split("/")
        return len(parts) > 2 and parts[2] == addon
    return physical_id.rsplit("|", 1)[-1] == addon
