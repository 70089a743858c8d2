"""A change set carrying a new template passes the parameters that template adds (the
AL2023 NodeConfig's) with their values; every other parameter keeps its previous value,
and a parameter neither the stack nor the new template has is still refused."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from upgrader.adapters.change_sets import create
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack

NEW_TEMPLATE = """\
Parameters:
  NodeImageIdSSMParam: {Type: String}
  ClusterEndpoint: {Type: String}
Resources:
  NodeGroup: {Type: AWS::AutoScaling::AutoScalingGroup}
"""
STACK = Stack(
    name="workers",
    stack_id="arn:aws:cloudformation:eu-west-1:123456789012:stack/workers/1",
    status="UPDATE_COMPLETE",
    parameters=(("NodeImageIdSSMParam", "/old"), ("NodeInstanceType", "m5.large")),
    resources=(),
)


class _Pages:
    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return [{"Summaries": []}]


class _Cfn:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def get_paginator(self, _: str) -> _Pages:
        return _Pages()

    def create_change_set(self, **request: Any) -> dict[str, str]:
        self.requests.append(request)
        return {"Id": "arn:change-set"}

    def describe_change_set(self, **_: Any) -> dict[str, Any]:
        return {"Status": "CREATE_COMPLETE", "Changes": []}


def test_the_new_templates_parameters_are_passed_with_their_values() -> None:
    cfn = _Cfn()
    aws: Any = SimpleNamespace(cfn=cfn, region="eu-west-1")
    wanted = {"NodeImageIdSSMParam": "/new", "ClusterEndpoint": "https://x.eks"}
    made = create(STACK, wanted, description="d", template=NEW_TEMPLATE, aws=aws)
    assert made.status == "CREATE_COMPLETE"
    (request,) = cfn.requests
    assert request["TemplateBody"] == NEW_TEMPLATE
    assert request["Parameters"] == [
        {"ParameterKey": "NodeImageIdSSMParam", "ParameterValue": "/new"},
        {"ParameterKey": "NodeInstanceType", "UsePreviousValue": True},
        {"ParameterKey": "ClusterEndpoint", "ParameterValue": "https://x.eks"},
    ]


def test_a_parameter_of_neither_template_is_refused() -> None:
    aws: Any = SimpleNamespace(cfn=_Cfn(), region="eu-west-1")
    with pytest.raises(BadInputError, match="has no parameter ServiceCidr"):
        create(STACK, {"ServiceCidr": "x"}, description="d", template=NEW_TEMPLATE, aws=aws)
    with pytest.raises(BadInputError, match="has no parameter ClusterEndpoint"):
        create(STACK, {"ClusterEndpoint": "x"}, description="d", aws=aws)
