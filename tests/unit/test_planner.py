"""make_plan: versions, steps in DESIGN order, params and predictions, determinism."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.unit.cluster_states import SSM, config, modern, pdb, staging, subnet_id, tight
from upgrader.errors import BadInputError, ExitCode, VersionError
from upgrader.model.plan import Plan, Severity, loads
from upgrader.model.records import to_json
from upgrader.model.state import ClusterState
from upgrader.model.steps import Step, step_to_json
from upgrader.planner import make_plan

ENV = {"WARM_ENI_TARGET": "1"}


def params_of(step: Step) -> Any:
    """The step's ``params`` as the plan file holds them."""
    return step_to_json(step)["params"]


def predicted_of(step: Step) -> Any:
    """The step's ``predicted`` as the plan file holds them."""
    return step_to_json(step)["predicted"]


def _staging_plan(state: ClusterState | None = None, **kw: Any) -> Plan:
    state = state or staging()
    settings: dict[str, Any] = {"target": "1.13", "cni": "v1.5.5", "env": ENV}
    manifests = kw.pop("manifests", {})
    settings.update(kw)
    return make_plan(state, config(state, **settings), manifests=manifests)


def _step(plan: Plan, step_id: str) -> Step:
    return next(s for s in plan.steps if s.id == step_id)


def test_staging_plans_1_12_to_1_13_and_cni_one_minor_at_a_time() -> None:
    plan = _staging_plan()
    assert not plan.blocked, plan.findings
    assert plan.findings == ()
    assert plan.from_.to_json() == {
        "kubernetes": "1.12",
        "cni": "v1.3.2",
        "kube_proxy": "v1.12.6",
        "coredns": "v1.2.2",
    }
    assert plan.to.to_json() == {
        "kubernetes": "1.13",
        "cni": "v1.5.5",
        "kube_proxy": "v1.13.12",
        "coredns": "v1.6.6",
    }
    assert [s.id for s in plan.steps] == [
        "control-plane",
        "kube-proxy",
        "coredns",
        "cni-v1.4.1",
        "cni-v1.5.5",
        "nodegroup-stack-workers",
        "nodegroup-roll-workers",
        "verify",
    ]
    cni = [(params_of(s)["from"], params_of(s)["to"]) for s in plan.steps if s.kind == "cni"]
    assert cni == [("v1.3.2", "v1.4.1"), ("v1.4.1", "v1.5.5")]
    assert plan.fingerprint == staging().fingerprint()


def test_staging_context_shows_the_capacity_table() -> None:
    ctx = to_json(_staging_plan().context)
    (row,) = ctx["nodegroups"]
    assert {k: row[k] for k in ("instance_type", "max_enis", "ipv4_per_eni", "max_pods")} == {
        "instance_type": "r5.xlarge",
        "max_enis": 4,
        "ipv4_per_eni": 15,
        "max_pods": 58,
    }
    assert (row["max_ips"], row["memory_mib"], row["vcpus"], row["nodes"]) == (60, 32768, 4, 2)
    assert row["pods"] == 2 * (28 + 1 + 2)  # workloads, CoreDNS, aws-node + kube-proxy
    assert row["image_to"] == SSM.format("1.13")
    assert ctx["cni"] == {
        "version": "v1.5.5",
        "env": {"AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG", "WARM_ENI_TARGET": "1"},
        "mode": "WARM_ENI",
        "notes": [],
    }
    assert [(s["name"], s["free"], s["control_plane"]) for s in ctx["subnets"]] == [
        ("private-a", 191, True),
        ("private-c", 191, True),
    ]
    assert ctx["stacks"] == {"control_plane": "staging-eks", "nodegroups": ["staging-workers"]}
    assert ctx["gates"]["subnet_reserve_ips"] == 8


def test_staging_steps_carry_params_and_predictions() -> None:
    plan = _staging_plan()
    cp = _step(plan, "control-plane")
    assert params_of(cp) == {
        "stack": "staging-eks",
        "parameter": "KubernetesVersion",
        "from": "1.12",
        "to": "1.13",
        "change_set": None,
        "rollback_parameter": None,  # the fixture's template sets no RollbackConfig
        "rollback_timeout_minutes": None,
    }
    assert predicted_of(cp) == {"minutes": [24, 60]}
    assert cp.gates == ("STK001", "CAP002", "VER001", "API001", "INS001")
    stack = _step(plan, "nodegroup-stack-workers")
    assert params_of(stack)["parameters"] == {"NodeImageIdSSMParam": SSM.format("1.13")}
    roll = _step(plan, "nodegroup-roll-workers")
    state = staging()
    assert params_of(roll)["waves"] == [sorted(i.instance_id for i in state.instances)]
    assert (params_of(roll)["surge"], params_of(roll)["kind"], params_of(roll)["asg"]) == (
        2,
        "self-managed",
        state.asgs[0].name,
    )
    # a new r5.xlarge with 29 VPC-IP pods under WARM_ENI_TARGET=1: 4 ENIs x 15 addresses
    assert predicted_of(roll) == {
        "waves": 1,
        "lower_bound": 1,
        "subnets": [
            {
                "subnet_id": subnet_id(name),
                "name": name,
                "az": az,
                "free_before": 191,
                "peak_demand": 60,
                "released": 60,
                "free_after": 191,
                "min_free": 131,
                "reserve": 8,
                "waves": [{"free_at_peak": 131, "free_after": 191}],
            }
            for name, az in (("private-a", "ap-northeast-1a"), ("private-c", "ap-northeast-1c"))
        ],
    }
    assert set(roll.gates) >= {"CAP001", "CAP003", "PDB001"}


def test_tight_is_blocked_by_cap001_naming_private_a() -> None:
    state = tight()
    plan = make_plan(state, config(state, target="1.13", cni="v1.5.5", env=ENV))
    assert plan.blocked
    (f,) = [f for f in plan.findings if f.severity is Severity.BLOCKING]
    assert f.id == "CAP001"
    assert f.subject == f"private-a ({subnet_id('private-a')})"
    assert "45 are free" in f.message and "needs 60 addresses" in f.message
    roll = _step(plan, "nodegroup-roll-workers")
    rows = {r["name"]: r for r in predicted_of(roll)["subnets"]}
    assert rows["private-a"]["min_free"] == 45 - 60
    assert predicted_of(roll)["lower_bound"] is None
    assert "Blocked in ap-northeast-1a" in roll.description


def test_zero_disruption_pdb_blocks_with_pdb001() -> None:
    state = staging(pdbs=(pdb("app", "web", expected=8, max_unavailable="0"),))
    plan = _staging_plan(state)
    assert plan.blocked
    assert [(f.id, f.subject) for f in plan.findings] == [("PDB001", "app/web")]


def test_a_target_two_minors_ahead_is_planned_as_two_hops() -> None:
    state = staging()
    plan = make_plan(state, config(state, target="1.14", cni="v1.5.5"))
    assert [h.kubernetes for h in plan.hops] == ["1.13", "1.14"]
    planes = [s for s in plan.steps if s.kind == "control-plane"]
    assert [(s.id, params_of(s)["from"], params_of(s)["to"]) for s in planes] == [
        ("control-plane@1.13", "1.12", "1.13"),
        ("control-plane@1.14", "1.13", "1.14"),
    ]
    # kubelets two minors behind are allowed before 1.28: the group rolls once, at the end
    rolls = [s.id for s in plan.steps if s.kind == "nodegroup-roll"]
    assert rolls == ["nodegroup-roll-workers@1.14"]


def test_a_downgrade_is_not_planned() -> None:
    state = staging()
    with pytest.raises(VersionError) as err:
        make_plan(state, config(state, target="1.11", cni="v1.5.5"))
    assert err.value.exit_code is ExitCode.BAD_INPUT
    assert "1.11" in str(err.value)


def test_default_cni_target_is_the_catalog_recommendation() -> None:
    state = staging()
    plan = make_plan(state, config(state, target="1.13", env=ENV))
    assert plan.to.cni == "v1.6.3"
    assert [params_of(s)["to"] for s in plan.steps if s.kind == "cni"] == [
        "v1.4.1",
        "v1.5.7",
        "v1.6.3",
    ]


def test_banned_cni_target_is_a_blocking_finding_not_a_step() -> None:
    plan = _staging_plan(cni="v1.5.4")
    assert [s for s in plan.steps if s.kind == "cni"] == []
    assert [f.id for f in plan.findings if f.severity is Severity.BLOCKING] == ["VER002"]


def test_compiled_manifests_are_embedded_in_their_steps() -> None:
    aws_node = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "aws-node"}}
    proxy = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy"}}
    plan = _staging_plan(manifests={"aws-node@v1.4.1": aws_node, "kube-proxy": proxy})
    assert params_of(_step(plan, "cni-v1.4.1"))["manifest"] == [aws_node]
    assert params_of(_step(plan, "cni-v1.5.5"))["manifest"] is None
    assert params_of(_step(plan, "kube-proxy"))["manifest"] == [proxy]


def test_plan_is_deterministic_and_ignores_input_order() -> None:
    first = _staging_plan().dumps()
    assert first == _staging_plan().dumps()
    s = staging()
    shuffled = replace(
        s,
        subnets=s.subnets[::-1],
        pods=s.pods[::-1],
        nodes=s.nodes[::-1],
        enis=s.enis[::-1],
        instances=s.instances[::-1],
    )
    assert _staging_plan(shuffled).dumps() == first
    assert loads(first).dumps() == first
    assert 'Z"' not in first  # no timestamps


def test_aws_2019_cluster_template_uses_cluster_version() -> None:
    s = staging()
    body = '{"Resources": {"Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {"Version": {"Ref": "ClusterVersion"}}}}}'  # noqa: E501
    eks = replace(
        s.stacks[0],
        parameters=(("ClusterVersion", "1.12"), ("Subnets", "a,b")),
        template_body=body,
    )
    plan = _staging_plan(replace(s, stacks=(eks, *s.stacks[1:])))
    assert params_of(_step(plan, "control-plane"))["parameter"] == "ClusterVersion"


def test_pinned_node_image_id_moves_to_the_discovered_ami() -> None:
    s = staging()
    ng = s.stacks[1]
    params = dict(ng.parameters) | {"NodeImageId": "ami-0112old"}
    pinned = replace(ng, parameters=tuple(sorted(params.items())))
    plan = _staging_plan(replace(s, stacks=(s.stacks[0], pinned)))
    assert params_of(_step(plan, "nodegroup-stack-workers"))["parameters"] == {
        "NodeImageId": "ami-0113new"
    }


def test_pinned_image_without_a_discovered_ami_is_bad_input() -> None:
    s = staging(ami_parameters={})
    ng = s.stacks[1]
    params = dict(ng.parameters) | {"NodeImageId": "ami-0112old"}
    pinned = replace(ng, parameters=tuple(sorted(params.items())))
    with pytest.raises(BadInputError, match="not discovered"):
        _staging_plan(replace(s, stacks=(s.stacks[0], pinned)))


def test_modern_plans_1_31_to_1_32_with_a_managed_group() -> None:
    state = modern()
    plan = make_plan(state, config(state, target="1.32", cni="v1.20.1"))
    assert not plan.blocked, plan.findings
    assert (plan.from_.cni, plan.to.cni) == ("v1.19.2", "v1.20.1")
    assert plan.to.kube_proxy == "v1.32.13-eksbuild.5"
    assert [s.id for s in plan.steps] == [
        "control-plane",
        "kube-proxy",
        "coredns",
        "cni-v1.20.1",
        "nodegroup-stack-general",
        "nodegroup-roll-general",
        "nodegroup-stack-memory",
        "nodegroup-roll-memory",
        "verify",
    ]
    managed = _step(plan, "nodegroup-stack-general")
    assert params_of(managed)["parameters"] == {"KubernetesVersion": "1.32"}
    assert params_of(managed)["update_policy"] == "eks-managed"
    roll = _step(plan, "nodegroup-roll-general")
    assert params_of(roll)["kind"] == "managed"
    assert len(params_of(roll)["waves"][0]) == 3  # one per AZ, in parallel
    assert {r["az"] for r in predicted_of(roll)["subnets"]} == {
        "eu-west-1a",
        "eu-west-1b",
        "eu-west-1c",
    }
    rows = {r["name"]: r for r in to_json(plan.context)["nodegroups"]}
    assert (rows["general"]["kind"], rows["general"]["image_to"]) == ("managed", "1.32")
    assert rows["memory"]["image_to"] == SSM.format("1.32")
    json.loads(plan.dumps())


def test_modern_managed_group_surge_that_does_not_fit_is_blocking() -> None:
    state = modern()
    # m5.xlarge with 11 pods under WARM_ENI_TARGET=1: 2 ENIs x 15 = 30 per new node
    subnets = tuple(
        replace(s, available_ips=30 + 8 + 5) if s.name == "modern-private-a" else s
        for s in state.subnets
    )
    state = replace(state, subnets=subnets)
    two_per_az = (*state.nodes, replace(state.nodes[0], name="ip-extra", instance_id="i-extra"))
    instances = (*state.instances, replace(state.instances[0], instance_id="i-extra"))
    asg = replace(state.asgs[0], instance_ids=(*state.asgs[0].instance_ids, "i-extra"))
    state = replace(state, nodes=two_per_az, instances=instances, asgs=(asg, *state.asgs[1:]))
    plan = make_plan(state, config(state, target="1.32", cni="v1.20.1"))
    found = [f for f in plan.findings if f.id == "CAP001"]
    assert found and "EKS surges 2 new m5.xlarge nodes at once in eu-west-1a" in found[0].message
