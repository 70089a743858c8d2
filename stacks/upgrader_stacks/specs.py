"""What each stack builder needs to know: frozen, validated inputs.

Validation happens at construction so a bad spec fails before any template is built; the
Kubernetes version and AMI family are checked against the version catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from upgrader.catalog.versions import KubernetesRelease, catalog
from upgrader.errors import BadInputError, VersionError
from upgrader.semver import Version

# EKS managed node groups exist from Kubernetes 1.14 (EKS launched them in November 2019).
MANAGED_NODEGROUPS_SINCE = Version(1, 14)


def _release(version: str) -> KubernetesRelease:
    return catalog().kubernetes(version)


def _check_sizes(subject: str, min_size: int, desired: int, max_size: int) -> None:
    if not 0 <= min_size <= desired <= max_size or max_size < 1:
        raise BadInputError(
            subject,
            f"sizes min={min_size} desired={desired} max={max_size} are inconsistent",
            "use 0 <= min <= desired <= max and max >= 1",
        )


def _check_family(release: KubernetesRelease, family: str | None) -> None:
    # ami_ssm_parameter raises a VersionError naming the families that exist.
    release.ami_ssm_parameter(family)


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlPlaneSpec:
    """An EKS control plane: name, Kubernetes minor, subnets and extra security groups."""

    cluster_name: str
    kubernetes_version: str
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _release(self.kubernetes_version)


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfManagedNodegroupSpec:
    """A self-managed node group: an Auto Scaling group over a launch template.

    ``ami_family`` None means the catalog's default family for the version. On
    amazon-linux-2023 nodes join through nodeadm, which needs the cluster endpoint, CA and
    service CIDR (``cluster_endpoint``, ``certificate_authority``, ``service_cidr``).
    """

    cluster_name: str
    nodegroup_name: str
    kubernetes_version: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    instance_type: str
    min_size: int
    desired_size: int
    max_size: int
    max_pods: int | None = None
    ami_family: str | None = None
    volume_size_gib: int = 20
    control_plane_security_group_id: str | None = None
    cluster_endpoint: str = ""
    certificate_authority: str = ""
    service_cidr: str = "10.100.0.0/16"

    def __post_init__(self) -> None:
        release = _release(self.kubernetes_version)
        _check_family(release, self.ami_family)
        _check_sizes(
            f"node group {self.nodegroup_name}", self.min_size, self.desired_size, self.max_size
        )
        if self.max_pods is not None and self.max_pods < 1:
            raise BadInputError(
                f"node group {self.nodegroup_name}",
                f"max_pods={self.max_pods} is not positive",
                "omit max_pods to let the AMI compute it, or give a positive number",
            )

    @property
    def family(self) -> str:
        """The AMI family in use (the catalog default when none was given)."""
        return self.ami_family or _release(self.kubernetes_version).default_ami_family


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedNodegroupSpec:
    """An EKS managed node group (AWS::EKS::Nodegroup)."""

    cluster_name: str
    nodegroup_name: str
    kubernetes_version: str
    subnet_ids: tuple[str, ...]
    instance_type: str
    min_size: int
    desired_size: int
    max_size: int
    ami_family: str | None = None
    max_unavailable: int = 1
    labels: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        release = _release(self.kubernetes_version)
        if release.version < MANAGED_NODEGROUPS_SINCE:
            raise VersionError(
                f"managed node group {self.nodegroup_name}",
                f"EKS managed node groups need Kubernetes {MANAGED_NODEGROUPS_SINCE.minor_str} "
                f"or later, not {release.version.minor_str}",
                "use a self-managed node group, or upgrade the cluster first",
            )
        _check_family(release, self.ami_family)
        _check_sizes(
            f"node group {self.nodegroup_name}", self.min_size, self.desired_size, self.max_size
        )
        if self.max_unavailable < 1:
            raise BadInputError(
                f"node group {self.nodegroup_name}",
                f"max_unavailable={self.max_unavailable} would never update a node",
                "use max_unavailable >= 1",
            )

    @property
    def family(self) -> str:
        """The AMI family in use (the catalog default when none was given)."""
        return self.ami_family or _release(self.kubernetes_version).default_ami_family
