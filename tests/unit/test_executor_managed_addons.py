"""apply's EKS add-on steps on fakes (``tests/support/fake_cluster.py``): an add-on declared
in a stack moves through a change set on that stack (made by apply when the plan has none),
never ``UpdateAddon``; an adopted add-on is created once (``CreateAddon``, OVERWRITE), and a
re-run finds it and creates nothing. The twin runs the same code in
``tests/integration/test_apply_addon_stack.py`` and ``test_apply_adopt_addons.py``."""

from __future__ import annotations

from tests.support.fake_cluster import FakeAws, FakeKube, FakeWorld
from tests.unit.cluster_states import config
from tests.unit.test_planner_addon_stacks import STACK, declared
from tests.unit.test_planner_adopt import adopting, self_managed
from upgrader.config import Config
from upgrader.executor import managed_addons
from upgrader.executor.journal import Journal
from upgrader.executor.progress import Event
from upgrader.executor.session import Session
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonAdoptStep, ManagedAddonStackStep
from upgrader.planner import make_plan


def session(world: FakeWorld, plan: Plan, cfg: Config, events: list[Event]) -> Session:
    return Session(
        plan=plan,
        config=cfg,
        aws=FakeAws(world),
        kube=FakeKube(world),
        journal=Journal(plan="plan", fingerprint=plan.fingerprint),
        sink=events.append,
        holder="test/1/abc",
        clock=world.clock,
    )


def calls(world: FakeWorld, *names: str) -> list[tuple[str, tuple[object, ...]]]:
    return [(n, a) for n, a in world.calls if n in names]


def _vpc_cni(state: ClusterState) -> str:
    return next(a.version for a in state.addons if a.name == "vpc-cni")


def test_an_addon_in_a_stack_moves_through_its_change_set() -> None:
    state = declared({"1.30": "v1.19.2-eksbuild.5"})
    cfg = config(state, target="1.30")
    plan = make_plan(state, cfg)
    (step,) = [s for s in plan.steps if isinstance(s, ManagedAddonStackStep)]
    world = FakeWorld(state=state, target="1.30")
    events: list[Event] = []
    managed_addons.update(session(world, plan, cfg, events), step)
    assert _vpc_cni(world.state) == "v1.19.2-eksbuild.5"
    stack = next(s for s in world.state.stacks if s.name == STACK)
    assert stack.parameter("VpcCniVersion") == "v1.19.2-eksbuild.5"
    assert stack.parameter("KubernetesVersion") == "1.29"  # every other value kept
    made = calls(world, "create_change_set", "execute_change_set", "update_addon")
    assert [n for n, _ in made] == ["create_change_set", "execute_change_set"]
    assert made[0][1] == (STACK, (("VpcCniVersion", "v1.19.2-eksbuild.5"),))
    assert any("change set is made now" in e.message for e in events)

    # a re-run of the step: the stack holds the value already, nothing is executed again
    world.calls.clear()
    managed_addons.update(session(world, plan, cfg, []), step)
    assert calls(world, "create_change_set", "execute_change_set", "update_addon") == []


def test_an_adopted_addon_is_created_once() -> None:
    state = self_managed()
    cfg = adopting(state, "1.30", "vpc-cni")
    plan = make_plan(state, cfg)
    (step,) = [s for s in plan.steps if isinstance(s, ManagedAddonAdoptStep)]
    world = FakeWorld(state=state, target="1.30")
    managed_addons.update(session(world, plan, cfg, []), step)
    created = calls(world, "create_addon")
    assert created == [
        (
            "create_addon",
            ("vpc-cni", "v1.19.2-eksbuild.5", "OVERWRITE", step.configuration_values),
        )
    ]
    assert _vpc_cni(world.state) == "v1.19.2-eksbuild.5"
    world.calls.clear()
    managed_addons.update(session(world, plan, cfg, []), step)  # resumed: EKS has it
    assert calls(world, "create_addon", "update_addon") == []
