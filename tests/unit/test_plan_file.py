"""Plan file (DESIGN §6): contract keys, deterministic text, strict loading."""

from __future__ import annotations

import json

import pytest

from upgrader.errors import ExitCode, UpgraderError
from upgrader.model.plan import Finding, Plan, Severity, Step, Versions, loads

CONTRACT_KEYS = {
    "schema",
    "cluster",
    "region",
    "from",
    "to",
    "fingerprint",
    "findings",
    "steps",
    "blocked",
}


def _plan(*findings: Finding) -> Plan:
    v12 = Versions(kubernetes="1.12", cni="v1.3.2", kube_proxy="v1.12.10", coredns="v1.2.2")
    v13 = Versions(kubernetes="1.13", cni="v1.5.5", kube_proxy="v1.13.12", coredns="v1.6.6")
    return Plan(
        cluster="staging",
        region="ap-northeast-1",
        from_=v12,
        to=v13,
        fingerprint="sha256:abc",
        findings=findings,
        steps=(
            Step(
                id="control-plane",
                kind="control-plane",
                description="1.12 -> 1.13",
                gates=("STK001", "CAP002"),
                params={"stack": "staging-eks"},
            ),
        ),
        context={"cni": {"version": "v1.3.2"}},
    )


def test_round_trip_and_contract_keys() -> None:
    plan = _plan(Finding(id="CAP005", severity=Severity.ADVISORY, subject="s", message="m"))
    text = plan.dumps()
    assert set(json.loads(text)) >= CONTRACT_KEYS
    assert loads(text) == plan
    assert loads(text).dumps() == text
    assert not plan.blocked


def test_blocked_follows_blocking_findings() -> None:
    plan = _plan(Finding(id="CAP001", severity=Severity.BLOCKING, subject="s", message="m"))
    assert plan.blocked
    assert json.loads(plan.dumps())["blocked"] is True


@pytest.mark.parametrize("text", ["{", "[]", '{"schema": 99}', '{"schema": 1, "cluster": "x"}'])
def test_bad_plan_files_are_bad_input(text: str) -> None:
    with pytest.raises(UpgraderError) as err:
        loads(text, "plan.json")
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert "upgrader plan" in err.value.render()
