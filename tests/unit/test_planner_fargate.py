"""Fargate pods follow each control-plane step (pure planning, and apply on fakes): a
restart step per hop naming the Deployments with pods on Fargate, pods of no Deployment
listed to restart by hand, nothing without Fargate pods or without a control-plane step."""

from __future__ import annotations

from dataclasses import replace

from tests.support.fake_cluster import FakeAws, FakeKube, FakeWorld
from tests.unit.cluster_states import config, modern_129, with_unowned
from upgrader.executor.fargate import restart
from upgrader.executor.journal import Journal
from upgrader.executor.progress import Event
from upgrader.executor.session import Session
from upgrader.model.steps import FargateRestartStep
from upgrader.planner import make_plan
from upgrader.planner.fargate import fargate_restart_step

STATE = with_unowned(modern_129())


def _restarts(plan_steps: tuple[object, ...]) -> list[FargateRestartStep]:
    return [s for s in plan_steps if isinstance(s, FargateRestartStep)]


def test_every_hop_restarts_the_fargate_deployments_after_its_control_plane() -> None:
    plan = make_plan(STATE, config(STATE, target="1.31", cni="v1.20.1"))
    ids = [s.id for s in plan.steps]
    restarts = _restarts(plan.steps)
    assert [s.id for s in restarts] == ["fargate-restart@1.30", "fargate-restart@1.31"]
    assert [s.to for s in restarts] == ["1.30", "1.31"]
    assert restarts[0].workloads == ("Deployment jobs/runner",)
    assert restarts[0].pods == 2 and restarts[0].manual == ()
    for hop in ("1.30", "1.31"):
        assert ids.index(f"control-plane@{hop}") < ids.index(f"fargate-restart@{hop}")
    assert ids.index("fargate-restart@1.30") < ids.index("control-plane@1.31")


def test_pods_of_no_deployment_are_listed_to_restart_by_hand() -> None:
    pods = tuple(
        replace(p, owner_kind="Job", owner_name="nightly") if p.namespace == "jobs" else p
        for p in STATE.pods
    )
    step = fargate_restart_step(replace(STATE, pods=pods), "1.30")
    assert step is not None
    assert step.workloads == ()
    assert step.manual == ("jobs/runner-5d8f7c9b6-0", "jobs/runner-5d8f7c9b6-1")
    assert "Restart by hand: jobs/runner-5d8f7c9b6-0" in step.description


def test_no_fargate_pods_no_step() -> None:
    assert fargate_restart_step(modern_129(), "1.30") is None
    plan = make_plan(modern_129(), config(modern_129(), target="1.30", cni="v1.19.2"))
    assert _restarts(plan.steps) == []


def test_apply_restarts_once_and_a_resumed_step_restarts_nothing() -> None:
    state = replace(STATE, cluster=replace(STATE.cluster, version="1.30"))
    plan = make_plan(STATE, config(STATE, target="1.30", cni="v1.19.2"))
    (step,) = _restarts(plan.steps)
    world = FakeWorld(state=state, target="1.30")
    events: list[Event] = []
    session = Session(
        plan=plan,
        config=config(STATE, target="1.30", cni="v1.19.2"),
        aws=FakeAws(world),
        kube=FakeKube(world),
        journal=Journal(plan="sha256:0", fingerprint=plan.fingerprint),
        sink=events.append,
        holder="test",
        clock=world.clock,
        discoverer=world.discover,
    )
    restart(session, step)
    assert [a for name, a in world.calls if name == "restart_deployment"] == [("jobs/runner",)]
    fargate = [n for n in world.state.nodes if n.name.startswith("fargate-")]
    assert {n.kubelet_version for n in fargate} == {"v1.30.0-eks"}
    restart(session, step)  # resumed: its pods run 1.30 already
    assert len([1 for name, _ in world.calls if name == "restart_deployment"]) == 1
    assert "Deployment jobs/runner: its Fargate pods run 1.30 already" in [
        e.message for e in events
    ]
