"""Scenario key ``deprecated_api_usage``: parsed, and refused with the key named when wrong."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from ekstwin.scenario import ScenarioError, parse
from ekstwin.scenario_insights import DeprecatedApiUse


def _modern(**extra: Any) -> dict[str, Any]:
    text = resources.files("ekstwin").joinpath("scenarios/modern.yaml").read_text()
    return {**yaml.safe_load(text), **extra}


def test_usage_is_parsed_with_defaults() -> None:
    usage = [{"api_version": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema"}]
    scenario = parse(_modern(deprecated_api_usage=usage))
    assert scenario.deprecated_api_usage == (
        DeprecatedApiUse(api_version="flowcontrol.apiserver.k8s.io/v1beta3", kind="FlowSchema"),
    )
    assert parse(_modern()).deprecated_api_usage == ()


@pytest.mark.parametrize(
    ("usage", "problem"),
    [
        ("FlowSchema", "must be a list"),
        ([{"api_version": "apps/v1", "kind": "Deployment"}], "is not an API the version catalog"),
        ([{"api": "x"}], "must be a mapping of api_version, kind"),
        (
            [{"api_version": "policy/v1beta1", "kind": "PodSecurityPolicy", "requests": 0}],
            "deprecated_api_usage[0].requests",
        ),
    ],
)
def test_wrong_usage_is_refused_naming_the_key(usage: object, problem: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse(_modern(deprecated_api_usage=usage))
    assert "deprecated_api_usage" in err.value.render() and problem in err.value.render()
