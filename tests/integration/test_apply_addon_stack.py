"""An EKS add-on declared in the user's stack moves through a change set on that stack:
Modern (1.31 -> 1.32) with vpc-cni declared in the control-plane stack as an
``AWS::EKS::Addon`` whose AddonVersion is a parameter. One plan, one apply: the control
plane's change set first, then the add-on's (made by apply: the same stack), no
``UpdateAddon`` from upgrader, and the add-on's configurationValues byte for byte."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox, wait_for

pytestmark = pytest.mark.integration
CLUSTER, STACK = "modern", "modern-eks"
PDBS = "/apis/policy/v1/poddisruptionbudgets"
# odd spacing and key order: what the user wrote must reach EKS unchanged
VALUES = '{"env": {"WARM_ENI_TARGET":"1",  "WARM_PREFIX_TARGET": "1"}}'
OLD = "v1.19.2-eksbuild.1"  # the release aws-node runs, as an add-on version


@pytest.fixture
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "modern", Cluster)


def _declare_vpc_cni(c: Cluster) -> None:
    """What a user does: vpc-cni added to the cluster's stack, its version a parameter."""
    raw = c.cfn.get_template(StackName=STACK)["TemplateBody"]
    body: dict[str, Any] = raw if isinstance(raw, dict) else json.loads(raw)
    body["Parameters"]["CniVersion"] = {"Type": "String", "Description": "vpc-cni add-on"}
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
    stack = c.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    # their values (moto's UpdateStack cannot take UsePreviousValue for a defaulted one)
    params = [
        {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
        for p in stack["Parameters"]
    ]
    params.append({"ParameterKey": "CniVersion", "ParameterValue": OLD})
    c.cfn.update_stack(
        StackName=STACK,
        TemplateBody=json.dumps(body),
        Parameters=params,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    c.cfn.get_waiter("stack_update_complete").wait(StackName=STACK, WaiterConfig={"Delay": 1})
    c.eks.get_waiter("addon_active").wait(
        clusterName=CLUSTER, addonName="vpc-cni", WaiterConfig={"Delay": 1}
    )

    def rolled() -> bool:
        ds = c.apps.read_namespaced_daemon_set("aws-node", "kube-system")
        status = ds.status
        return bool(
            ds.spec.template.spec.containers[0].image.endswith(":" + OLD)
            and status.observed_generation == ds.metadata.generation
            and status.updated_number_scheduled == status.desired_number_scheduled
            and status.number_available == status.desired_number_scheduled
        )

    wait_for(rolled, "aws-node to run the add-on's version", 60.0)


def test_an_addon_declared_in_a_stack_moves_through_a_change_set(modern: Cluster) -> None:
    c = modern
    _declare_vpc_cni(c)
    _, _, watcher = c.planned(PDBS)
    plan = yaml.safe_load(c.plan_file.read_text())
    (step,) = [s for s in plan["steps"] if s["kind"] == "managed-addon-stack"]
    params = step["params"]
    assert (params["addon"], params["from"]) == ("vpc-cni", OLD)
    assert (params["stack"], params["resource"], params["parameter"]) == (
        STACK,
        "VpcCni",
        "CniVersion",
    )
    assert params["resolve_conflicts"] == "OVERWRITE"
    assert params["configuration_values"] == VALUES
    # the control plane's change set on the same stack runs first: apply makes this one
    assert params["change_set"] is None
    ids = [s["id"] for s in plan["steps"]]
    assert ids.index("control-plane") < ids.index(step["id"])
    assert not [s for s in plan["steps"] if s["kind"] in ("cni", "managed-addon")]
    target = params["to"]

    code, events, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert c.eks.describe_cluster(name=CLUSTER)["cluster"]["version"] == "1.32"
    addon = c.eks.describe_addon(clusterName=CLUSTER, addonName="vpc-cni")["addon"]
    assert (addon["addonVersion"], addon["status"]) == (target, "ACTIVE")
    assert addon["configurationValues"] == VALUES  # byte for byte
    stack = c.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (values["CniVersion"], values["KubernetesVersion"]) == (target, "1.32")
    requests = c.aws_requests()
    assert not [r for r in requests if r["action"] == "UpdateAddon"]  # never behind the stack
    assert any("change set is made now" in e["message"] for e in events)
    ds = c.apps.read_namespaced_daemon_set("aws-node", "kube-system")
    assert ds.spec.template.spec.containers[0].image.endswith(":" + target)
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    assert c.journal()["complete"]
