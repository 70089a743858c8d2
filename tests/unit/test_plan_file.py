"""Plan file (DESIGN §6): contract keys, typed records, deterministic text, strict loading,
and the published JSON Schema (``docs/plan.schema.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import REPO
from upgrader.errors import ExitCode, UpgraderError
from upgrader.model.context import CniContext, PlanContext, StackNames
from upgrader.model.plan import SCHEMA, Finding, Plan, Severity, Versions, content_digest, loads
from upgrader.model.schema import dumps as schema_text
from upgrader.model.schema import plan_schema
from upgrader.model.steps import ChangeSet, ControlPlaneStep, ResourceChange, StepKind, VerifyStep

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
GOLDEN_PLANS = sorted((REPO / "tests" / "golden" / "plans").rglob("*.json"))


def _plan(*findings: Finding) -> Plan:
    v12 = Versions(kubernetes="1.12", cni="v1.3.2", kube_proxy="v1.12.10", coredns="v1.2.2")
    v13 = Versions(kubernetes="1.13", cni="v1.5.5", kube_proxy="v1.13.12", coredns="v1.6.6")
    change_set = ChangeSet(
        name="upgrader-0a1b",
        id="arn:aws:cloudformation:ap-northeast-1:123456789012:changeSet/upgrader-0a1b/1",
        stack="staging-eks",
        status="CREATE_COMPLETE",
        changes=(
            ResourceChange(
                action="Modify", logical_id="Cluster", type="AWS::EKS::Cluster", replacement="False"
            ),
        ),
    )
    return Plan(
        cluster="staging",
        region="ap-northeast-1",
        from_=v12,
        to=v13,
        fingerprint="sha256:abc",
        findings=findings,
        steps=(
            ControlPlaneStep(
                id="control-plane",
                description="1.12 -> 1.13",
                gates=("STK001", "CAP002"),
                stack="staging-eks",
                parameter="KubernetesVersion",
                from_="1.12",
                to="1.13",
                change_set=change_set,
                minutes=(24, 60),
            ),
            VerifyStep(id="verify", description="verify", gates=("POD001",)),
        ),
        context=PlanContext(
            stacks=StackNames(control_plane="staging-eks", nodegroups=()),
            gates=(("subnet_reserve_ips", 8),),
            cni=CniContext(
                version="v1.5.5", env=(("WARM_ENI_TARGET", "1"),), mode="WARM_ENI", notes=()
            ),
            subnets=(),
            nodegroups=(),
        ),
    )


def _refused(doc: Any) -> str:
    with pytest.raises(UpgraderError) as err:
        loads(json.dumps(doc) if not isinstance(doc, str) else doc, "plan.json")
    assert err.value.exit_code == ExitCode.BAD_INPUT
    return err.value.render()


def test_round_trip_and_contract_keys() -> None:
    plan = _plan(Finding(id="CAP005", severity=Severity.ADVISORY, subject="s", message="m"))
    text = plan.dumps()
    doc = json.loads(text)
    assert set(doc) >= CONTRACT_KEYS
    assert doc["steps"][0]["params"]["from"] == "1.12"
    assert doc["steps"][0]["predicted"] == {"minutes": [24, 60]}
    assert doc["steps"][1] == {
        "id": "verify",
        "kind": "verify",
        "description": "verify",
        "gates": ["POD001"],
        "params": {},
        "predicted": {},
    }
    assert doc["context"]["cni"]["env"] == {"WARM_ENI_TARGET": "1"}
    assert loads(text) == plan
    assert loads(text).dumps() == text
    assert not plan.blocked
    assert [s.kind for s in loads(text).steps] == [StepKind.CONTROL_PLANE, StepKind.VERIFY]


def test_blocked_follows_blocking_findings() -> None:
    plan = _plan(Finding(id="CAP001", severity=Severity.BLOCKING, subject="s", message="m"))
    assert plan.blocked
    assert json.loads(plan.dumps())["blocked"] is True


@pytest.mark.parametrize("text", ["{", "[]", '{"schema": 1, "cluster": "x"}', "[" * 100000])
def test_bad_plan_files_are_bad_input(text: str) -> None:
    assert "upgrader plan" in _refused(text)


def test_a_newer_schema_is_refused_saying_so() -> None:
    doc = json.loads(_plan().dumps())
    doc["schema"] = SCHEMA + 1
    assert "written by a newer upgrader" in _refused(doc)


def test_an_older_schema_is_refused_saying_so() -> None:
    doc = json.loads(_plan().dumps())
    doc["schema"] = 1
    del doc["digest"]
    assert "written by an older upgrader" in _refused(doc)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["steps"][0].update(kind="reboot"), "plan.steps[0].kind"),
        (lambda d: d["steps"][0]["params"].update(to=1.13), "plan.steps[0].params.to"),
        (lambda d: d["steps"][0]["params"].pop("stack"), "has no 'stack'"),
        (lambda d: d["steps"][0]["params"].update(extra="x"), "unknown key(s) 'extra'"),
        (lambda d: d["steps"][0]["predicted"].update(minutes=[24]), "has 1 items, not 2"),
        (lambda d: d["findings"].append({"id": "X", "severity": "fatal"}), "findings[0]"),
        (lambda d: d["context"]["gates"].update(subnet_reserve_ips="8"), "subnet_reserve_ips"),
        (lambda d: d.pop("blocked"), "plan.blocked"),
    ],
)
def test_every_mismatch_names_where_it_is(edit: Any, where: str) -> None:
    doc = json.loads(_plan().dumps())
    edit(doc)
    assert where in _refused(doc)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["to"].update(kubernetes="1.14"),
        lambda d: d["steps"].insert(1, dict(d["steps"][1], id="verify-2")),
        lambda d: d["context"]["cni"]["env"].update(WARM_ENI_TARGET="0"),
        lambda d: d.update(fingerprint="sha256:" + "0" * 64),
    ],
)
def test_an_edited_plan_does_not_match_its_digest(edit: Any) -> None:
    doc = json.loads(_plan().dumps())
    edit(doc)
    message = _refused(doc)
    assert "does not match its digest" in message and "edited after" in message


def test_the_digest_covers_everything_but_itself() -> None:
    plan = _plan()
    doc = json.loads(plan.dumps())
    assert (
        doc["digest"]
        == plan.digest
        == content_digest({k: v for k, v in doc.items() if k != "digest"})
    )
    assert plan.digest.startswith("sha256:") and len(plan.digest) == len("sha256:") + 64
    doc["digest"] = "md5:abc"
    assert "plan.digest" in _refused(doc)


def test_a_file_written_before_a_later_context_field_keeps_its_own_digest() -> None:
    doc = json.loads(_plan().dumps())
    del doc["context"]["insights"]  # a field with a default, added after this file was made
    doc["digest"] = content_digest({k: v for k, v in doc.items() if k != "digest"})
    plan = loads(json.dumps(doc))
    assert plan.digest == doc["digest"] and plan.context.insights == _plan().context.insights


def test_the_published_schema_is_current_and_valid() -> None:
    published = REPO / "docs" / "plan.schema.json"
    assert published.read_text() == schema_text(), (
        "docs/plan.schema.json is stale: python -m upgrader.model.schema > docs/plan.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(plan_schema())


@pytest.mark.parametrize("path", GOLDEN_PLANS, ids=lambda p: str(p.relative_to(REPO)))
def test_golden_plans_satisfy_the_schema_and_load(path: Path) -> None:
    doc = json.loads(path.read_text())
    errors = list(jsonschema.Draft202012Validator(plan_schema()).iter_errors(doc))
    assert not errors, [e.message for e in errors[:3]]
    assert json.loads(loads(path.read_text()).dumps()) == doc


def test_the_schema_refuses_what_the_loader_refuses() -> None:
    validator = jsonschema.Draft202012Validator(plan_schema())
    doc = json.loads(_plan().dumps())
    assert validator.is_valid(doc)
    doc["steps"][0]["params"]["surge"] = 3
    assert not validator.is_valid(doc)
