"""Per-release ipamd behaviours of the Amazon VPC CNI, read from bundled data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from upgrader.semver import Version


@dataclass(frozen=True, slots=True)
class Feature:
    """One behaviour and the releases that have it (``until`` is exclusive)."""

    name: str
    since: Version
    until: Version | None
    what: str
    source: str

    def present_in(self, version: Version) -> bool:
        return self.since <= version and (self.until is None or version < self.until)


@dataclass(frozen=True, slots=True, kw_only=True)
class CniBehaviour:
    """What ipamd of one CNI release does, as far as address math is concerned."""

    version: Version
    warm_ip_release: bool
    top_up_existing_enis: bool
    max_eni_env: bool
    minimum_ip_target: bool
    unknown_instance_type_falls_back_to_ec2: bool
    leaked_eni_cleanup: bool
    boot_full_eni_peak: bool
    prefix_delegation: bool
    ip_cooldown_env: bool
    max_pods_caps_pool: bool
    subnet_discovery: bool
    metrics_awscni_prefix: bool
    introspection_on_61679: bool
    pods_introspection_endpoint: bool


@cache
def features() -> dict[str, Feature]:
    """All behaviours from ``data/cni_behaviours.yaml``."""
    text = resources.files("upgrader.catalog").joinpath("data/cni_behaviours.yaml").read_text()
    raw: dict[str, Any] = yaml.safe_load(text)["features"]
    return {
        name: Feature(
            name=name,
            since=Version.parse(f["since"]),
            until=Version.parse(f["until"]) if f.get("until") else None,
            what=f["what"],
            source=f["source"],
        )
        for name, f in raw.items()
    }


@cache
def behaviour(version: Version) -> CniBehaviour:
    """The behaviour set of CNI ``version``."""
    flags = {name: f.present_in(version) for name, f in features().items()}
    return CniBehaviour(version=version, **flags)
