"""Whether a plan's control-plane step may be rolled back (pure): EKS's 7-day window from
an in-place upgrade on record, every node and managed node group still at N-1, the
cluster ACTIVE and its stack matching it; every reason is given at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.cluster_states import config, modern_129
from upgrader.model.state import ClusterState
from upgrader.model.steps import ControlPlaneStep
from upgrader.model.updates import ClusterUpdate
from upgrader.planner import make_plan
from upgrader.planner.rollback import decide, rollback_parameter

STATE = modern_129()
CONFIG = config(STATE, target="1.31", cni="v1.20.1")
PLAN = make_plan(STATE, CONFIG)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _at(version: str, state: ClusterState = STATE) -> ClusterState:
    """``state`` after the control plane (only) moved to ``version``."""
    stacks = tuple(
        replace(
            s,
            parameters=tuple(
                (k, version if k == "KubernetesVersion" else v) for k, v in s.parameters
            ),
        )
        if s.name == CONFIG.control_plane_stack
        else s
        for s in state.stacks
    )
    return replace(state, cluster=replace(state.cluster, version=version), stacks=stacks)


def _upgrade(days_ago: float, version: str = "1.30", status: str = "Successful") -> ClusterUpdate:
    return ClusterUpdate(
        id=f"up-{version}",
        type="VersionUpdate",
        status=status,
        version=version,
        created_at=NOW - timedelta(days=days_ago),
    )


def test_the_first_hop_is_rolled_back_through_its_stack() -> None:
    decision = decide(PLAN, _at("1.30"), [_upgrade(1)], NOW)
    assert decision.refusals == ()
    step = decision.step
    assert step is not None
    assert (step.id, step.from_, step.to) == ("rollback-control-plane@1.30", "1.30", "1.29")
    assert step.stack == CONFIG.control_plane_stack
    assert step.stack_parameters()["KubernetesVersion"] == "1.29"


def test_a_cluster_the_plan_did_not_move_is_refused_for_that_alone() -> None:
    decision = decide(PLAN, STATE, [], NOW)
    assert decision.step is None
    assert len(decision.refusals) == 1
    assert "runs 1.29" in decision.refusals[0]
    assert "1.30, 1.31" in decision.refusals[0]


@pytest.mark.parametrize(
    ("updates", "wanted"),
    [
        ([_upgrade(8)], "more than 7 days ago"),
        ([], "no successful in-place upgrade"),
        ([_upgrade(1, status="Failed")], "no successful in-place upgrade"),
        ([_upgrade(1, version="1.29")], "no successful in-place upgrade"),
    ],
)
def test_the_rollback_window_comes_from_the_upgrade_on_record(
    updates: list[ClusterUpdate], wanted: str
) -> None:
    decision = decide(PLAN, _at("1.30"), updates, NOW)
    assert decision.step is None
    assert any(wanted in r for r in decision.refusals), decision.refusals


def test_nodes_and_managed_groups_past_n_minus_1_are_named() -> None:
    state = _at("1.30")
    moved = state.nodes[0]
    state = replace(
        state,
        nodes=(replace(moved, kubelet_version="v1.30.4-eks-a1b2c3"), *state.nodes[1:]),
        managed_nodegroups=tuple(replace(m, version="1.30") for m in state.managed_nodegroups),
    )
    decision = decide(PLAN, state, [_upgrade(1)], NOW)
    assert decision.step is None
    text = "\n".join(decision.refusals)
    assert f"{moved.name} (kubelet v1.30.4-eks-a1b2c3)" in text
    assert "1 node(s) run a kubelet newer than 1.29" in text
    names = ", ".join(sorted(m.name for m in state.managed_nodegroups))
    assert f"managed node group(s) {names} are no longer at 1.29" in text


def test_an_updating_cluster_and_a_drifted_stack_are_refused() -> None:
    state = _at("1.30")
    state = replace(
        state,
        cluster=replace(state.cluster, status="UPDATING"),
        stacks=tuple(
            replace(s, parameters=(("KubernetesVersion", "1.31"),))
            if s.name == CONFIG.control_plane_stack
            else s
            for s in state.stacks
        ),
    )
    running = ClusterUpdate(
        id="u-2", type="VersionUpdate", status="InProgress", version="1.31", created_at=NOW
    )
    refusals = decide(PLAN, state, [_upgrade(1), running], NOW).refusals
    assert any("is UPDATING with update u-2 in progress" in r for r in refusals)
    assert any("sets KubernetesVersion=1.31, not 1.30" in r for r in refusals)


WITH_ROLLBACK_CONFIG = """Parameters:
  KubernetesVersion: {Type: String}
  Minutes: {Type: Number, Default: 720}
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Version: !Ref KubernetesVersion
      RollbackConfig: {TimeoutMinutes: !Ref Minutes}
"""


def test_the_forward_step_sets_the_rollback_timeout_its_template_takes() -> None:
    first = PLAN.steps[0]
    assert isinstance(first, ControlPlaneStep)
    assert first.rollback_parameter is None  # no RollbackConfig: EKS's default applies
    assert first.stack_parameters() == {"KubernetesVersion": "1.30"}
    stacks = tuple(
        replace(
            s, template_body=WITH_ROLLBACK_CONFIG, parameters=(*s.parameters, ("Minutes", "720"))
        )
        if s.name == CONFIG.control_plane_stack
        else s
        for s in STATE.stacks
    )
    state = replace(STATE, stacks=stacks)
    stack = state.stack(CONFIG.control_plane_stack)
    assert stack is not None and rollback_parameter(stack) == "Minutes"
    plan = make_plan(state, replace(CONFIG, rollback_timeout_minutes=300))
    first = plan.steps[0]
    assert isinstance(first, ControlPlaneStep)
    assert first.stack_parameters() == {"KubernetesVersion": "1.30", "Minutes": "300"}
