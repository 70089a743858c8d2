"""Scenario ``faults:`` knobs: parsed, validated (every problem at once), off by default."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from ekstwin.aws.faults import SERVICES, AwsFaults, throttled
from ekstwin.kubeapi.faults import ApiFaults
from ekstwin.scenario import FAULT_SERVICES, Faults, ScenarioError, load, parse, shipped


def _dev(faults: Any) -> dict[str, Any]:
    raw = yaml.safe_load(resources.files("ekstwin").joinpath("scenarios/dev.yaml").read_text())
    raw["faults"] = faults
    return raw


def test_shipped_scenarios_are_fault_free() -> None:
    for name in shipped():
        faults = load(name).faults
        assert faults.aws_throttle == faults.aws_5xx == ()
        assert faults.apiserver_429 == faults.apiserver_500 == 0.0
        assert faults.slow_control_plane_minutes is None
        assert faults.nodegroup_stack_update_fails is None


def test_every_knob_parses() -> None:
    faults = parse(
        _dev(
            {
                "aws_throttle": {"ec2": 0.5, "eks": 1},
                "aws_5xx": {"cloudformation": 0.1},
                "apiserver_429": 0.2,
                "apiserver_500": 0,
                "slow_control_plane_minutes": 90,
                "nodegroup_stack_update_fails": "NodeGroup",
            }
        )
    ).faults
    assert faults == Faults(
        aws_throttle=(("ec2", 0.5), ("eks", 1.0)),
        aws_5xx=(("cloudformation", 0.1),),
        apiserver_429=0.2,
        slow_control_plane_minutes=90,
        nodegroup_stack_update_fails="NodeGroup",
    )


def test_every_problem_is_listed() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(
            _dev(
                {
                    "aws_throttle": {"s3": 0.5, "ec2": 2},
                    "aws_5xx": [0.1],
                    "apiserver_429": "often",
                    "apiserver_500": True,
                    "slow_control_plane_minutes": 0,
                    "nodegroup_stack_update_fails": 7,
                    "gremlins": 1,
                }
            )
        )
    text = str(caught.value)
    for key in (
        "faults.aws_throttle.s3: is not a service",
        "faults.aws_throttle.ec2: 2 must be a number from 0 to 1",
        "faults.aws_5xx: [0.1] must be a mapping",
        "faults.apiserver_429: 'often'",
        "faults.apiserver_500: True",
        "faults.slow_control_plane_minutes: 0 must be a whole number >= 1",
        "faults.nodegroup_stack_update_fails: 7",
        "faults.gremlins: is not a fault",
    ):
        assert key in text


def test_the_scenario_and_the_twin_name_the_same_services() -> None:
    assert FAULT_SERVICES == SERVICES


def test_draws_are_seeded_and_off_by_default() -> None:
    quiet = AwsFaults()
    assert all(quiet.draw(s) is None for s in SERVICES for _ in range(20))
    runs = []
    for _ in range(2):
        faults = AwsFaults()
        faults.configure({"aws_throttle": {"ec2": 0.5}})
        runs.append([faults.draw("ec2") is not None for _ in range(50)])
    assert runs[0] == runs[1]
    assert 0 < sum(runs[0]) < 50
    with pytest.raises(ValueError, match=r"aws_5xx\.s3.*aws_5xx\.ec2"):
        AwsFaults().configure({"aws_5xx": {"s3": 0.1, "ec2": -1}})
    api = ApiFaults()
    api.configure({"apiserver_429": 1})
    assert api.draw("/api/v1/pods") == "apiserver_429"
    assert api.draw("/version") is None
    assert api.draw("/_sandbox/requests") is None


@pytest.mark.parametrize(
    ("service", "status", "code"),
    [
        ("ec2", "503", b"<Code>RequestLimitExceeded</Code>"),
        ("autoscaling", "400", b"<Code>Throttling</Code>"),
        ("cloudformation", "400", b"<Code>Throttling</Code>"),
        ("iam", "400", b"<Code>Throttling</Code>"),
        ("sts", "400", b"<Code>Throttling</Code>"),
        ("ssm", "400", b'"__type": "ThrottlingException"'),
        ("eks", "429", b'"__type": "ThrottlingException"'),
    ],
)
def test_throttling_answers_in_the_services_protocol(
    service: str, status: str, code: bytes
) -> None:
    got_status, _, body = throttled(service)
    assert got_status.startswith(status)
    assert code in body
