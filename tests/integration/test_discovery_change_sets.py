"""Change sets over the staging sandbox: created for review, never executed; only
upgrader's own are deleted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.adapters import change_sets
from upgrader.adapters.aws import Aws
from upgrader.adapters.cloudformation import read_stack
from upgrader.adapters.discover import discover
from upgrader.config import Config, load
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "staging")


@pytest.fixture(scope="module")
def config(staging: SandboxClients) -> Iterator[Config]:
    with staging.environment():
        yield load(staging.running.config)


@pytest.fixture(scope="module")
def cfn(staging: SandboxClients) -> Any:
    return staging.cfn


def _stack(config: Config, name: str) -> Stack:
    return read_stack(Aws.connect(config.region), name)


def _listed(cfn: Any, stack: str) -> dict[str, str]:
    return {
        s["ChangeSetName"]: s["Status"] for s in cfn.list_change_sets(StackName=stack)["Summaries"]
    }


def test_create_lists_a_complete_change_set_and_leaves_the_stack_alone(
    config: Config, cfn: Any
) -> None:
    stack = _stack(config, "staging-eks")
    made = change_sets.create(
        stack, {"KubernetesVersion": "1.13"}, description="upgrader plan 1.13"
    )
    assert made.name == change_sets.change_set_name("staging-eks", {"KubernetesVersion": "1.13"})
    assert made.name.startswith("upgrader-") and len(made.name) == len("upgrader-") + 12
    assert made.stack == "staging-eks"
    assert made.status == "CREATE_COMPLETE"
    assert made.id.startswith("arn:aws:cloudformation:ap-northeast-1:")
    assert isinstance(made.changes, tuple)
    for change in made.changes:
        assert change.action in {"Add", "Modify", "Remove"} and change.logical_id and change.type
    assert _listed(cfn, "staging-eks") == {made.name: "CREATE_COMPLETE"}
    described = cfn.describe_change_set(ChangeSetName=made.id)
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in described["Parameters"]}
    assert params["KubernetesVersion"] == "1.13"
    assert described["ExecutionStatus"] == "AVAILABLE"
    raw = cfn.describe_stacks(StackName="staging-eks")["Stacks"][0]
    assert raw["StackStatus"] == "CREATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in raw["Parameters"]}[
        "KubernetesVersion"
    ] == "1.12"
    again = discover(config)
    seen = again.stack("staging-eks")
    assert seen is not None and [c.name for c in seen.change_sets] == [made.name]
    assert seen.change_sets[0].created_by_upgrader
    assert again.cluster.version == "1.12"


def test_planning_the_same_change_twice_keeps_one_change_set(config: Config, cfn: Any) -> None:
    stack = _stack(config, "staging-eks")
    first = change_sets.create(stack, {"KubernetesVersion": "1.13"}, description="plan")
    second = change_sets.create(stack, {"KubernetesVersion": "1.13"}, description="plan")
    assert first.name == second.name
    assert list(_listed(cfn, "staging-eks")) == [first.name]


def test_no_change_reports_no_changes(config: Config, cfn: Any) -> None:
    stack = _stack(config, "staging-workers")
    made = change_sets.create(stack, {"NodeInstanceType": "r5.xlarge"}, description="no-op")
    assert made.status == change_sets.NO_CHANGES
    assert made.changes == ()
    assert made.name not in _listed(cfn, "staging-workers")


def test_unknown_parameter_is_bad_input(config: Config) -> None:
    stack = _stack(config, "staging-eks")
    with pytest.raises(BadInputError) as caught:
        change_sets.create(stack, {"Version": "1.13"}, description="typo")
    assert "Version" in caught.value.message and "KubernetesVersion" in caught.value.message


def test_delete_previous_removes_only_upgrader_change_sets(config: Config, cfn: Any) -> None:
    stack = _stack(config, "staging-eks")
    mine = change_sets.create(stack, {"KubernetesVersion": "1.13"}, description="plan")
    cfn.create_change_set(
        StackName="staging-eks",
        ChangeSetName="upgrader-by-hand",  # a person's name that merely starts alike
        ChangeSetType="UPDATE",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": key, "ParameterValue": "1.13"}
            if key == "KubernetesVersion"
            else {"ParameterKey": key, "UsePreviousValue": True}
            for key, _ in stack.parameters
        ],
    )
    assert set(_listed(cfn, "staging-eks")) == {mine.name, "upgrader-by-hand"}
    assert change_sets.delete_previous(stack) == (mine.name,)
    assert list(_listed(cfn, "staging-eks")) == ["upgrader-by-hand"]
    assert change_sets.delete_previous(stack) == ()
    assert cfn.describe_stacks(StackName="staging-eks")["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )
