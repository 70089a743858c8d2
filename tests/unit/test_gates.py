"""Gates: one pass and one fail per stable ID, and a crashing gate blocks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from tests.unit.cluster_states import (
    STAGING_SPEC,
    config,
    modern,
    pdb,
    staging,
    subnet_id,
    with_unowned,
)
from upgrader.gates import GateInputs, gate_ids, leaked_enis, rule, rules, run
from upgrader.model.aws import ChangeSet, Eni
from upgrader.model.kube import LiveObject, Pod
from upgrader.model.plan import Finding, Severity
from upgrader.model.state import ClusterState
from upgrader.planner import gate_inputs

STAGING_ENV = {"WARM_ENI_TARGET": "1"}
NOW = "2019-08-01T01:00:00Z"


def _staging_inputs(
    state: ClusterState | None = None,
    *,
    manifests: Mapping[str, Any] | None = None,
    **cfg: Any,
) -> GateInputs:
    state = state or staging()
    settings: dict[str, Any] = {"target": "1.13", "cni": "v1.5.5", "env": STAGING_ENV, **cfg}
    return gate_inputs(state, config(state, **settings), manifests=manifests or {}, now_iso=NOW)


def _only(findings: Iterable[Finding], gate_id: str) -> list[Finding]:
    return [f for f in findings if f.id == gate_id]


def _by_id(inputs: GateInputs, gate_id: str) -> list[Finding]:
    return _only(run(inputs), gate_id)


def test_staging_passes_every_gate() -> None:
    assert run(_staging_inputs()) == ()


def test_every_gate_id_of_the_design_is_registered() -> None:
    assert set(gate_ids()) == {
        "CAP001", "CAP002", "CAP003", "CAP004", "CAP005", "CAP006",
        "VER001", "VER002", "API001", "PDB001", "STK001", "POD001", "INS001", "AMI001",
    }  # fmt: skip


def test_every_rule_carries_its_meaning() -> None:
    fields = set(GateInputs.__dataclass_fields__)
    for gate in rules():
        assert gate.title and len(gate.description) > 80, gate.id
        assert gate.severity in set(Severity), gate.id
        assert gate.inputs and set(gate.inputs) <= fields, gate.id
        assert gate.anchor == f"docs/gates.md#{gate.id.lower()}"
        assert gate.to_json()["id"] == gate.id


def test_crashing_gate_is_a_blocking_finding() -> None:
    def boom(_: GateInputs) -> Iterable[Finding]:
        raise KeyError("subnet-0missing")

    (finding,) = run(_staging_inputs(), gates=[replace(rule("CAP001"), check=boom)])
    assert finding.id == "CAP001"
    assert finding.severity is Severity.BLOCKING
    assert finding.subject == "gate CAP001"
    assert "KeyError" in finding.message and "subnet-0missing" in finding.message


def test_crash_midway_keeps_findings_already_yielded() -> None:
    def half(_: GateInputs) -> Iterable[Finding]:
        yield Finding(id="PDB001", severity=Severity.ADVISORY, subject="x", message="y")
        raise RuntimeError("late")

    found = run(_staging_inputs(), gates=[replace(rule("PDB001"), check=half)])
    assert [(f.subject, f.severity) for f in found] == [
        ("gate PDB001", Severity.BLOCKING),
        ("x", Severity.ADVISORY),
    ]
    assert "late" in found[0].message


def _set_free(state: ClusterState, name: str, free: int) -> ClusterState:
    return replace(
        state,
        subnets=tuple(
            replace(s, available_ips=free) if s.name == name else s for s in state.subnets
        ),
    )


# CAP001


def test_cap001_fails_per_subnet_with_the_numbers_and_fixes() -> None:
    (f,) = _by_id(_staging_inputs(_set_free(staging(), "private-a", 45)), "CAP001")
    assert f.severity is Severity.BLOCKING
    assert f.subject == f"private-a ({subnet_id('private-a')})"
    assert "needs 60 addresses" in f.message and "45 are free" in f.message
    assert "8 must stay free" in f.message and "23 short" in f.message
    assert "WARM_ENI_TARGET" in f.message and "another subnet in ap-northeast-1a" in f.message


def test_cap001_is_never_summed_across_azs() -> None:
    # 45 + 400 free in total is plenty, but private-a alone cannot take a new node
    state = _set_free(_set_free(staging(), "private-a", 45), "private-c", 400)
    assert [f.subject.split()[0] for f in _by_id(_staging_inputs(state), "CAP001")] == ["private-a"]


def test_cap001_passes_when_the_reserve_stays_free() -> None:
    assert _by_id(_staging_inputs(_set_free(staging(), "private-a", 68)), "CAP001") == []
    assert _by_id(_staging_inputs(_set_free(staging(), "private-a", 67)), "CAP001") != []


def test_cap001_smaller_warm_pool_fixes_it() -> None:
    # 29 pods: 4 full ENIs (60) under WARM_ENI_TARGET=1; with WARM_IP_TARGET=2 v1.5
    # still fills whole ENIs at boot (#730): 3 ENIs, 45 addresses
    state = _set_free(staging(), "private-a", 55)
    assert _by_id(_staging_inputs(state), "CAP001") != []
    env = {"WARM_ENI_TARGET": "0", "WARM_IP_TARGET": "2"}
    assert _by_id(_staging_inputs(state, env=env), "CAP001") == []


def _leak(state: ClusterState, *, instance: str = "i-0gone", addresses: int = 15) -> ClusterState:
    eni = Eni(
        eni_id="eni-0leak",
        subnet_id=subnet_id("private-a"),
        status="available",
        description=f"aws-K8S-{instance}",
        instance_id=None,
        addresses=addresses,
    )
    return replace(state, enis=(*state.enis, eni))


def test_cap001_mentions_leaked_enis_and_does_not_count_them_free() -> None:
    state = _set_free(_leak(staging()), "private-a", 45)
    (f,) = _by_id(_staging_inputs(state), "CAP001")
    assert "45 are free" in f.message
    assert "1 leaked ENI(s) hold 15" in f.message and "--cleanup-leaked-enis" in f.message


# CAP002


def test_cap002_needs_two_azs_with_five_free() -> None:
    found = _by_id(_staging_inputs(_set_free(staging(), "private-c", 4)), "CAP002")
    (f,) = found
    assert f.severity is Severity.BLOCKING
    assert "only 1 AZ(s) qualify" in f.message and "private-c" in f.message
    assert "4 free" in f.message


def test_cap002_passes_at_exactly_five() -> None:
    assert _by_id(_staging_inputs(_set_free(staging(), "private-c", 5)), "CAP002") == []


# CAP003 and CAP004 (custom networking shrinks what a new node can host, #331)

CUSTOM_NET = {"WARM_ENI_TARGET": "1", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}


def test_cap003_displaced_pods_do_not_fit_new_nodes() -> None:
    state = staging(groups=(replace(STAGING_SPEC.groups[0], pods_per_node=50, cpu_m=50),))
    (f,) = _by_id(_staging_inputs(state, env=CUSTOM_NET), "CAP003")
    assert f.severity is Severity.BLOCKING
    assert f.subject == "node group workers"
    assert "VPC addresses 102 > 84" in f.message


def test_cap003_gives_no_room_on_fargate_nodes() -> None:
    """A Fargate node runs the one pod it was made for: displaced pods never land there,
    so Fargate nodes add no room (two of them, each as big as a worker, would hide the
    shortfall)."""
    state = with_unowned(
        staging(groups=(replace(STAGING_SPEC.groups[0], pods_per_node=50, cpu_m=50),))
    )
    state = replace(state, nodes=tuple(n for n in state.nodes if "karpenter" not in n.instance_id))
    (f,) = _by_id(_staging_inputs(state, env=CUSTOM_NET), "CAP003")
    assert "VPC addresses 102 > 84" in f.message


def test_cap003_passes_when_new_nodes_match_the_old() -> None:
    state = staging(groups=(replace(STAGING_SPEC.groups[0], pods_per_node=50, cpu_m=50),))
    assert _by_id(_staging_inputs(state), "CAP003") == []


def test_cap003_counts_cpu_requests() -> None:
    state = staging(groups=(replace(STAGING_SPEC.groups[0], pods_per_node=28, cpu_m=100),))
    hog = Pod(
        namespace="app",
        name="hog",
        node=state.nodes[0].name,
        phase="Running",
        host_network=False,
        ip="10.0.0.9",
        owner_kind="ReplicaSet",
        owner_name="hog",
        cpu_m=4000,
        memory=0,
    )
    state = replace(state, pods=(*state.pods, hog))
    (f,) = _by_id(_staging_inputs(state), "CAP003")
    assert "CPU requests" in f.message


def test_cap004_kubelet_max_pods_above_pod_ip_capacity_is_advisory() -> None:
    (f,) = _by_id(_staging_inputs(env=CUSTOM_NET), "CAP004")
    assert f.severity is Severity.ADVISORY
    assert "kubelet maxPods 58" in f.message and "44 pods" in f.message
    assert "--max-pods=44" in f.message


def test_cap004_passes_with_the_eni_formula() -> None:
    assert _by_id(_staging_inputs(), "CAP004") == []


# CAP005


def test_cap005_reports_leaked_enis_with_cleanup() -> None:
    (f,) = _by_id(_staging_inputs(_leak(staging())), "CAP005")
    assert f.severity is Severity.ADVISORY
    assert f.subject.startswith("private-a (")
    assert "eni-0leak" in f.message and "hold 15 addresses" in f.message
    assert "--cleanup-leaked-enis" in f.message


def test_cap005_ignores_an_eni_mid_attach_to_a_live_instance() -> None:
    state = staging()
    live = state.instances[0].instance_id
    assert leaked_enis(_leak(state, instance=live)) == ()
    assert _by_id(_staging_inputs(_leak(state, instance=live)), "CAP005") == []


# VER001


def test_ver001_kubelet_too_old_for_the_target() -> None:
    state = staging()
    old = replace(state.nodes[0], kubelet_version="v1.10.13-eks-1", kube_proxy_version="v1.12.6")
    state = replace(state, nodes=(old, *state.nodes[1:]))
    (f,) = _by_id(_staging_inputs(state), "VER001")
    assert f.severity is Severity.BLOCKING
    assert old.name in f.subject and "kubelet v1.10.13-eks-1" in f.message


def test_ver001_managed_group_behind_the_control_plane() -> None:
    state = modern()
    behind = replace(state.managed_nodegroups[0], version="1.30")
    state = replace(state, managed_nodegroups=(behind,))
    found = _by_id(gate_inputs(state, config(state, target="1.32")), "VER001")
    assert [f.subject for f in found] == ["managed node group general"]


def test_ver001_passes_one_minor_with_skew() -> None:
    assert _by_id(_staging_inputs(), "VER001") == []


# VER002


def test_ver002_refuses_v1_5_4() -> None:
    (f,) = _by_id(_staging_inputs(cni="v1.5.4"), "VER002")
    assert f.severity is Severity.BLOCKING
    assert "aws/amazon-vpc-cni-k8s#641" in f.message


def test_ver002_refuses_a_cni_the_target_does_not_support() -> None:
    (f,) = _by_id(_staging_inputs(cni="v1.7.5"), "VER002")
    assert "outside the supported range" in f.message


def test_ver002_checks_the_planned_steps() -> None:
    inputs = _staging_inputs()
    skipping = replace(inputs, cni_steps=inputs.cni_steps[1:])  # v1.3.2 -> v1.5.5 directly
    (f,) = _by_id(skipping, "VER002")
    assert f.subject == "VPC CNI v1.3.2 -> v1.5.5"


def test_ver002_passes_one_minor_per_step() -> None:
    inputs = _staging_inputs()
    assert [v.tag for v in inputs.cni_steps] == ["v1.4.1", "v1.5.5"]
    assert _by_id(inputs, "VER002") == []


# API001


def test_api001_live_object_removed_in_the_target() -> None:
    state = modern()
    schema = LiveObject(
        api_version="flowcontrol.apiserver.k8s.io/v1beta3",
        kind="FlowSchema",
        namespace=None,
        name="team-a",
    )
    state = replace(state, live_objects=(schema,))
    (f,) = _by_id(gate_inputs(state, config(state, target="1.32")), "API001")
    assert f.severity is Severity.BLOCKING
    assert f.subject == "FlowSchema team-a"
    assert "removed in Kubernetes 1.32" in f.message and "flowcontrol.apiserver.k8s.io/v1" in (
        f.message
    )


def test_api001_compiled_manifest_crd_api_not_served_yet() -> None:
    crd = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "eniconfigs.crd.k8s.amazonaws.com"},
            }
        ],
    }
    (f,) = _by_id(_staging_inputs(manifests={"aws-node@v1.5.5": crd}), "API001")
    assert "aws-node@v1.5.5" in f.message and "apiextensions.k8s.io/v1beta1" in f.message


def test_api001_an_api_version_no_release_serves() -> None:
    typo = {"apiVersion": "apps/v1beta9", "kind": "Deployment", "metadata": {"name": "web"}}
    (f,) = _by_id(_staging_inputs(manifests={"team": typo}), "API001")
    assert f.severity is Severity.BLOCKING and f.subject == "Deployment web"
    assert "apps/v1beta9 Deployment, which no Kubernetes release serves" in f.message
    assert "apps/v1" in f.message
    crd_kind = {"apiVersion": "example.com/v9", "kind": "Widget", "metadata": {"name": "w"}}
    assert _by_id(_staging_inputs(manifests={"team": crd_kind}), "API001") == []


def test_api001_passes_with_current_apis() -> None:
    ok = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "aws-node"}}
    assert _by_id(_staging_inputs(manifests={"aws-node@v1.5.5": ok}), "API001") == []


# PDB001


def test_pdb001_zero_disruption_budgets_block() -> None:
    state = staging(
        pdbs=(
            pdb("app", "web", expected=8, max_unavailable="0"),
            pdb("auth", "auth", expected=6, min_available="6"),
            pdb("jobs", "worker", expected=3, min_available="100%", allowed=0),
            pdb("api", "api", expected=4, min_available="2", allowed=0),
        )
    )
    found = _by_id(_staging_inputs(state), "PDB001")
    assert [f.subject for f in found] == ["api/api", "app/web", "auth/auth", "jobs/worker"]
    assert all(f.severity is Severity.BLOCKING for f in found)
    assert "maxUnavailable: 1" in found[0].message


def test_pdb001_passes_budgets_that_allow_one() -> None:
    state = staging(pdbs=(pdb("app", "web", expected=8, max_unavailable="1"),))
    assert _by_id(_staging_inputs(state), "PDB001") == []


def test_pdb001_ignores_a_budget_with_unhealthy_pods() -> None:
    unhealthy = replace(
        pdb("app", "web", expected=4, min_available="3", allowed=0), current_healthy=3
    )
    assert _by_id(_staging_inputs(staging(pdbs=(unhealthy,))), "PDB001") == []


# STK001


def _with_stack(state: ClusterState, name: str, **changes: Any) -> ClusterState:
    return replace(
        state,
        stacks=tuple(replace(s, **changes) if s.name == name else s for s in state.stacks),
    )


def test_stk001_unstable_stack_blocks() -> None:
    state = _with_stack(staging(), "staging-eks", status="UPDATE_IN_PROGRESS")
    (f,) = _by_id(_staging_inputs(state), "STK001")
    assert f.subject == "stack staging-eks" and "UPDATE_IN_PROGRESS" in f.message


def test_stk001_foreign_change_set_blocks_ours_does_not() -> None:
    theirs = ChangeSet(
        name="bump-sizes",
        change_set_id="cs-1",
        status="CREATE_COMPLETE",
        execution_status="AVAILABLE",
    )
    ours = replace(theirs, name="upgrader-control-plane", change_set_id="cs-2")
    (f,) = _by_id(
        _staging_inputs(_with_stack(staging(), "staging-workers", change_sets=(theirs, ours))),
        "STK001",
    )
    assert "bump-sizes" in f.message and "delete-change-set" in f.message
    only_ours = _with_stack(staging(), "staging-workers", change_sets=(ours,))
    assert _by_id(_staging_inputs(only_ours), "STK001") == []


def test_stk001_missing_stack_blocks() -> None:
    state = staging()
    inputs = _staging_inputs(state, nodegroups=("staging-workers", "staging-gone"))
    (f,) = _by_id(inputs, "STK001")
    assert f.subject == "stack staging-gone" and "not found" in f.message


def test_stk001_rolled_back_stack_is_advisory() -> None:
    state = _with_stack(staging(), "staging-eks", status="UPDATE_ROLLBACK_COMPLETE")
    (f,) = _by_id(_staging_inputs(state), "STK001")
    assert f.severity is Severity.ADVISORY


# POD001


def _stuck(created: str) -> Pod:
    return Pod(
        namespace="app",
        name="web-7d9f",
        node="ip-10-0-0-10.ap-northeast-1.compute.internal",
        phase="Pending",
        host_network=False,
        ip=None,
        owner_kind="ReplicaSet",
        owner_name="web",
        cpu_m=100,
        memory=0,
        waiting_reason="ContainerCreating",
        created=created,
        last_event="failed to assign an IP address to container",
    )


def test_pod001_names_stuck_pods_and_the_last_event() -> None:
    state = staging(extra_pods=(_stuck("2019-08-01T00:50:00Z"),))
    (f,) = _by_id(_staging_inputs(state), "POD001")
    assert f.severity is Severity.ADVISORY
    assert f.subject == "app/web-7d9f"
    assert "600 s" in f.message and "failed to assign an IP address" in f.message


def test_pod001_passes_a_pod_still_within_the_limit() -> None:
    state = staging(extra_pods=(_stuck("2019-08-01T00:58:00Z"),))
    assert _by_id(_staging_inputs(state), "POD001") == []
