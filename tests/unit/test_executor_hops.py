"""Apply's side of a plan of several hops: each step's config, the step that opens a later
hop, and the per-hop freshness check (``check_hop``: the planner run again on the live
cluster must make the reviewed remaining steps, waves and change sets aside)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.cluster_states import config, modern_129
from upgrader.config import Config
from upgrader.errors import ExitCode
from upgrader.executor.errors import StalePlanError
from upgrader.executor.hops import check_hop, hop_config, starts_later_hop
from upgrader.model.kube import Container
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import ChangeSet, NodegroupRollStep, NodegroupStackStep, Step
from upgrader.planner import make_plan
from upgrader.planner.hops import advance, hop_targets
from upgrader.semver import Version

GENERAL, MEMORY = "modern-general", "modern-memory"  # managed, self-managed
AL2023 = (
    "/aws/service/eks/optimized-ami/1.29/amazon-linux-2023/x86_64/standard/recommended/image_id"
)


STATE = modern_129()
CONFIG = config(STATE, target="1.32", cni="v1.20.1")
PLAN = make_plan(STATE, CONFIG)


def predicted(hops: int, state: ClusterState = STATE, cfg: Config = CONFIG) -> ClusterState:
    """The state the first ``hops`` hops of the plan of ``state`` for ``cfg`` are predicted to
    leave (what a faithful apply finds when the next hop starts)."""
    current = state
    for hop in hop_targets(state, cfg)[:hops]:
        current = advance(current, hop, make_plan(current, hop.config))
    return current


def derive(live: ClusterState, cfg: Config) -> Plan:
    return make_plan(live, cfg)


def retagged(state: ClusterState, name: str, tag: str) -> ClusterState:
    """``state`` with kube-system's ``name`` image (a DaemonSet or a Deployment) at ``tag``."""

    def move(c: Container) -> Container:
        return replace(c, image=c.image.rsplit(":", 1)[0] + ":" + tag) if c.name == name else c

    return replace(
        state,
        daemonsets=tuple(
            replace(d, containers=tuple(move(c) for c in d.containers)) for d in state.daemonsets
        ),
        workloads=tuple(
            replace(w, containers=tuple(move(c) for c in w.containers)) for w in state.workloads
        ),
    )


def with_parameter(state: ClusterState, stack: str, key: str, value: str) -> ClusterState:
    stacks = tuple(
        replace(s, parameters=tuple(sorted({**dict(s.parameters), key: value}.items())))
        if s.name == stack
        else s
        for s in state.stacks
    )
    return replace(state, stacks=stacks)


def stale(hop: int, live: ClusterState) -> StalePlanError:
    with pytest.raises(StalePlanError) as err:
        check_hop(PLAN, PLAN.hops[hop], live, CONFIG, derive)
    assert err.value.exit_code is ExitCode.STALE_PLAN and int(ExitCode.STALE_PLAN) == 5
    assert err.value.subject == f"hop to {PLAN.hops[hop].kubernetes} of the plan for modern"
    assert "upgrader plan --to 1.32" in err.value.hint
    return err.value


# --- hop_config ----------------------------------------------------------------------------


def test_a_step_runs_under_its_hops_target_cni_and_stacks() -> None:
    assert [h.kubernetes for h in PLAN.hops] == ["1.30", "1.31", "1.32"]
    first = hop_config(PLAN, CONFIG, "nodegroup-roll-general@1.30")
    assert first == replace(
        CONFIG,
        target_kubernetes=Version.parse("1.30"),
        target_cni=Version.parse("v1.19.2"),
        nodegroup_stacks=(GENERAL,),
    )
    middle = hop_config(PLAN, CONFIG, "control-plane@1.31")
    assert (middle.target_kubernetes.minor_str, str(middle.target_cni)) == ("1.31", "v1.19.2")
    assert middle.nodegroup_stacks == (GENERAL,)
    last = hop_config(PLAN, CONFIG, "nodegroup-roll-memory@1.32")
    assert last == replace(CONFIG, target_kubernetes=Version.parse("1.32"))
    assert last.nodegroup_stacks == (GENERAL, MEMORY)


def test_a_hops_cni_comes_from_the_plan_when_the_config_names_none() -> None:
    cfg = config(STATE, target="1.32")
    plan = make_plan(STATE, cfg)
    got = hop_config(plan, cfg, "verify")
    assert got is cfg
    last = hop_config(plan, cfg, plan.hops[-1].steps[0])
    assert last.target_cni == Version.parse(plan.to.cni)


def test_verify_and_a_plan_of_one_minor_run_under_the_plans_config() -> None:
    assert hop_config(PLAN, CONFIG, "verify") is CONFIG
    cfg = config(STATE, target="1.30", cni="v1.19.2")
    one = make_plan(STATE, cfg)
    assert one.hops == ()
    assert all(hop_config(one, cfg, s.id) is cfg for s in one.steps)


# --- starts_later_hop ------------------------------------------------------------------------


def test_only_the_first_step_of_a_later_hop_starts_one() -> None:
    assert starts_later_hop(PLAN, "control-plane@1.31") == PLAN.hops[1]
    assert starts_later_hop(PLAN, "control-plane@1.32") == PLAN.hops[2]
    assert starts_later_hop(PLAN, "control-plane@1.30") is None  # the first hop
    assert starts_later_hop(PLAN, "kube-proxy@1.31") is None
    assert starts_later_hop(PLAN, "verify") is None
    one = make_plan(STATE, config(STATE, target="1.30", cni="v1.19.2"))
    assert starts_later_hop(one, "control-plane") is None


# --- check_hop -----------------------------------------------------------------------------


def test_a_hop_passes_when_the_planner_makes_the_same_remaining_steps() -> None:
    live = predicted(1)
    again = derive(live, CONFIG)
    assert [h.kubernetes for h in again.hops] == ["1.31", "1.32"]
    check_hop(PLAN, PLAN.hops[1], live, CONFIG, derive)


def test_the_last_hop_passes_against_a_plan_of_one_minor() -> None:
    live = predicted(2)
    again = derive(live, CONFIG)
    assert again.hops == () and again.steps[0].id == "control-plane"  # unsuffixed IDs
    check_hop(PLAN, PLAN.hops[2], live, CONFIG, derive)


def test_a_changed_parameter_is_stale_naming_the_step() -> None:
    live = with_parameter(predicted(1), MEMORY, "NodeImageIdSSMParam", AL2023)
    err = stale(1, live)
    assert err.message.startswith(
        "the cluster is not what the reviewed plan predicted for this hop: "
        "step nodegroup-stack-memory@1.32 was "
    )
    assert "amazon-linux-2/recommended" in err.message  # reviewed
    assert "amazon-linux-2023/x86_64" in err.message  # derived now


def test_the_first_differing_step_is_named() -> None:
    live = with_parameter(predicted(1), MEMORY, "NodeImageIdSSMParam", AL2023)
    live = retagged(live, "kube-proxy", "v1.30.14-eksbuild.27")  # someone rolled it back
    err = stale(1, live)
    assert "step kube-proxy@1.31 was " in err.message
    assert "v1.30.14-eksbuild.27" in err.message
    assert "nodegroup-stack-memory" not in err.message


def test_different_steps_are_stale_naming_both_lists() -> None:
    live = retagged(predicted(1), "coredns", "v1.11.1-eksbuild.4")  # rolled back since
    err = stale(1, live)
    ours = [s for h in PLAN.hops[1:] for s in h.steps]
    theirs = [s.id for s in derive(live, CONFIG).steps if s.id != "verify"]
    assert "coredns@1.31" in theirs and "coredns@1.31" not in ours
    assert f"the plan has steps {ours}, the planner now makes {theirs}" in err.message


def test_the_last_hop_against_a_plan_of_one_minor_with_other_steps_is_stale() -> None:
    live = retagged(predicted(2), "coredns", "v1.11.1-eksbuild.4")
    err = stale(2, live)
    assert "'coredns@1.32'" in err.message


def _volatile(step: Step) -> Step:
    """``step`` as another day's planning could make it: other instances, other waves,
    another change set."""
    if isinstance(step, NodegroupRollStep):
        return replace(step, waves=(("i-0fresh1",), ("i-0fresh2",)), surge=1, predicted_waves=9)
    if isinstance(step, NodegroupStackStep):
        change_set = ChangeSet(
            name=f"upgrader-{step.stack}",
            id=f"arn:aws:cloudformation:eu-west-1:1:changeSet/upgrader-{step.stack}/1",
            stack=step.stack,
            status="CREATE_COMPLETE",
            changes=(),
        )
        return replace(step, change_set=change_set)
    return step


def test_waves_and_change_sets_may_differ() -> None:
    def volatile(live: ClusterState, cfg: Config) -> Plan:
        plan = derive(live, cfg)
        return replace(plan, steps=tuple(_volatile(s) for s in plan.steps))

    changed = volatile(predicted(1), CONFIG)
    assert changed.steps != derive(predicted(1), CONFIG).steps  # the premise
    check_hop(PLAN, PLAN.hops[1], predicted(1), CONFIG, volatile)
    check_hop(PLAN, PLAN.hops[2], predicted(2), CONFIG, volatile)


def test_a_faithful_apply_from_an_eks_build_of_the_cni_passes_the_last_hop() -> None:
    build = "v1.19.2-eksbuild.1"  # what the EKS add-on runs
    state = modern_129(cni=build)
    cfg = config(state, target="1.32", cni="v1.20.1")
    plan = make_plan(state, cfg)
    assert [s.id for s in plan.steps if s.id.startswith("cni-")] == ["cni-v1.20.1@1.32"]
    # no CNI step ran in the first two hops: aws-node still runs the add-on's build
    live = retagged(predicted(2, state, cfg), "aws-node", build)
    check_hop(plan, plan.hops[2], live, cfg, derive)
