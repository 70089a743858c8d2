"""Scenario keys that turn on the twin's ipamd modes: ``cni.env`` values and ``cni.eniconfigs``."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ekstwin import scenario

BASE = """
name: cn
region: eu-west-1
kubernetes: "1.31"
cni: {version: v1.19.2}
subnets:
  - {name: nodes-a, az: eu-west-1a, cidr: 10.0.0.0/24}
  - {name: nodes-b, az: eu-west-1b, cidr: 10.0.1.0/24}
  - {name: pods-a, az: eu-west-1a, cidr: 100.64.0.0/20}
  - {name: pods-b, az: eu-west-1b, cidr: 100.64.16.0/20}
nodegroups:
  - {name: w, kind: managed, instance_type: m5.large, desired: 2, subnets: [nodes-a, nodes-b]}
target: {kubernetes: "1.32"}
"""


def _parse(**cni: Any) -> scenario.Scenario:
    raw = yaml.safe_load(BASE)
    raw["cni"].update(cni)
    return scenario.parse(raw, "test")


def test_eniconfigs_per_az_for_custom_networking() -> None:
    s = _parse(
        env={"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"},
        eniconfigs={"eu-west-1a": "pods-a", "eu-west-1b": "pods-b"},
    )
    assert s.cni_eniconfigs == (("eu-west-1a", "pods-a"), ("eu-west-1b", "pods-b"))
    assert _parse().cni_eniconfigs == ()


def test_eniconfig_problems_are_reported() -> None:
    with pytest.raises(scenario.ScenarioError) as info:
        _parse(
            env={"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"},
            eniconfigs={"eu-west-1a": "pods-b", "eu-west-1c": "nope"},
        )
    message = info.value.message
    assert "cni.eniconfigs.eu-west-1a: subnet pods-b is in eu-west-1b, not in eu-west-1a" in message
    assert "cni.eniconfigs.eu-west-1c: names unknown subnet 'nope'" in message
    assert "needs an ENIConfig subnet for eu-west-1b" in message


def test_cni_env_values_are_checked() -> None:
    with pytest.raises(scenario.ScenarioError) as info:
        _parse(env={"WARM_IP_TARGET": "five", "MAX_ENI": "0", "ENABLE_PREFIX_DELEGATION": "yes"})
    message = info.value.message
    assert "cni.env.WARM_IP_TARGET: 'five' must be a whole number >= 0" in message
    assert "cni.env.MAX_ENI: '0' must be a whole number >= 1" in message
    assert 'cni.env.ENABLE_PREFIX_DELEGATION: \'yes\' must be "true" or "false"' in message


def test_shipped_scenarios_pass_the_cni_checks() -> None:
    for name in scenario.shipped():
        assert scenario.load(name).cni_eniconfigs == ()
