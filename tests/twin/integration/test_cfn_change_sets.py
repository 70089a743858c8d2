"""CloudFormation change sets and stack events in the AWS twin as AWS gives them, over real
HTTP with boto3 (and the AWS CLI when installed): the Staging scenario's control-plane stack
and its node group from AWS's 2019 template."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ekstwin.aws import AwsTwin, change_set_diff
from ekstwin.clock import VirtualClock
from ekstwin.scenario import load
from ekstwin.world import build_aws
from tests.twin.nodegroup_2019 import (
    GROUP,
    LAUNCH_CONFIGURATION,
    LAUNCH_TEMPLATE,
    change_set_parameters,
    launch_template_body,
)

pytestmark = pytest.mark.integration

WORKERS = "staging-workers"
EKS = "staging-eks"
AL2 = "/aws/service/eks/optimized-ami/{}/amazon-linux-2/recommended/image_id"
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to "
    "create a change set."
)


class Twin:
    def __init__(self) -> None:
        self.scenario = load("staging")
        self.clock = VirtualClock(speed=1.0)
        self.twin = AwsTwin(self.clock, region=self.scenario.region)
        self.url = self.twin.start()
        with self.twin.lock:
            build_aws(self.scenario, self.twin)
        self.cfn = boto3.client(
            "cloudformation",
            endpoint_url=self.url,
            region_name=self.scenario.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create(
        self, stack: str, name: str, body: str | None = None, **changed: str
    ) -> dict[str, Any]:
        """CreateChangeSet without a ChangeSetType (AWS: UPDATE), every parameter kept but
        ``changed``; DescribeChangeSet's answer."""
        keys = [
            p["ParameterKey"]
            for p in self.cfn.describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]
        ]
        source: dict[str, Any] = {"TemplateBody": body} if body else {"UsePreviousTemplate": True}
        self.cfn.create_change_set(
            StackName=stack,
            ChangeSetName=name,
            Capabilities=["CAPABILITY_IAM"],
            Parameters=change_set_parameters(keys, changed),
            **source,
        )
        described: dict[str, Any] = self.cfn.describe_change_set(
            StackName=stack, ChangeSetName=name
        )
        return described

    def events(self, stack: str) -> list[dict[str, Any]]:
        """DescribeStackEvents of the stack's newest operation, oldest first."""
        newest_first = self.cfn.describe_stack_events(StackName=stack)["StackEvents"]
        times = [e["Timestamp"] for e in newest_first]
        assert times == sorted(times, reverse=True)  # newest first, the twin's clock
        found: list[dict[str, Any]] = []
        for event in newest_first:
            found.append(event)
            if event["LogicalResourceId"] == stack and event["ResourceStatus"] in (
                "UPDATE_IN_PROGRESS",
                "CREATE_IN_PROGRESS",
            ):
                break
        return found[::-1]

    def fault(self, stack: str, resource: str, reason: str) -> None:
        spec = {"fail_stack_update": {"stack": stack, "resource": resource, "reason": reason}}
        request = urllib.request.Request(
            f"{self.url}/_sandbox/faults", data=json.dumps(spec).encode(), method="POST"
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 204


@pytest.fixture
def twin() -> Iterator[Twin]:
    made = Twin()
    yield made
    made.twin.stop()


def changes_by_id(described: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    for change in described["Changes"]:
        assert change["Type"] == "Resource"
    return {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]
    }


def physical_ids(twin: Twin, stack: str) -> dict[str, str]:
    resources = twin.cfn.describe_stack_resources(StackName=stack)["StackResources"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events]


def test_parameter_only_ami_change_replaces_the_launch_configuration(twin: Twin) -> None:
    ids = physical_ids(twin, WORKERS)
    changes = changes_by_id(twin.create(WORKERS, "ami", NodeImageIdSSMParam=AL2.format("1.13")))
    assert set(changes) == {LAUNCH_CONFIGURATION, GROUP}
    config = changes[LAUNCH_CONFIGURATION]
    assert config["Action"] == "Modify"
    assert config["ResourceType"] == "AWS::AutoScaling::LaunchConfiguration"
    assert config["PhysicalResourceId"] == ids[LAUNCH_CONFIGURATION]
    assert (config["Replacement"], config["Scope"]) == ("True", ["Properties"])
    assert config["Details"] == [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "ImageId",
                "RequiresRecreation": "Always",
            },
            "Evaluation": "Static",
            "ChangeSource": "ParameterReference",
            "CausingEntity": "NodeImageIdSSMParam",
        }
    ]
    group = changes[GROUP]
    assert (group["Action"], group["Replacement"]) == ("Modify", "False")
    assert group["PhysicalResourceId"] == ids[GROUP]
    assert group["Details"] == [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "LaunchConfigurationName",
                "RequiresRecreation": "Never",
            },
            "Evaluation": "Dynamic",
            "ChangeSource": "ResourceReference",
            "CausingEntity": LAUNCH_CONFIGURATION,
        }
    ]


def test_launch_configuration_to_launch_template(twin: Twin) -> None:
    ids = physical_ids(twin, WORKERS)
    changes = changes_by_id(twin.create(WORKERS, "to-lt", launch_template_body()))
    assert {k: c["Action"] for k, c in changes.items()} == {
        LAUNCH_CONFIGURATION: "Remove",
        LAUNCH_TEMPLATE: "Add",
        GROUP: "Modify",
    }
    removed = changes[LAUNCH_CONFIGURATION]
    assert removed["PhysicalResourceId"] == ids[LAUNCH_CONFIGURATION]
    assert removed["PolicyAction"] == "Delete"
    added = changes[LAUNCH_TEMPLATE]
    assert added["ResourceType"] == "AWS::EC2::LaunchTemplate"
    assert "PhysicalResourceId" not in added and "Replacement" not in added
    group = changes[GROUP]
    assert group["Replacement"] == "False"
    assert group["Scope"] == ["Properties", "UpdatePolicy"]
    by_name = {d["Target"].get("Name", d["Target"]["Attribute"]): d for d in group["Details"]}
    assert by_name["LaunchConfigurationName"]["ChangeSource"] == "DirectModification"
    assert by_name["LaunchTemplate"]["Target"]["RequiresRecreation"] == "Never"
    assert by_name["UpdatePolicy"]["Evaluation"] == "Static"


def test_cluster_version_change_defaults_to_update(twin: Twin) -> None:
    described = twin.create(EKS, "to-113", KubernetesVersion="1.13")
    (cluster,) = changes_by_id(described).values()
    assert (cluster["LogicalResourceId"], cluster["Action"]) == ("Cluster", "Modify")
    assert (cluster["ResourceType"], cluster["Replacement"]) == ("AWS::EKS::Cluster", "False")
    assert cluster["PhysicalResourceId"] == "staging"
    assert cluster["Details"][0]["Target"] == {
        "Attribute": "Properties",
        "Name": "Version",
        "RequiresRecreation": "Never",
    }
    assert cluster["Details"][0]["CausingEntity"] == "KubernetesVersion"
    summaries = twin.cfn.list_change_sets(StackName=EKS)["Summaries"]
    assert [s["ChangeSetName"] for s in summaries] == ["to-113"]


def test_executing_a_change_set_removes_every_change_set_of_the_stack(twin: Twin) -> None:
    """AWS: after a change set runs, none of the stack's change sets applies any more, so
    CloudFormation deletes them all; other stacks' stay."""
    twin.create(EKS, "to-113", KubernetesVersion="1.13")
    twin.create(EKS, "also-113", KubernetesVersion="1.13")
    twin.create(WORKERS, "to-lt", launch_template_body())
    twin.cfn.execute_change_set(StackName=EKS, ChangeSetName="to-113")
    assert twin.cfn.list_change_sets(StackName=EKS)["Summaries"] == []
    with pytest.raises(ClientError):  # (AWS's code is ChangeSetNotFound; moto's, ValidationError)
        twin.cfn.describe_change_set(StackName=EKS, ChangeSetName="also-113")
    workers = twin.cfn.list_change_sets(StackName=WORKERS)["Summaries"]
    assert [s["ChangeSetName"] for s in workers] == ["to-lt"]


def test_no_change_fails_and_create_on_an_existing_stack_is_refused(twin: Twin) -> None:
    described = twin.create(EKS, "same")
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert described["StatusReason"] == NO_CHANGES
    assert described["Changes"] == []
    with pytest.raises(ClientError) as refused:
        twin.cfn.create_change_set(
            StackName=EKS,
            ChangeSetName="again",
            ChangeSetType="CREATE",
            UsePreviousTemplate=True,
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == (
        f"Stack [{EKS}] already exists and cannot be created again with the changeSet [again]."
    )


def test_describe_change_set_pages(twin: Twin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(change_set_diff, "PAGE_SIZE", 2)
    twin.create(WORKERS, "to-lt", launch_template_body())
    first = twin.cfn.describe_change_set(StackName=WORKERS, ChangeSetName="to-lt")
    assert len(first["Changes"]) == 2 and first["NextToken"]
    rest = twin.cfn.describe_change_set(
        StackName=WORKERS, ChangeSetName="to-lt", NextToken=first["NextToken"]
    )
    assert len(rest["Changes"]) == 1 and "NextToken" not in rest


def test_events_of_creation_and_of_an_update(twin: Twin) -> None:
    created = twin.events(WORKERS)
    ids = physical_ids(twin, WORKERS)
    assert created[0]["ResourceStatus"] == "CREATE_IN_PROGRESS"
    assert created[-1]["ResourceStatus"] == "CREATE_COMPLETE"
    assert created[-1]["LogicalResourceId"] == WORKERS
    config = [e for e in created if e["LogicalResourceId"] == LAUNCH_CONFIGURATION]
    assert [(e["ResourceStatus"], e.get("ResourceStatusReason")) for e in config] == [
        ("CREATE_IN_PROGRESS", None),
        ("CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("CREATE_COMPLETE", None),
    ]
    assert config[-1]["PhysicalResourceId"] == ids[LAUNCH_CONFIGURATION]
    order = [e["LogicalResourceId"] for e in created if e["ResourceStatus"] == "CREATE_COMPLETE"]
    assert order.index(LAUNCH_CONFIGURATION) < order.index(GROUP)  # dependency order

    twin.clock.advance(60)
    twin.create(WORKERS, "to-lt", launch_template_body())
    twin.cfn.execute_change_set(StackName=WORKERS, ChangeSetName="to-lt")
    updated = twin.events(WORKERS)
    assert statuses(updated) == [
        (WORKERS, "UPDATE_IN_PROGRESS"),
        (LAUNCH_TEMPLATE, "CREATE_IN_PROGRESS"),
        (LAUNCH_TEMPLATE, "CREATE_IN_PROGRESS"),
        (LAUNCH_TEMPLATE, "CREATE_COMPLETE"),
        (GROUP, "UPDATE_IN_PROGRESS"),
        (GROUP, "UPDATE_COMPLETE"),
        (WORKERS, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        (LAUNCH_CONFIGURATION, "DELETE_IN_PROGRESS"),
        (LAUNCH_CONFIGURATION, "DELETE_COMPLETE"),
        (WORKERS, "UPDATE_COMPLETE"),
    ]
    assert updated[-2]["PhysicalResourceId"] == ids[LAUNCH_CONFIGURATION]
    start: datetime = updated[0]["Timestamp"]
    assert (start - created[-1]["Timestamp"]).total_seconds() >= 60  # virtual time


def test_events_of_a_failed_update_and_its_rollback(twin: Twin) -> None:
    twin.create(EKS, "to-113", KubernetesVersion="1.13")
    twin.fault(EKS, "Cluster", "Resource handler returned message: boom")
    twin.cfn.execute_change_set(StackName=EKS, ChangeSetName="to-113")
    stack = twin.cfn.describe_stacks(StackName=EKS)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    events = twin.events(EKS)
    assert statuses(events) == [
        (EKS, "UPDATE_IN_PROGRESS"),
        ("Cluster", "UPDATE_IN_PROGRESS"),
        ("Cluster", "UPDATE_FAILED"),
        (EKS, "UPDATE_ROLLBACK_IN_PROGRESS"),
        ("Cluster", "UPDATE_IN_PROGRESS"),
        ("Cluster", "UPDATE_COMPLETE"),
        (EKS, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        (EKS, "UPDATE_ROLLBACK_COMPLETE"),
    ]
    assert events[2]["ResourceStatusReason"] == "Resource handler returned message: boom"
    assert events[2]["ResourceType"] == "AWS::EKS::Cluster"
    assert events[2]["PhysicalResourceId"] == "staging"
    assert events[3]["ResourceStatusReason"] == (
        "The following resource(s) failed to update: [Cluster]. "
    )


def test_aws_cli_describes_the_change_set(twin: Twin) -> None:
    cli = shutil.which("aws")
    if cli is None:
        pytest.skip("the AWS CLI is not installed")
    twin.create(WORKERS, "ami", NodeImageIdSSMParam=AL2.format("1.13"))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": twin.scenario.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    done = subprocess.run(
        [cli, "cloudformation", "describe-change-set", "--endpoint-url", twin.url,
         "--stack-name", WORKERS, "--change-set-name", "ami", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    described = json.loads(done.stdout)
    changes = {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]
    }
    assert changes[LAUNCH_CONFIGURATION]["Replacement"] == "True"
    assert changes[LAUNCH_CONFIGURATION]["Details"][0]["CausingEntity"] == "NodeImageIdSSMParam"
    assert changes[GROUP]["Replacement"] == "False"
