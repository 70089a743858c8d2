"""``AWS::EKS::Addon`` in a CloudFormation stack, as AWS runs it (boto3 over real HTTP):
creating the stack creates the add-on; a change set setting its AddonVersion parameter
updates it with the template's ResolveConflicts and ConfigurationValues, and the stack
stays UPDATE_IN_PROGRESS until the add-on is ACTIVE; a version EKS refuses rolls the
stack back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.twin.integration.test_aws_twin import World, cluster_template

pytestmark = pytest.mark.integration

VALUES = '{"env": {"WARM_ENI_TARGET":"1",  "WARM_PREFIX_TARGET": "1"}}'
OLD, NEW = "v1.19.2-eksbuild.1", "v1.20.1-eksbuild.1"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = World()
    yield made
    made.twin.stop()


def template(name: str, subnets: tuple[str, str]) -> dict[str, Any]:
    body = cluster_template(name, subnets)
    body["Parameters"]["CniVersion"] = {"Type": "String"}
    body["Resources"]["VpcCni"] = {
        "Type": "AWS::EKS::Addon",
        "Properties": {
            "ClusterName": {"Ref": "Cluster"},
            "AddonName": "vpc-cni",
            "AddonVersion": {"Ref": "CniVersion"},
            "ResolveConflicts": "OVERWRITE",
            "ConfigurationValues": VALUES,
        },
    }
    return body


def _parameters(version: str, cni: str) -> list[dict[str, str]]:
    return [
        {"ParameterKey": "Version", "ParameterValue": version},
        {"ParameterKey": "CniVersion", "ParameterValue": cni},
    ]


def _status(cfn: Any, name: str) -> str:
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def _change_set(cfn: Any, name: str, cni: str) -> None:
    params = [
        {"ParameterKey": "Version", "UsePreviousValue": True},
        {"ParameterKey": "CniVersion", "ParameterValue": cni},
    ]
    made = cfn.create_change_set(
        StackName=name, ChangeSetName="cni", UsePreviousTemplate=True, Parameters=params
    )
    changes = cfn.describe_change_set(ChangeSetName=made["Id"])["Changes"]
    assert [c["ResourceChange"]["LogicalResourceId"] for c in changes] == ["VpcCni"]
    assert changes[0]["ResourceChange"]["Replacement"] == "False"
    cfn.execute_change_set(ChangeSetName="cni", StackName=name)


def test_a_stack_update_moves_the_addon_and_waits_for_it(world: World) -> None:
    cfn, eks = world.client("cloudformation"), world.client("eks")
    body = json.dumps(template("stacked-addon", world.subnets()))
    cfn.create_stack(
        StackName="stacked-addon", TemplateBody=body, Parameters=_parameters("1.31", OLD)
    )
    resources = cfn.describe_stack_resources(StackName="stacked-addon")["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    assert physical["VpcCni"] == "stacked-addon|vpc-cni"
    world.later(61)
    addon = eks.describe_addon(clusterName="stacked-addon", addonName="vpc-cni")["addon"]
    assert (addon["addonVersion"], addon["status"]) == (OLD, "ACTIVE")
    assert addon["configurationValues"] == VALUES

    _change_set(cfn, "stacked-addon", NEW)
    assert _status(cfn, "stacked-addon") == "UPDATE_IN_PROGRESS"
    addon = eks.describe_addon(clusterName="stacked-addon", addonName="vpc-cni")["addon"]
    assert (addon["addonVersion"], addon["status"]) == (NEW, "UPDATING")
    world.later(61)
    assert _status(cfn, "stacked-addon") == "UPDATE_COMPLETE"
    addon = eks.describe_addon(clusterName="stacked-addon", addonName="vpc-cni")["addon"]
    assert (addon["addonVersion"], addon["status"]) == (NEW, "ACTIVE")
    assert addon["configurationValues"] == VALUES  # byte for byte
    (latest, *_) = reversed(
        eks.list_updates(name="stacked-addon", addonName="vpc-cni")["updateIds"]
    )
    update = eks.describe_update(name="stacked-addon", updateId=latest, addonName="vpc-cni")
    params = {p["type"]: p["value"] for p in update["update"]["params"]}
    assert params == {
        "AddonVersion": NEW,
        "ResolveConflicts": "OVERWRITE",
        "ConfigurationValues": VALUES,
    }


def test_a_version_eks_refuses_rolls_the_stack_back(world: World) -> None:
    cfn, eks = world.client("cloudformation"), world.client("eks")
    body = json.dumps(template("refused-addon", world.subnets()))
    cfn.create_stack(
        StackName="refused-addon", TemplateBody=body, Parameters=_parameters("1.31", OLD)
    )
    world.later(61)
    _change_set(cfn, "refused-addon", "v9.9.9-eksbuild.1")
    assert _status(cfn, "refused-addon") == "UPDATE_ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cfn.describe_stack_events(StackName="refused-addon")["StackEvents"]
        if e["LogicalResourceId"] == "VpcCni"
    ]
    assert any("Addon version specified is not supported" in r for r in reasons)
    addon = eks.describe_addon(clusterName="refused-addon", addonName="vpc-cni")["addon"]
    assert (addon["addonVersion"], addon["status"]) == (OLD, "ACTIVE")
