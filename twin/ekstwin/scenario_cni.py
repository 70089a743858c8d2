"""Scenario keys for the twin's ipamd (DESIGN.md §8): ``cni.env`` values as aws-node takes
them, and ``cni.eniconfigs`` (AZ -> subnet name), one ENIConfig per AZ for custom networking.

    cni: {version: v1.19.2, env: {AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: "true"},
          eniconfigs: {eu-west-1a: pods-a, eu-west-1b: pods-b}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

NUMBERS = {
    "WARM_ENI_TARGET": 0,
    "WARM_IP_TARGET": 0,
    "MINIMUM_IP_TARGET": 0,
    "WARM_PREFIX_TARGET": 0,
    "MAX_ENI": 1,
    "IP_COOLDOWN_PERIOD": 0,
}  # variable -> smallest value ipamd honours
FLAGS = ("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "ENABLE_PREFIX_DELEGATION")
GO_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
CUSTOM_NETWORKING = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"

Add = Callable[[str, str], None]


def check_env(add: Add, env: Mapping[str, str]) -> None:
    """Numbers and flags aws-node would silently ignore if malformed: say so instead."""
    for key, minimum in NUMBERS.items():
        value = env.get(key)
        if value is not None and not (value.isdigit() and int(value) >= minimum):
            add(f"cni.env.{key}", f"{value!r} must be a whole number >= {minimum}")
    for key in FLAGS:
        value = env.get(key)
        if value is not None and value not in GO_BOOLS:
            add(f"cni.env.{key}", f'{value!r} must be "true" or "false"')


def check_eniconfigs(
    add: Add,
    raw: Any,
    env: Mapping[str, str],
    subnet_az: Mapping[str, str],
    node_azs: set[str],
) -> tuple[tuple[str, str], ...]:
    """``cni.eniconfigs`` as sorted (AZ, subnet name) pairs; every problem goes to ``add``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        add("cni.eniconfigs", "must map an AZ to a subnet name, like {eu-west-1a: pods-a}")
        return ()
    pairs = tuple(sorted((str(az), str(name)) for az, name in raw.items()))
    for az, name in pairs:
        if name not in subnet_az:
            add(f"cni.eniconfigs.{az}", f"names unknown subnet {name!r}")
        elif subnet_az[name] != az:
            add(f"cni.eniconfigs.{az}", f"subnet {name} is in {subnet_az[name]}, not in {az}")
    if env.get(CUSTOM_NETWORKING, "") in {"1", "t", "T", "TRUE", "true", "True"}:
        for az in sorted(node_azs - {az for az, _ in pairs}):
            add(
                "cni.eniconfigs",
                f"custom networking ({CUSTOM_NETWORKING}) needs an ENIConfig subnet for {az}",
            )
    return pairs
