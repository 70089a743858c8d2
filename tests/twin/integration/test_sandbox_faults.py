"""Scenario faults on a live sandbox: throttled and failing AWS calls, a shedding API server,
a slow control plane and a node-group stack update that fails and rolls back."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from ekstwin.runtime import Sandbox
from ekstwin.scenario import parse

pytestmark = pytest.mark.integration

FAILING = "NodeGroup"


class Live(Sandbox):
    aws_url = ""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Live]:
    raw = yaml.safe_load(resources.files("ekstwin").joinpath("scenarios/dev.yaml").read_text())
    raw["faults"] = {
        "aws_throttle": {"ec2": 1.0},
        "apiserver_429": 1.0,
        "slow_control_plane_minutes": 7,
        "nodegroup_stack_update_fails": FAILING,
    }
    made = Live(parse(raw, "faults"))
    made.aws_url = made.start().aws
    yield made
    made.stop()


def _client(sandbox: Live, service: str, config: Config | None = None) -> Any:
    assert sandbox.twin is not None
    return boto3.client(
        service,
        endpoint_url=sandbox.aws_url,
        region_name=sandbox.scenario.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def _post(url: str, spec: dict[str, Any]) -> int:
    request = urllib.request.Request(url, data=json.dumps(spec).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def _requests(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(url + "/_sandbox/requests", timeout=10) as response:
        return list(json.load(response))


def test_throttled_ec2_without_retries_gets_request_limit_exceeded(sandbox: Live) -> None:
    assert sandbox.twin is not None
    raw = _client(sandbox, "ec2", Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        raw.describe_instances()
    assert caught.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    with pytest.raises(ClientError):
        raw.create_tags(Resources=["i-12345678"], Tags=[{"Key": "a", "Value": "b"}])
    logged = [e for e in _requests(sandbox.aws_url) if e.get("fault")]
    assert {(e["action"], e["status"], e["fault"]) for e in logged} >= {
        ("DescribeInstances", 503, "throttle"),
        ("CreateTags", 503, "throttle"),
    }
    # other services are untouched
    _client(sandbox, "autoscaling").describe_auto_scaling_groups()


def test_half_throttled_ec2_succeeds_with_botocores_retries(sandbox: Live) -> None:
    assert sandbox.twin is not None
    url = sandbox.aws_url
    assert _post(url + "/_sandbox/faults", {"aws_throttle": {"ec2": 0.5}}) == 204
    before = len(_requests(url))
    try:
        ec2 = _client(sandbox, "ec2", Config(retries={"mode": "standard", "max_attempts": 10}))
        for _ in range(4):
            assert ec2.describe_subnets()["Subnets"]
    finally:
        assert _post(url + "/_sandbox/faults", {"aws_throttle": {}}) == 204
    faulted = [e for e in _requests(url)[before:] if e.get("fault") == "throttle"]
    assert faulted
    assert _client(sandbox, "ec2").describe_subnets()["Subnets"]


def test_faults_endpoint_refuses_bad_rates(sandbox: Live) -> None:
    assert sandbox.twin is not None
    with pytest.raises(urllib.error.HTTPError) as caught:
        _post(sandbox.aws_url + "/_sandbox/faults", {"aws_5xx": {"s3": 2}})
    caught.value.close()
    assert caught.value.code == 400


def test_aws_5xx_is_a_retried_server_error(sandbox: Live) -> None:
    assert sandbox.twin is not None
    url = sandbox.aws_url
    assert _post(url + "/_sandbox/faults", {"aws_5xx": {"cloudformation": 1.0}}) == 204
    try:
        cfn = _client(sandbox, "cloudformation", Config(retries={"total_max_attempts": 1}))
        with pytest.raises(ClientError) as caught:
            cfn.describe_stacks()
    finally:
        assert _post(url + "/_sandbox/faults", {"aws_5xx": {}}) == 204
    error = caught.value.response
    assert error["Error"]["Code"] in ("InternalFailure", "ServiceUnavailable")
    assert error["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)


def test_apiserver_sheds_requests_with_429_and_retry_after(sandbox: Live) -> None:
    url = sandbox.kube.url
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url + "/api/v1/namespaces", timeout=10)
    assert caught.value.code == 429
    assert caught.value.headers["Retry-After"] == "1"
    status = json.load(caught.value)
    caught.value.close()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "TooManyRequests", 429)
    with urllib.request.urlopen(url + "/version", timeout=10) as response:
        assert response.status == 200
    assert _post(url + "/_sandbox/faults", {"apiserver_429": 0, "apiserver_500": 1}) == 200
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(url + "/api/v1/namespaces", timeout=10)
    assert failed.value.code == 500
    assert json.load(failed.value)["reason"] == "InternalError"
    failed.value.close()
    assert _post(url + "/_sandbox/faults", {"apiserver_500": 0}) == 200
    with urllib.request.urlopen(url + "/api/v1/namespaces", timeout=10) as response:
        assert response.status == 200


def _wait(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_control_plane_update_takes_the_scenarios_minutes(sandbox: Live) -> None:
    assert sandbox.twin is not None
    assert sandbox.twin._state.control_plane_update_seconds == 7 * 60
    eks = _client(sandbox, "eks")
    name = sandbox.scenario.name
    started = sandbox.clock.now()
    update = eks.update_cluster_version(name=name, version="1.13")["update"]

    def done() -> bool:
        got = eks.describe_update(name=name, updateId=update["id"])["update"]
        return bool(got["status"] != "InProgress")

    _wait(done, "the control-plane update")
    took = sandbox.clock.now() - started
    assert 7 * 60 <= took < 40 * 60
    assert eks.describe_cluster(name=name)["cluster"]["version"] == "1.13"


def test_first_nodegroup_stack_update_fails_on_the_resource_and_rolls_back(
    sandbox: Live,
) -> None:
    assert sandbox.world is not None
    cfn = _client(sandbox, "cloudformation")
    stack = sandbox.world.nodegroup_stacks[0]
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    params = [
        {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
        for p in described.get("Parameters", [])
    ]
    template = cfn.get_template(StackName=stack)["TemplateBody"]
    body = template if isinstance(template, str) else json.dumps(template)
    changed = body.replace('"Resources"', '"Metadata": {"faults": "test"}, "Resources"', 1)
    if changed == body:
        changed = "Metadata:\n  faults: test\n" + body
    cfn.update_stack(
        StackName=stack,
        TemplateBody=changed,
        Parameters=params,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )

    def status() -> str:
        return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])

    _wait(lambda: status() == "UPDATE_ROLLBACK_COMPLETE", "the rollback")
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed
    assert failed[0]["LogicalResourceId"] == FAILING
    # only the first update fails
    cfn.update_stack(
        StackName=stack,
        TemplateBody=changed.replace("faults: test", "faults: again").replace(
            '"faults": "test"', '"faults": "again"'
        ),
        Parameters=params,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    _wait(lambda: status() == "UPDATE_COMPLETE", "the second update")
