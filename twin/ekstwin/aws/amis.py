"""EKS-optimised AMIs of the twin: one deterministic image ID per Kubernetes minor and family.

IDs look like real ones (``ami-`` and 17 hex digits) and encode the minor, so the kubelet
version of any node follows from its image.
"""

from __future__ import annotations

import re

FAMILIES = ("amazon-linux-2", "amazon-linux-2023")
AMI_TYPES = {
    "AL2_x86_64": "amazon-linux-2",
    "AL2_x86_64_GPU": "amazon-linux-2",
    "AL2023_x86_64_STANDARD": "amazon-linux-2023",
}
_PATTERN = re.compile(r"^ami-0(\d{2})(\d{2})(\d{2})e{10}$")


def ami_id(minor: str, family: str = "amazon-linux-2") -> str:
    """The twin's AMI for Kubernetes ``minor`` ("1.13") of ``family``."""
    major, _, rest = minor.partition(".")
    return f"ami-0{int(major):02d}{int(rest):02d}{FAMILIES.index(family):02d}{'e' * 10}"


def minor_of(image_id: str) -> str | None:
    """The Kubernetes minor an image of :func:`ami_id` runs, or None for other images."""
    match = _PATTERN.match(image_id)
    if match is None:
        return None
    return f"{int(match.group(1))}.{int(match.group(2))}"


def family_of(image_id: str) -> str | None:
    """The AMI family (``amazon-linux-2``…) of an image of :func:`ami_id`, or None."""
    match = _PATTERN.match(image_id)
    if match is None or int(match.group(3)) >= len(FAMILIES):
        return None
    return FAMILIES[int(match.group(3))]


def image_name(minor: str, family: str) -> str:
    suffix = "" if family == "amazon-linux-2" else "-al2023"
    return f"amazon-eks-node{suffix}-{minor}-v20240101"


def release_version(kube_proxy: str) -> str:
    """Managed-nodegroup release version (``1.13.12-20240101``) for a kube-proxy tag."""
    return f"{kube_proxy.lstrip('v').split('-')[0]}-20240101"
