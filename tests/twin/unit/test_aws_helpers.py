"""Pure helpers of the AWS twin: request classification, durations, AMI ids, template order."""

from __future__ import annotations

import pytest

from ekstwin.aws import amis
from ekstwin.aws.asg_rollout import iso_seconds
from ekstwin.aws.requestlog import action_of, is_mutating, service_of
from ekstwin.aws.stack_updates import dependency_order, references


def test_service_comes_from_the_sigv4_credential_scope() -> None:
    auth = (
        "AWS4-HMAC-SHA256 Credential=AKID/20190601/us-west-2/eks/aws4_request, "
        "SignedHeaders=host, Signature=abc"
    )
    assert service_of({"HTTP_AUTHORIZATION": auth}) == "eks"
    assert service_of({}) == ""


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "body", "target", "expected"),
    [
        ("ec2", "POST", "/", "", b"Action=RunInstances&Version=2016-11-15", "", "RunInstances"),
        ("cloudformation", "GET", "/", "Action=DescribeStacks", b"", "", "DescribeStacks"),
        ("ssm", "POST", "/", "", b"{}", "AmazonSSM.GetParameter", "GetParameter"),
        ("eks", "POST", "/clusters/demo/updates", "", b"{}", "", "UpdateClusterVersion"),
        ("eks", "GET", "/clusters/demo/updates/123", "", b"", "", "DescribeUpdate"),
        ("eks", "GET", "/clusters/demo", "", b"", "", "DescribeCluster"),
        ("eks", "PATCH", "/odd", "", b"", "", "PATCH /odd"),
    ],
)
def test_action_of_each_protocol(
    service: str, method: str, path: str, query: str, body: bytes, target: str, expected: str
) -> None:
    assert action_of(service, method, path, query, body, target) == expected


def test_mutating_actions() -> None:
    assert is_mutating("TerminateInstances", "POST")
    assert is_mutating("AssignPrivateIpAddresses", "POST")
    assert is_mutating("UpdateClusterVersion", "POST")
    assert not is_mutating("DescribeInstances", "POST")
    assert not is_mutating("GET /x", "GET")
    assert is_mutating("PATCH /x", "PATCH")


def test_pause_time_is_iso_8601() -> None:
    assert iso_seconds("PT5M") == 300
    assert iso_seconds("PT1H2M3S") == 3723
    assert iso_seconds("PT0S") == 0
    with pytest.raises(ValueError, match="ISO-8601"):
        iso_seconds("5 minutes")


def test_ami_ids_encode_the_minor_and_family() -> None:
    al2 = amis.ami_id("1.13")
    al2023 = amis.ami_id("1.30", "amazon-linux-2023")
    assert len(al2) == len("ami-") + 17
    assert al2 != al2023
    assert amis.minor_of(al2) == "1.13"
    assert amis.minor_of(al2023) == "1.30"
    assert amis.minor_of("ami-11111111") is None


def test_update_order_follows_ref_getatt_sub_and_dependson() -> None:
    resources = {
        "Asg": {"Properties": {"V": {"Fn::GetAtt": ["Lt", "LatestVersionNumber"]}}},
        "Lt": {"Properties": {"Sub": {"Fn::Sub": "${Role.Arn}-x"}}},
        "Ng": {"DependsOn": "Asg", "Properties": {"C": {"Ref": "Cluster"}}},
        "Cluster": {"Properties": {}},
        "Role": {"Properties": {"P": {"Ref": "AWS::Region"}}},
    }
    order = dependency_order(resources)
    assert order.index("Role") < order.index("Lt") < order.index("Asg") < order.index("Ng")
    assert order.index("Cluster") < order.index("Ng")
    assert references(resources["Lt"]) == {"Role"}
