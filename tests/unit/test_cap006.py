"""CAP006: each node group's instance types are known to the ipamd running at every point
of the plan (now, after each CNI step, during the rolls)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.unit.cluster_states import MODERN_SPEC, STAGING_SPEC, config, modern, staging
from upgrader.gates import GateInputs, run
from upgrader.model.plan import Finding, Severity
from upgrader.model.state import ClusterState
from upgrader.model.steps import StepKind
from upgrader.planner import gate_inputs, make_plan

ENV = {"WARM_ENI_TARGET": "1"}


def _staging(instance_type: str = "r5.xlarge", launch_type: str | None = None) -> ClusterState:
    """Staging (CNI v1.3.2) running ``instance_type``; ``launch_type`` replaces the
    stack's NodeInstanceType (what new nodes launch as)."""
    group = replace(STAGING_SPEC.groups[0], instance_type=instance_type)
    state = staging(groups=(group,))
    if launch_type is None:
        return state
    stacks = tuple(
        replace(
            s,
            parameters=tuple(
                (k, launch_type if k == "NodeInstanceType" else v) for k, v in s.parameters
            ),
        )
        for s in state.stacks
    )
    return replace(state, stacks=stacks)


def _inputs(state: ClusterState, **cfg: Any) -> GateInputs:
    settings: dict[str, Any] = {"target": "1.13", "cni": "v1.5.5", "env": ENV, **cfg}
    return gate_inputs(state, config(state, **settings))


def _cap006(inputs: GateInputs) -> list[Finding]:
    return [f for f in run(inputs) if f.id == "CAP006"]


def test_type_known_at_every_point_is_no_finding() -> None:
    inputs = _inputs(_staging())
    assert [s.tag for s in inputs.cni_steps] == ["v1.4.1", "v1.5.5"]
    assert _cap006(inputs) == []


def test_new_type_unknown_to_the_running_and_intermediate_release_blocks() -> None:
    # r5ad is compiled into ipamd from v1.5.0 (v1.4.x lists its ENIs, not its IPv4 limit)
    (f,) = _cap006(_inputs(_staging(launch_type="r5ad.xlarge")))
    assert f.severity is Severity.BLOCKING
    assert f.subject == "node group workers"
    assert "r5ad.xlarge new nodes (the group's launch type)" in f.message
    assert "VPC CNI v1.3.2, v1.4.1 at some point of the plan" in f.message
    assert "v1.5.0 is the first release that knows it" in f.message
    assert "Fix:" in f.message


def test_type_unknown_to_the_target_blocks_and_names_the_usable_release() -> None:
    # g4dn is compiled in from v1.5.4, which upgrader never applies: v1.5.5 fixes it
    (f,) = _cap006(_inputs(_staging(launch_type="g4dn.xlarge"), cni="v1.5.3"))
    assert f.severity is Severity.BLOCKING
    assert "the plan ends on VPC CNI v1.5.3" in f.message
    assert "v1.5.4 is the first release that knows it" in f.message
    assert "set target.cni to v1.5.5 or later" in f.message


def test_running_node_unknown_to_the_running_cni_is_a_finding_of_its_own() -> None:
    state = _staging("r5ad.xlarge")
    (f,) = _cap006(_inputs(state))
    assert f.severity is Severity.ADVISORY  # the plan's CNI steps are the fix
    nodes = sorted(n.name for n in state.nodes)
    assert f.message.startswith(f"{', '.join(nodes)} run r5ad.xlarge now")
    assert "ipamd of VPC CNI v1.3.2 does not know r5ad.xlarge" in f.message
    assert "The plan's VPC CNI step to v1.5.5 fixes it" in f.message
    assert 'target.kubernetes "1.12" and target.cni v1.5.5' in f.message
    # ... and the plan applies those CNI steps before any node group rolls
    plan = make_plan(state, config(state, target="1.13", cni="v1.5.5", env=ENV))
    assert not plan.blocked, plan.findings
    kinds = [s.kind for s in plan.steps]
    last_cni = max(i for i, k in enumerate(kinds) if k is StepKind.CNI)
    first_roll = min(i for i, k in enumerate(kinds) if k is StepKind.NODEGROUP_ROLL)
    assert last_cni < first_roll
    assert all("CAP006" in s.gates for s in plan.steps if s.kind is StepKind.CNI)


def test_running_node_unknown_to_the_target_too_blocks() -> None:
    (f,) = _cap006(_inputs(_staging("g4dn.xlarge"), cni="v1.5.3"))
    assert f.severity is Severity.BLOCKING
    assert "set target.cni to v1.5.5 or later" in f.message


def test_a_path_through_v1_6_0_fixes_what_no_compiled_table_knows() -> None:
    # m7i is in no compiled table: only the EC2 fallback of v1.6.0 and later knows it
    (f,) = _cap006(_inputs(_staging("m7i.xlarge"), cni="v1.6.3"))
    assert f.severity is Severity.ADVISORY
    assert "step to v1.6.3 fixes it" in f.message
    assert "v1.6.0 is the first release that knows it" in f.message
    (g,) = _cap006(_inputs(_staging(launch_type="m7i.xlarge"), cni="v1.6.3"))
    assert g.severity is Severity.BLOCKING
    assert "VPC CNI v1.3.2, v1.4.1, v1.5.7 at some point" in g.message


def test_from_v1_6_0_on_never() -> None:
    groups = tuple(replace(g, instance_type="m7i.xlarge") for g in MODERN_SPEC.groups)
    state = modern(groups=groups)
    assert {n.instance_type for n in state.nodes} == {"m7i.xlarge"}
    assert _cap006(_inputs(state, target="1.32", cni=None, env={})) == []
