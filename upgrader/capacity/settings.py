"""The aws-node settings that change address math, resolved for one CNI release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from upgrader.catalog.cni import CniBehaviour, behaviour
from upgrader.errors import BadInputError
from upgrader.semver import Version

_INT_ENV = {
    "WARM_ENI_TARGET": "warm_eni_target",
    "WARM_IP_TARGET": "warm_ip_target",
    "MINIMUM_IP_TARGET": "minimum_ip_target",
    "WARM_PREFIX_TARGET": "warm_prefix_target",
    "MAX_ENI": "max_eni",
}
_BOOL_ENV = {
    "ENABLE_PREFIX_DELEGATION": "prefix_delegation",
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "custom_networking",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CniSettings:
    """aws-node settings as the user wrote them; ``None`` means unset (ipamd default)."""

    version: Version
    warm_eni_target: int | None = None
    warm_ip_target: int | None = None
    minimum_ip_target: int | None = None
    warm_prefix_target: int | None = None
    max_eni: int | None = None
    prefix_delegation: bool = False
    custom_networking: bool = False
    behaviour: CniBehaviour = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in (
            "warm_eni_target",
            "warm_ip_target",
            "minimum_ip_target",
            "warm_prefix_target",
            "max_eni",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise BadInputError(name, f"{value} is negative", "use 0 or a positive number")
        object.__setattr__(self, "behaviour", behaviour(self.version))

    @classmethod
    def from_env(cls, version: Version, env: Mapping[str, str]) -> CniSettings:
        """Settings from an aws-node container env (strings, as in the DaemonSet)."""
        kwargs: dict[str, int | bool] = {}
        for key, attr in _INT_ENV.items():
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            try:
                kwargs[attr] = int(raw)
            except ValueError:
                raise BadInputError(
                    f"aws-node env {key}",
                    f"{raw!r} is not a whole number",
                    'set it to a number such as "1", or remove it',
                ) from None
        for key, attr in _BOOL_ENV.items():
            raw = env.get(key)
            if raw is not None:
                kwargs[attr] = raw.strip().lower() == "true"
        return cls(version=version, **kwargs)  # type: ignore[arg-type]

    # Effective values: what this ipamd release actually does with the settings.

    @property
    def effective_warm_ip(self) -> int:
        return self.warm_ip_target or 0

    @property
    def effective_minimum_ip(self) -> int:
        return (self.minimum_ip_target or 0) if self.behaviour.minimum_ip_target else 0

    @property
    def effective_max_eni(self) -> int | None:
        return self.max_eni if self.behaviour.max_eni_env and self.max_eni else None

    @property
    def ip_target_mode(self) -> bool:
        """WARM_IP_TARGET / MINIMUM_IP_TARGET govern the pool instead of WARM_ENI_TARGET."""
        return self.effective_warm_ip > 0 or self.effective_minimum_ip > 0

    def notes(self) -> tuple[str, ...]:
        """Settings this release ignores, in words."""
        out: list[str] = []
        v = self.version.tag
        if self.minimum_ip_target and not self.behaviour.minimum_ip_target:
            out.append(f"MINIMUM_IP_TARGET is ignored by CNI {v} (honoured from v1.6.0)")
        if self.max_eni and not self.behaviour.max_eni_env:
            out.append(f"MAX_ENI is ignored by CNI {v} (honoured from v1.4.0)")
        if self.prefix_delegation and not self.behaviour.prefix_delegation:
            out.append(f"prefix delegation needs CNI v1.9.0 or later; {v} uses secondary IPs")
        if self.warm_ip_target and not self.behaviour.warm_ip_release:
            out.append(f"CNI {v} never releases single IPs: a node keeps its high-water mark")
        if self.ip_target_mode and self.behaviour.boot_full_eni_peak:
            out.append(f"CNI {v} fills a whole ENI at boot before trimming to WARM_IP_TARGET")
        if (self.minimum_ip_target or 0) > 0 and not self.warm_ip_target and self.ip_target_mode:
            out.append("MINIMUM_IP_TARGET without WARM_IP_TARGET: the pool never grows past it")
        return tuple(out)
