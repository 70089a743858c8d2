"""Plans of several hops: the roll schedule, one plan of one minor per hop chained on the
state the previous hops leave behind (``advance``), and the plan that holds them all."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from tests.unit.cluster_states import SSM, config, modern_129, pdb
from upgrader.catalog.versions import catalog
from upgrader.config import Config
from upgrader.model.plan import Plan, loads
from upgrader.model.state import ClusterState
from upgrader.model.steps import (
    CniStep,
    ControlPlaneStep,
    NodegroupRollStep,
    NodegroupStackStep,
    StepKind,
)
from upgrader.planner import make_plan
from upgrader.planner.hops import (
    HopTarget,
    advance,
    hop_targets,
    is_multi_hop,
    minors_between,
    roll_schedule,
)
from upgrader.semver import Version

GENERAL, MEMORY = "modern-general", "modern-memory"  # managed, self-managed


def hop_by_hop(
    state: ClusterState, cfg: Config
) -> list[tuple[HopTarget, ClusterState, Plan, ClusterState]]:
    """Per hop: its target, the state it starts from, its plan of one minor and the state
    it is predicted to leave (as ``make_plan`` chains them)."""
    out = []
    current = state
    for hop in hop_targets(state, cfg):
        one = make_plan(current, hop.config)
        after = advance(current, hop, one)
        out.append((hop, current, one, after))
        current = after
    return out


def ids(plan: Plan) -> list[str]:
    return [s.id for s in plan.steps]


def tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def parameters(state: ClusterState, stack: str) -> dict[str, str]:
    found = state.stack(stack)
    assert found is not None, stack
    return dict(found.parameters)


# --- roll_schedule and hop targets --------------------------------------------------------


def test_the_catalog_skew_is_2_before_1_28_and_3_from_it() -> None:
    known = catalog()
    assert [known.kubernetes(v).kubelet_skew for v in ("1.23", "1.26", "1.27")] == [2, 2, 2]
    assert [known.kubernetes(v).kubelet_skew for v in ("1.28", "1.29", "1.33")] == [3, 3, 3]


@pytest.mark.parametrize(
    ("kubelet", "target", "rolls"),
    [
        ("1.29", "1.32", (False, False, True)),  # within skew 3 all the way: last hop only
        ("1.29", "1.33", (False, False, True, True)),  # 1.33 would be 4 ahead of 1.29
        ("1.22", "1.26", (False, True, False, True)),  # skew 2 before 1.28
        ("1.25", "1.29", (False, False, True, True)),  # skew 2 up to 1.27, then 3
    ],
)
def test_a_self_managed_group_rolls_only_when_the_skew_demands_and_at_the_end(
    kubelet: str, target: str, rolls: tuple[bool, ...]
) -> None:
    hops = minors_between(kubelet, Version.parse(target))
    assert roll_schedule(hops, kubelet, managed=False) == rolls


def test_a_managed_group_rolls_at_every_hop() -> None:
    hops = minors_between("1.29", Version.parse("1.33"))
    assert [h.minor_str for h in hops] == ["1.30", "1.31", "1.32", "1.33"]
    assert roll_schedule(hops, "1.29", managed=True) == (True, True, True, True)


def test_multi_hop_only_beyond_one_minor() -> None:
    state = modern_129()
    assert not is_multi_hop(state, config(state, target="1.29"))
    assert not is_multi_hop(state, config(state, target="1.30"))
    assert is_multi_hop(state, config(state, target="1.31"))


def test_hop_targets_carry_each_hops_kubernetes_cni_and_rolled_stacks() -> None:
    state = modern_129()
    cfg = config(state, target="1.33", cni="v1.20.1")
    hops = hop_targets(state, cfg)
    assert [h.minor for h in hops] == ["1.30", "1.31", "1.32", "1.33"]
    assert [h.config.target_kubernetes for h in hops] == [h.kubernetes for h in hops]
    assert [h.config.nodegroup_stacks for h in hops] == [
        (GENERAL,),
        (GENERAL,),
        (GENERAL, MEMORY),
        (GENERAL, MEMORY),
    ]
    # every hop supports v1.19.2, so the CNI only moves at the last hop, to the target
    assert [str(h.config.target_cni) for h in hops] == ["v1.19.2"] * 3 + ["v1.20.1"]
    for h in hops:  # nothing else of the config changes
        kept = replace(h.config, target_kubernetes=cfg.target_kubernetes, target_cni=cfg.target_cni)
        assert replace(kept, nodegroup_stacks=cfg.nodegroup_stacks) == cfg


# --- make_plan over several hops -----------------------------------------------------------


def _plan_1_29_to_1_32(state: ClusterState | None = None) -> Plan:
    state = state or modern_129()
    return make_plan(state, config(state, target="1.32", cni="v1.20.1"))


def test_1_29_to_1_32_is_three_hops_of_steps_then_one_verify() -> None:
    plan = _plan_1_29_to_1_32()
    assert not plan.blocked, plan.findings
    assert (plan.from_.kubernetes, plan.to.kubernetes) == ("1.29", "1.32")
    assert ids(plan) == [
        "control-plane@1.30",
        "kube-proxy@1.30",
        "coredns@1.30",
        "nodegroup-stack-general@1.30",
        "nodegroup-roll-general@1.30",
        "control-plane@1.31",
        "kube-proxy@1.31",
        "nodegroup-stack-general@1.31",
        "nodegroup-roll-general@1.31",
        "control-plane@1.32",
        "kube-proxy@1.32",
        "cni-v1.20.1@1.32",
        "nodegroup-stack-general@1.32",
        "nodegroup-roll-general@1.32",
        "nodegroup-stack-memory@1.32",
        "nodegroup-roll-memory@1.32",
        "verify",
    ]
    assert [s.id for s in plan.steps if s.kind is StepKind.VERIFY] == ["verify"]
    planes = [s for s in plan.steps if isinstance(s, ControlPlaneStep)]
    assert [(s.from_, s.to) for s in planes] == [
        ("1.29", "1.30"),
        ("1.30", "1.31"),
        ("1.31", "1.32"),
    ]


def test_the_hops_partition_every_step_but_verify() -> None:
    plan = _plan_1_29_to_1_32()
    assert [h.kubernetes for h in plan.hops] == ["1.30", "1.31", "1.32"]
    assert [s for h in plan.hops for s in h.steps] == ids(plan)[:-1]
    for hop in plan.hops:
        assert all(s.endswith(f"@{hop.kubernetes}") for s in hop.steps)
        assert all(plan.hop_of(s) == hop for s in hop.steps)
    assert plan.hop_of("verify") is None
    assert [h.nodegroup_stacks for h in plan.hops] == [(GENERAL,), (GENERAL,), (GENERAL, MEMORY)]
    assert [h.to.cni for h in plan.hops] == ["v1.19.2", "v1.19.2", "v1.20.1"]
    assert plan.hops[-1].to == plan.to


def test_stack_steps_move_each_group_to_its_hop() -> None:
    plan = _plan_1_29_to_1_32()
    stacks = {s.id: dict(s.parameters) for s in plan.steps if isinstance(s, NodegroupStackStep)}
    assert stacks == {
        "nodegroup-stack-general@1.30": {"KubernetesVersion": "1.30"},
        "nodegroup-stack-general@1.31": {"KubernetesVersion": "1.31"},
        "nodegroup-stack-general@1.32": {"KubernetesVersion": "1.32"},
        "nodegroup-stack-memory@1.32": {"NodeImageIdSSMParam": SSM.format("1.32")},
    }


def test_rolls_after_the_first_hop_leave_their_waves_to_apply() -> None:
    plan = _plan_1_29_to_1_32()
    rolls = {s.id: s for s in plan.steps if isinstance(s, NodegroupRollStep)}
    first = rolls.pop("nodegroup-roll-general@1.30")
    assert len(first.waves) == 1 and len(first.waves[0]) == 3 and first.surge == 3
    assert sorted(rolls) == [
        "nodegroup-roll-general@1.31",
        "nodegroup-roll-general@1.32",
        "nodegroup-roll-memory@1.32",
    ]
    for roll in rolls.values():
        assert (roll.waves, roll.surge) == ((), 0), roll.id
        assert roll.predicted_waves >= 1  # the prediction is kept
        assert "planned when this hop starts" in roll.description


def test_findings_of_every_hop_are_reported_once() -> None:
    state = modern_129(pdbs=(pdb("app", "web", expected=8, max_unavailable="0"),))
    cfg = config(state, target="1.32", cni="v1.20.1")
    per_hop = [[f.id for f in one.findings] for _, _, one, _ in hop_by_hop(state, cfg)]
    assert per_hop == [["PDB001"]] * 3
    plan = make_plan(state, cfg)
    assert [(f.id, f.subject) for f in plan.findings] == [("PDB001", "app/web")]
    assert plan.blocked


def test_the_plan_file_round_trips_with_its_hops() -> None:
    plan = _plan_1_29_to_1_32()
    text = plan.dumps()
    again = loads(text)
    assert again.hops == plan.hops
    assert again.steps == plan.steps
    assert again.dumps() == text


def test_the_plan_is_deterministic() -> None:
    first = _plan_1_29_to_1_32().dumps()
    assert _plan_1_29_to_1_32().dumps() == first
    s = modern_129()
    shuffled = replace(s, nodes=s.nodes[::-1], pods=s.pods[::-1], subnets=s.subnets[::-1])
    assert _plan_1_29_to_1_32(shuffled).dumps() == first


def test_a_plan_of_one_minor_has_no_hops_and_plain_step_ids() -> None:
    state = modern_129()
    plan = make_plan(state, config(state, target="1.30", cni="v1.19.2"))
    assert plan.hops == ()
    assert ids(plan) == [
        "control-plane",
        "kube-proxy",
        "coredns",
        "nodegroup-stack-general",
        "nodegroup-roll-general",
        "nodegroup-stack-memory",
        "nodegroup-roll-memory",
        "verify",
    ]
    assert plan.hop_of("control-plane") is None
    assert loads(plan.dumps()).hops == ()


# --- the VPC CNI between hops ----------------------------------------------------------------

OLD_CNI = "v1.16.0"


def test_premise_old_cni_runs_on_1_29_and_1_30_but_not_1_31() -> None:
    known, cni = catalog(), Version.parse(OLD_CNI)
    assert known.kubernetes("1.29").supports_cni(cni)
    assert known.kubernetes("1.30").supports_cni(cni)  # cni_min v1.16.0
    assert not known.kubernetes("1.31").supports_cni(cni)  # cni_min v1.16.4


def test_the_cni_moves_in_the_hop_that_no_longer_supports_it_one_minor_per_step() -> None:
    state = modern_129(cni=OLD_CNI)
    plan = make_plan(state, config(state, target="1.32", cni="v1.20.1"))
    assert not plan.blocked, plan.findings
    by_hop = {
        h.kubernetes: [s for s in plan.steps if s.id in h.steps and isinstance(s, CniStep)]
        for h in plan.hops
    }
    assert by_hop["1.30"] == [] and by_hop["1.32"] == []
    moves = [(s.from_, s.to) for s in by_hop["1.31"]]
    recommended = catalog().kubernetes("1.31").cni
    assert moves[0][0] == OLD_CNI and moves[-1][1] == recommended.tag
    assert all(a[1] == b[0] for a, b in itertools.pairwise(moves))  # a chain
    minors = [Version.parse(to).minor for _, to in moves]
    assert minors == list(range(17, recommended.minor + 1))  # one minor per step
    assert [s.id for s in by_hop["1.31"]] == [f"cni-{to}@1.31" for _, to in moves]
    # within the hop: after the control plane and kube-proxy, before the node groups
    hop = plan.hops[1].steps
    assert hop[:2] == ("control-plane@1.31", "kube-proxy@1.31")
    assert hop[-2:] == ("nodegroup-stack-general@1.31", "nodegroup-roll-general@1.31")
    assert [h.to.cni for h in plan.hops] == [OLD_CNI, recommended.tag, "v1.20.1"]


def test_an_intermediate_hop_does_not_overshoot_the_cni_target() -> None:
    state = modern_129(cni=OLD_CNI)
    plan = make_plan(state, config(state, target="1.32", cni="v1.19.2"))
    assert not plan.blocked, plan.findings
    cni = [s for s in plan.steps if isinstance(s, CniStep)]
    assert cni[-1].to == "v1.19.2"
    assert all(Version.parse(s.from_) < Version.parse(s.to) for s in cni)


# --- advance: the state a hop leaves behind ------------------------------------------------


def _nodes(state: ClusterState, group: str | None) -> set[str]:
    return {n.kubelet_version for n in state.nodes if n.nodegroup == group}


def test_advance_predicts_the_cluster_after_a_hop() -> None:
    state = modern_129()
    (hop, before, one, after), *_ = hop_by_hop(state, config(state, target="1.32", cni="v1.20.1"))
    assert before is state and hop.minor == "1.30"
    assert after.cluster.version == "1.30"
    assert parameters(after, "modern-eks")["KubernetesVersion"] == "1.30"
    assert parameters(after, GENERAL)["KubernetesVersion"] == "1.30"
    assert after.stack(MEMORY) == state.stack(MEMORY)  # not rolled at 1.30
    aws_node = after.daemonset("kube-system", "aws-node")
    proxy = after.daemonset("kube-system", "kube-proxy")
    coredns = after.workload("Deployment", "kube-system", "coredns")
    assert aws_node and proxy and coredns
    assert tag(aws_node.containers[0].image) == one.to.cni == "v1.19.2"
    assert tag(proxy.containers[0].image) == one.to.kube_proxy
    assert tag(coredns.containers[0].image) == one.to.coredns
    assert one.to.kube_proxy == catalog().kubernetes("1.30").kube_proxy
    assert _nodes(after, "general") == {"v1.30.0"}
    assert _nodes(after, None) == {"v1.29.10-eks-94953ac"}  # the self-managed group waits
    assert [m.version for m in after.managed_nodegroups] == ["1.30"]
    assert {n.name for n in after.nodes} == {n.name for n in state.nodes}
    assert aws_node.containers[0].env == state.daemonsets[0].containers[0].env


def test_advance_after_the_last_hop_has_every_group_and_add_on_at_the_target() -> None:
    state = modern_129()
    chained = hop_by_hop(state, config(state, target="1.32", cni="v1.20.1"))
    *_, (hop, _, one, after) = chained
    assert hop.minor == "1.32"
    assert after.cluster.version == "1.32"
    memory = parameters(after, MEMORY)
    assert memory["NodeImageIdSSMParam"] == SSM.format("1.32")
    assert memory["NodeInstanceType"] == "r5.xlarge"  # the rest kept
    aws_node = after.daemonset("kube-system", "aws-node")
    assert aws_node and tag(aws_node.containers[0].image) == one.to.cni == "v1.20.1"
    assert _nodes(after, "general") == _nodes(after, None) == {"v1.32.0"}
    assert [m.version for m in after.managed_nodegroups] == ["1.32"]


def test_advance_keeps_the_running_cni_build_in_a_hop_that_does_not_move_it() -> None:
    build = "v1.19.2-eksbuild.1"  # what the EKS add-on runs
    state = modern_129(cni=build)
    (_, _, one, after), *_ = hop_by_hop(state, config(state, target="1.32", cni="v1.20.1"))
    assert not [s for s in one.steps if isinstance(s, CniStep)]
    aws_node = after.daemonset("kube-system", "aws-node")
    assert aws_node and tag(aws_node.containers[0].image) == build


def test_advance_retags_aws_node_where_a_middle_hop_moves_the_cni() -> None:
    state = modern_129(cni=OLD_CNI)
    chained = hop_by_hop(state, config(state, target="1.32", cni="v1.20.1"))
    tags = []
    for _, _, _, after in chained:
        aws_node = after.daemonset("kube-system", "aws-node")
        assert aws_node is not None
        tags.append(tag(aws_node.containers[0].image))
    assert tags == [OLD_CNI, catalog().kubernetes("1.31").cni.tag, "v1.20.1"]


def test_a_self_managed_group_on_amazon_linux_2_moves_to_al2023_at_1_33() -> None:
    """(tests/unit/test_planner_al2023.py has the template it then carries)"""
    state = modern_129()
    assert "/amazon-linux-2/" in parameters(state, MEMORY)["NodeImageIdSSMParam"]
    with pytest.raises(ValueError, match="no migrated template was rendered"):
        make_plan(state, config(state, target="1.33"))  # the template is rendered outside
    make_plan(state, config(state, target="1.32"))  # AL2 still has 1.32 AMIs
