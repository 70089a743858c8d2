"""``addons.adopt``: self-managed add-ons made EKS managed ones by the plan's first steps
(CreateAddon, OVERWRITE, vpc-cni's cni.env as deterministic configurationValues), the rest
planned as for managed add-ons; apply's config re-derives the very same plan."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.unit.cluster_states import config, modern_129
from upgrader.config import Config, parse
from upgrader.errors import BadInputError
from upgrader.executor.run import config_from_plan
from upgrader.model.addons import AddonVersions
from upgrader.model.plan import loads
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonAdoptStep, ManagedAddonStep, StepKind
from upgrader.pipeline.reviewed import check_rederived
from upgrader.planner import make_plan
from upgrader.planner.adopt import adopted
from upgrader.runbook import render
from upgrader.runbook.steps import step_guide

ENV = {"WARM_PREFIX_TARGET": "1", "WARM_ENI_TARGET": "1"}
TABLES = {
    ("vpc-cni", "1.29"): (("v1.19.2-eksbuild.5", "v1.19.2-eksbuild.1", "v1.18.6-eksbuild.1"), None),
    ("vpc-cni", "1.30"): (("v1.20.1-eksbuild.3", "v1.19.2-eksbuild.5"), "v1.19.2-eksbuild.5"),
    ("vpc-cni", "1.31"): (("v1.20.1-eksbuild.3",), "v1.20.1-eksbuild.3"),
    ("kube-proxy", "1.29"): (("v1.29.10-eksbuild.3", "v1.29.1-eksbuild.1"), "v1.29.1-eksbuild.1"),
    ("kube-proxy", "1.30"): (("v1.30.1-eksbuild.1",), "v1.30.1-eksbuild.1"),
    ("kube-proxy", "1.31"): (("v1.31.1-eksbuild.1",), "v1.31.1-eksbuild.1"),
}


def self_managed() -> ClusterState:
    """Modern at 1.29, aws-node v1.19.2 and kube-proxy self-managed, EKS's version tables."""
    state = modern_129(cni="v1.19.2", kube_proxy="v1.29.10-eksbuild.3")
    tables = tuple(
        AddonVersions(addon=a, kubernetes=m, versions=v, default=d)
        for (a, m), (v, d) in TABLES.items()
    )
    return dataclasses.replace(state, addons=(), addon_versions=tables)


def adopting(state: ClusterState, target: str, *names: str) -> Config:
    return dataclasses.replace(
        config(state, target=target, env=ENV), adopt_addons=names or ("vpc-cni", "kube-proxy")
    )


def adopt_steps(steps: tuple[object, ...]) -> list[ManagedAddonAdoptStep]:
    return [s for s in steps if isinstance(s, ManagedAddonAdoptStep)]


def test_the_config_names_the_addons_to_adopt_strictly(tmp_path: Path) -> None:
    base = {
        "cluster": "c",
        "region": "eu-west-1",
        "stacks": {"control_plane": "c-eks"},
        "target": {"kubernetes": "1.30"},
    }
    read = parse({**base, "addons": {"adopt": ["vpc-cni", "coredns"]}}, tmp_path / "u.yaml")
    assert read.adopt_addons == ("vpc-cni", "coredns") and read.adopt_env is None
    assert parse(base, tmp_path / "u.yaml").adopt_addons == ()
    with pytest.raises(BadInputError) as bad:
        parse({**base, "addons": {"adopt": ["vpc-cni", "nope", "vpc-cni"]}}, tmp_path / "u.yaml")
    text = bad.value.render()
    assert "'nope' is not an add-on upgrader can adopt (vpc-cni, kube-proxy, coredns)" in text
    assert "'vpc-cni' is listed 2 times" in text
    with pytest.raises(BadInputError, match=r"addons\.adpot: unknown key"):
        parse({**base, "addons": {"adpot": []}}, tmp_path / "u.yaml")


def test_adoption_creates_the_addons_first_then_plans_them_as_managed() -> None:
    state = self_managed()
    plan = make_plan(state, adopting(state, "1.30"))
    first = plan.steps[:2]
    assert [s.kind for s in first] == [StepKind.MANAGED_ADDON_ADOPT] * 2
    proxy, cni = adopt_steps(plan.steps)
    assert (proxy.id, proxy.from_, proxy.to) == (
        "adopt-kube-proxy",
        "v1.29.10-eksbuild.3",
        "v1.29.10-eksbuild.3",
    )
    # the newest build EKS offers of the release aws-node runs, OVERWRITE, the user's env
    assert (cni.addon, cni.from_, cni.to) == ("vpc-cni", "v1.19.2", "v1.19.2-eksbuild.5")
    assert cni.resolve_conflicts == "OVERWRITE" and proxy.resolve_conflicts == "OVERWRITE"
    assert cni.configuration_values == '{"env":{"WARM_ENI_TARGET":"1","WARM_PREFIX_TARGET":"1"}}'
    assert json.loads(cni.configuration_values) == {"env": ENV}
    assert proxy.configuration_values is None
    # then as managed add-ons: UpdateAddon, never a manifest for the objects EKS now owns
    kinds = {s.kind for s in plan.steps}
    assert StepKind.CNI not in kinds and StepKind.KUBE_PROXY not in kinds
    updates = [(s.addon, s.from_, s.to) for s in plan.steps if type(s) is ManagedAddonStep]
    assert updates == [("kube-proxy", "v1.29.10-eksbuild.3", "v1.30.1-eksbuild.1")]
    assert plan.fingerprint == state.fingerprint()  # the cluster as it runs now
    assert adopt_steps(loads(plan.dumps(), "plan.json").steps) == [proxy, cni]


def test_apply_rederives_the_same_plan_from_the_plan_file() -> None:
    state = self_managed()
    plan = make_plan(state, adopting(state, "1.31"))
    assert plan.hops and plan.hops[0].steps[:2] == ("adopt-kube-proxy", "adopt-vpc-cni")
    again = config_from_plan(plan)
    assert again.adopt_addons == ("kube-proxy", "vpc-cni")
    assert dict(again.adopt_env or ()) == ENV
    check_rederived(plan, make_plan(state, again), "plan.json")  # raises on a difference
    # once EKS manages them (a later hop, a re-run), the same config adopts nothing
    after = adopted(state, tuple(adopt_steps(plan.steps)))
    assert adopt_steps(make_plan(after, again).steps) == []


def test_an_addon_eks_offers_no_version_of_is_refused() -> None:
    state = self_managed()
    state = dataclasses.replace(
        state, addon_versions=tuple(t for t in state.addon_versions if t.kubernetes != "1.29")
    )
    with pytest.raises(BadInputError) as bad:
        make_plan(state, adopting(state, "1.30", "vpc-cni"))
    text = bad.value.render()
    assert "EKS add-on vpc-cni: cannot be adopted" in text
    assert "remove vpc-cni from addons.adopt" in text


def test_the_runbook_says_how_an_addon_is_adopted_and_undone() -> None:
    state = self_managed()
    plan = make_plan(state, adopting(state, "1.30", "vpc-cni"))
    (step,) = adopt_steps(plan.steps)
    guide = step_guide(plan, step)
    assert "`CreateAddon`" in guide.what and "OVERWRITE" in guide.what
    assert "DaemonSet `kube-system/aws-node`" in guide.what
    assert any("create-addon" in c and "--resolve-conflicts OVERWRITE" in c for c in guide.commands)
    assert (
        "delete-addon" in guide.rollback_commands[0] and "--preserve" in guide.rollback_commands[0]
    )
    book = render(plan)
    assert "Adopt vpc-cni v1.19.2 as EKS add-on v1.19.2-eksbuild.5" in book
    assert "made EKS managed add-ons by this plan's first steps" in book
