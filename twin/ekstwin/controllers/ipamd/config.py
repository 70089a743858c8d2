"""aws-node's environment as one release's ipamd reads it (R§2.2 of research/vpc-cni.md).

ipamd never rejects a value: an unparsable or negative number falls back to the default,
and a variable older releases do not know is simply not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ekstwin.controllers.ipamd.release import IP_COOLDOWN_SECONDS, Release, release
from upgrader.errors import UpgraderError
from upgrader.semver import Version

INTROSPECTION_ADDRESS = "127.0.0.1:61679"
OLD_INTROSPECTION_ADDRESS = ":61678"  # shared with /metrics (Release.introspection_with_metrics)
ENICONFIG_KEY = "k8s.amazonaws.com/eniConfig"  # default ENIConfig annotation and label
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go's strconv.ParseBool


def _int(env: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    try:
        value = int(env[key])
    except (KeyError, ValueError):
        return default
    return value if value >= minimum else default


@dataclass(frozen=True, slots=True, kw_only=True)
class IpamdConfig:
    """The settings one ipamd runs with; 0 means unset for the targets and MAX_ENI."""

    version: Version
    warm_eni_target: int = 1
    warm_ip_target: int = 0
    minimum_ip_target: int = 0
    warm_prefix_target: int = 0
    max_eni: int = 0
    custom_networking: bool = False
    prefix_delegation: bool = False
    eniconfig_annotation: str = ENICONFIG_KEY
    eniconfig_label: str = ENICONFIG_KEY
    ip_cooldown: int = IP_COOLDOWN_SECONDS
    env: tuple[tuple[str, str], ...] = ()  # aws-node's env as given (debug endpoints)
    introspection_address: str | None = INTROSPECTION_ADDRESS  # None: DISABLE_INTROSPECTION
    metrics: bool = True  # False: DISABLE_METRICS

    @property
    def release(self) -> Release:
        return release(self.version)

    @property
    def warm_ip_mode(self) -> bool:
        """WARM_IP_TARGET / MINIMUM_IP_TARGET drive the pool (ipTargetState enabled)."""
        return self.warm_ip_target > 0 or self.minimum_ip_target > 0

    @classmethod
    def from_env(cls, version: Version, env: Mapping[str, str]) -> IpamdConfig:
        """What ``version``'s ipamd reads from ``env``."""
        r = release(version)
        since = version.__ge__
        return cls(
            version=version,
            warm_eni_target=_int(env, "WARM_ENI_TARGET", 1),
            warm_ip_target=_int(env, "WARM_IP_TARGET", 0) if since(_V110) else 0,
            minimum_ip_target=_int(env, "MINIMUM_IP_TARGET", 0) if r.minimum_ip_target else 0,
            max_eni=_int(env, "MAX_ENI", 0, 1) if r.max_eni_env else 0,
            custom_networking=since(_V120)
            and env.get("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "") in _TRUE,
            prefix_delegation=r.prefix_delegation
            and env.get("ENABLE_PREFIX_DELEGATION", "") in _TRUE,
            warm_prefix_target=_int(env, "WARM_PREFIX_TARGET", 0) if r.prefix_delegation else 0,
            eniconfig_annotation=env.get("ENI_CONFIG_ANNOTATION_DEF") or ENICONFIG_KEY
            if r.eniconfig_label_env
            else ENICONFIG_KEY,
            eniconfig_label=env.get("ENI_CONFIG_LABEL_DEF") or ENICONFIG_KEY
            if r.eniconfig_label_env
            else ENICONFIG_KEY,
            ip_cooldown=_int(env, "IP_COOLDOWN_PERIOD", IP_COOLDOWN_SECONDS)
            if r.ip_cooldown_env
            else IP_COOLDOWN_SECONDS,
            env=tuple(sorted(env.items())),
            introspection_address=_introspection_address(r, env),
            metrics=not (r.disable_endpoint_envs and env.get("DISABLE_METRICS", "") in _TRUE),
        )


def _introspection_address(r: Release, env: Mapping[str, str]) -> str | None:
    """Where the release's introspection server listens, or None when it is disabled."""
    if r.introspection_with_metrics:
        return OLD_INTROSPECTION_ADDRESS
    if env.get("DISABLE_INTROSPECTION", "") in _TRUE:
        return None
    if r.introspection_bind_env and env.get("INTROSPECTION_BIND_ADDRESS"):
        return env["INTROSPECTION_BIND_ADDRESS"]
    return INTROSPECTION_ADDRESS


_V110 = Version.parse("v1.1.0")  # WARM_IP_TARGET (#125)
_V120 = Version.parse("v1.2.0")  # AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG


def config_of_pod(pod: Mapping[str, object]) -> IpamdConfig | None:
    """The ipamd settings an aws-node pod runs with (release from its image tag)."""
    spec = pod.get("spec")
    containers = spec.get("containers", []) if isinstance(spec, dict) else []
    for c in containers:
        image = str(c.get("image", ""))
        if "amazon-k8s-cni:" not in image:
            continue
        env = {e["name"]: str(e.get("value", "")) for e in c.get("env", []) if "name" in e}
        try:
            version = Version.parse(image.rsplit(":", 1)[1])
        except (UpgraderError, ValueError):
            return None
        return IpamdConfig.from_env(version, env)
    return None
