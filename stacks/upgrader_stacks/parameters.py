"""Template parameters shared by the builders, with values drawn from the version catalog."""

from __future__ import annotations

from troposphere import Parameter

from upgrader.catalog.versions import catalog
from upgrader.semver import Version


def kubernetes_versions(family: str | None = None, since: Version | None = None) -> list[str]:
    """Catalog minors ("1.12" ...), optionally only those with AMI ``family`` or >= ``since``."""
    return [
        release.version.minor_str
        for release in catalog().releases
        if (family is None or family in release.ami_families)
        and (since is None or release.version >= since)
    ]


def kubernetes_version_parameter(
    title: str, default: str, description: str, allowed: list[str]
) -> Parameter:
    """A String parameter whose AllowedValues are the given catalog minors."""
    return Parameter(
        title,
        Type="String",
        Default=catalog().kubernetes(default).version.minor_str,
        AllowedValues=allowed,
        Description=description,
    )


def subnets_parameter(title: str, subnet_ids: tuple[str, ...], description: str) -> Parameter:
    """A ``List<AWS::EC2::Subnet::Id>`` parameter, defaulting to ``subnet_ids`` when given."""
    extra = {"Default": ",".join(subnet_ids)} if subnet_ids else {}
    return Parameter(title, Type="List<AWS::EC2::Subnet::Id>", Description=description, **extra)


def size_parameter(title: str, default: int, description: str, min_value: int = 0) -> Parameter:
    """A Number parameter of at least ``min_value``."""
    return Parameter(
        title, Type="Number", Default=default, MinValue=min_value, Description=description
    )
