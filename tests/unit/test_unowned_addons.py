"""EKS managed add-ons and the nodes upgrader does not own (Fargate, Karpenter): the
planner leaves their nodes alone, VER001 counts their kubelets, the fingerprint ignores
their churn, the plan context and the runbook report them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.cluster_states import config, modern, staging, with_unowned
from upgrader.adapters.kube_state import nodeclass, nodepool
from upgrader.model.addons import EksAddon, declares_addon
from upgrader.model.plan import Severity
from upgrader.model.records import to_json
from upgrader.model.state import ClusterState
from upgrader.model.unowned import NodeClass
from upgrader.planner import make_plan
from upgrader.planner.context import addon_rows
from upgrader.planner.groups import discover_groups
from upgrader.runbook import render
from upgrader.runbook.inventory import addons as addons_section
from upgrader.runbook.inventory import unowned as unowned_section

VALUES = '{"env":{"WARM_PREFIX_TARGET":"1"},\n "enableNetworkPolicy": "true"}'
VPC_CNI = EksAddon(
    name="vpc-cni",
    version="v1.19.2-eksbuild.1",
    status="ACTIVE",
    configuration_values=VALUES,
    service_account_role_arn="arn:aws:iam::1:role/cni",
)
AGENT = EksAddon(
    name="eks-pod-identity-agent",
    version="v1.3.4-eksbuild.1",
    status="ACTIVE",
    configuration_values=None,
    service_account_role_arn=None,
    stack="modern-eks",
)


def _unowned_names(state: ClusterState) -> set[str]:
    return {n.name for n in state.nodes if "fargate" in n.name or "-10-0-8-" in n.name}


def test_planner_groups_and_waves_leave_fargate_and_karpenter_nodes_alone() -> None:
    state = with_unowned(modern())
    unowned = _unowned_names(state)
    assert len(unowned) == 4
    grouped = {
        n.name for g in discover_groups(state, config(state, target="1.32")) for n in g.nodes
    }
    assert grouped and not grouped & unowned
    plan = make_plan(state, config(state, target="1.32"))
    steps = str([to_json(s) for s in plan.steps])
    assert not any(name in steps for name in unowned)
    base = make_plan(modern(), config(modern(), target="1.32"))
    # the one step more restarts the Deployment with pods on Fargate (never their nodes)
    assert [s.id for s in plan.steps if s.id != "fargate-restart"] == [s.id for s in base.steps]
    assert "fargate-restart" in [s.id for s in plan.steps]


@pytest.mark.parametrize(("where", "kwargs"), [("Fargate", "fargate"), ("Karpenter", "karpenter")])
def test_ver001_counts_fargate_and_karpenter_kubelets(where: str, kwargs: str) -> None:
    old = "v1.27.16-eks-a737599"  # 1.27 under a 1.32 control plane: 5 minors, skew is 3
    state = with_unowned(modern(), **{f"{kwargs}_kubelet": old})  # type: ignore[arg-type]
    plan = make_plan(state, config(state, target="1.32"))
    found = [f for f in plan.findings if f.id == "VER001" and f.subject.startswith(where)]
    assert found and all(f.severity is Severity.BLOCKING for f in found)
    assert {f.message.split(" may not")[0] for f in found} == {
        f"kubelet {old}",
        f"kube-proxy {old}",
    }
    fix = "kubectl rollout restart" if where == "Fargate" else "kubectl delete nodeclaim"
    assert all(fix in f.message for f in found)
    assert plan.blocked
    within = with_unowned(modern())
    assert not [
        f for f in make_plan(within, config(within, target="1.32")).findings if f.id == "VER001"
    ]


def test_fingerprint_ignores_unowned_churn_and_addon_status_but_not_addon_values() -> None:
    base = modern()
    assert with_unowned(base).fingerprint() == base.fingerprint()
    managed = replace(base, addons=(VPC_CNI,))
    assert managed.fingerprint() != base.fingerprint()
    degraded = replace(base, addons=(replace(VPC_CNI, status="DEGRADED"),))
    assert degraded.fingerprint() == managed.fingerprint()
    respaced = replace(base, addons=(replace(VPC_CNI, configuration_values=VALUES + " "),))
    assert respaced.fingerprint() != managed.fingerprint()


def test_addon_rows_managed_first_hand_and_self_managed_from_their_objects() -> None:
    rows = {r.name: r for r in addon_rows(replace(modern(), addons=(VPC_CNI, AGENT)))}
    assert sorted(rows) == ["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]
    cni, agent, proxy = rows["vpc-cni"], rows["eks-pod-identity-agent"], rows["kube-proxy"]
    assert (cni.managed, cni.version, cni.configured, cni.stack) == (
        True, "v1.19.2-eksbuild.1", True, None,
    )  # fmt: skip
    assert (agent.managed, agent.configured, agent.stack) == (True, False, "modern-eks")
    assert (proxy.managed, proxy.version, proxy.runs_as) == (
        False, "v1.31.2-eksbuild.3", "DaemonSet kube-system/kube-proxy",
    )  # fmt: skip


def test_plan_context_reports_fargate_karpenter_and_their_workloads() -> None:
    state = with_unowned(modern())
    unowned = make_plan(state, config(state, target="1.32")).context.unowned
    assert [(g.owner, g.pool, len(g.nodes)) for g in unowned.nodes] == [
        ("fargate", "", 2),
        ("karpenter", "default", 2),
    ]
    assert [(w.kind, w.namespace, w.name) for w in unowned.fargate_workloads] == [
        ("Deployment", "jobs", "runner")
    ]
    assert [(p.name, p.follows_control_plane) for p in unowned.nodepools] == [("default", True)]
    assert [(f.name, f.selectors) for f in unowned.fargate_profiles] == [("batch", ("jobs",))]


def test_runbook_sections_say_how_unowned_nodes_follow() -> None:
    state = replace(with_unowned(modern()), addons=(VPC_CNI, AGENT))
    plan = make_plan(state, config(state, target="1.32"))
    book = render(plan)
    unowned = unowned_section(plan)
    assert unowned in book and "## Nodes upgrader does not own" in unowned
    assert "kubectl rollout restart -n jobs deployment/runner" in unowned
    assert "`Drifted`" in unowned and "`alias=al2023@latest`" in unowned
    addons = addons_section(plan)
    assert addons in book
    assert "| `vpc-cni` | EKS add-on (ACTIVE) | `v1.19.2-eksbuild.1` | yes | no |" in addons
    assert "| `eks-pod-identity-agent` | EKS add-on (ACTIVE) |" in addons
    assert "yes: `modern-eks` |" in addons
    assert (
        "--resolve-conflicts PRESERVE --configuration-values file://vpc-cni-values.json" in addons
    )
    assert "--addon-name eks-pod-identity-agent" not in addons  # declared in a stack
    # EKS owns aws-node: no manifest step touches it (and no clash to warn about)
    assert "[!WARNING]" not in addons and all(s.kind != "cni" for s in plan.steps)
    assert "no step, because EKS offers the running version" in addons  # no version data
    plain = make_plan(staging(), config(staging(), target="1.13"))
    assert "None: every node belongs" in unowned_section(plan=plain)
    assert "EKS add-on" not in addons_section(plain)


def test_karpenter_objects_v1_and_v1beta1() -> None:
    pool = nodepool(
        {
            "apiVersion": "karpenter.sh/v1",
            "metadata": {"name": "default"},
            "spec": {
                "template": {"spec": {"nodeClassRef": {"group": "karpenter.k8s.aws",
                                                        "kind": "EC2NodeClass", "name": "al"}}},
                "disruption": {"budgets": [{"nodes": "10%"},
                                           {"nodes": "0", "schedule": "0 9 * * 1-5",
                                            "duration": "8h", "reasons": ["Drifted"]}]},
            },
        }
    )  # fmt: skip
    assert (pool.node_class, pool.budgets) == ("al", ("10%", "0 (0 9 * * 1-5; 8h; Drifted)"))
    v1 = nodeclass(
        {"apiVersion": "karpenter.k8s.aws/v1", "metadata": {"name": "al"},
         "spec": {"amiSelectorTerms": [{"alias": "al2023@latest"}]}}
    )  # fmt: skip
    pinned = nodeclass(
        {"apiVersion": "karpenter.k8s.aws/v1", "metadata": {"name": "p"},
         "spec": {"amiSelectorTerms": [{"tags": {"team": "a"}}, {"alias": "al2023@v20240807"}]}}
    )  # fmt: skip
    beta = nodeclass(
        {"apiVersion": "karpenter.k8s.aws/v1beta1", "metadata": {"name": "b"},
         "spec": {"amiFamily": "AL2"}}
    )  # fmt: skip
    assert v1.ami_selectors == ("alias=al2023@latest",) and v1.follows_control_plane
    assert pinned.ami_selectors == ("tags=team=a", "alias=al2023@v20240807")
    assert not pinned.follows_control_plane
    assert beta.follows_control_plane
    assert not NodeClass(name="x", api_version="karpenter.k8s.aws/v1").follows_control_plane


def test_addon_stack_resources_by_physical_id() -> None:
    assert declares_addon("modern|vpc-cni", "vpc-cni")
    assert declares_addon("arn:aws:eks:eu-west-1:1:addon/modern/vpc-cni/12ab-34cd", "vpc-cni")
    assert declares_addon("coredns", "coredns")
    assert not declares_addon("modern|coredns", "vpc-cni")
