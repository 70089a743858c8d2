"""EKS managed add-ons in plans: the version EKS offers for each hop (its default, never a
downgrade), vpc-cni one minor per step, configurationValues kept byte for byte, and no
manifest step for an object EKS owns."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.cluster_states import config, modern_129
from upgrader.errors import BadInputError
from upgrader.model.addons import AddonVersions, EksAddon
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonStep, StepKind
from upgrader.planner import make_plan

CNI_VALUES = '{"env": {"WARM_PREFIX_TARGET":"1",  "WARM_ENI_TARGET": "1"}}'
CNI = {  # minor -> versions EKS offers, newest first, and its default
    "1.30": (("v1.20.1-eksbuild.3", "v1.19.2-eksbuild.5", "v1.19.2-eksbuild.1"), None),
    "1.31": (("v1.21.1-eksbuild.1", "v1.20.1-eksbuild.3", "v1.19.2-eksbuild.5"), None),
    "1.32": (("v1.21.1-eksbuild.1", "v1.20.1-eksbuild.3", "v1.19.2-eksbuild.5"), None),
}
PROXY = {m: (f"v{m}.3-eksbuild.2", f"v{m}.1-eksbuild.1") for m in ("1.30", "1.31", "1.32")}


def _tables(defaults: dict[str, str]) -> tuple[AddonVersions, ...]:
    out = []
    for minor, (versions, _) in CNI.items():
        out.append(
            AddonVersions(
                addon="vpc-cni", kubernetes=minor, versions=versions, default=defaults.get(minor)
            )
        )
    for minor, versions in PROXY.items():
        out.append(
            AddonVersions(
                addon="kube-proxy", kubernetes=minor, versions=versions, default=versions[1]
            )
        )
    return tuple(out)


def managed(defaults: dict[str, str], **addon: object) -> ClusterState:
    state = modern_129(cni="v1.19.2-eksbuild.1", kube_proxy="v1.29.10-eksbuild.3")
    cni = EksAddon(
        name="vpc-cni",
        version="v1.19.2-eksbuild.1",
        status="ACTIVE",
        configuration_values=CNI_VALUES,
        service_account_role_arn=None,
    )
    proxy = EksAddon(
        name="kube-proxy",
        version="v1.29.10-eksbuild.3",
        status="ACTIVE",
        configuration_values=None,
        service_account_role_arn=None,
    )
    return replace(state, addons=(replace(cni, **addon), proxy), addon_versions=_tables(defaults))  # type: ignore[arg-type]


def addon_steps(plan_steps: tuple[object, ...]) -> list[ManagedAddonStep]:
    return [s for s in plan_steps if isinstance(s, ManagedAddonStep)]


def test_one_minor_updates_managed_addons_and_no_manifest_touches_their_objects() -> None:
    state = managed({"1.30": "v1.19.2-eksbuild.5"})
    plan = make_plan(state, config(state, target="1.30", cni="v1.20.1"))
    kinds = {s.kind for s in plan.steps}
    assert StepKind.CNI not in kinds and StepKind.KUBE_PROXY not in kinds
    steps = addon_steps(plan.steps)
    assert [(s.addon, s.from_, s.to) for s in steps] == [
        ("kube-proxy", "v1.29.10-eksbuild.3", "v1.30.1-eksbuild.1"),
        ("vpc-cni", "v1.19.2-eksbuild.1", "v1.19.2-eksbuild.5"),
    ]
    cni = steps[1]
    assert cni.resolve_conflicts == "PRESERVE" and cni.configuration_values == CNI_VALUES
    assert steps[0].configuration_values is None
    assert (plan.to.cni, plan.to.kube_proxy) == ("v1.19.2-eksbuild.5", "v1.30.1-eksbuild.1")


def test_vpc_cni_moves_one_minor_per_step_to_the_default() -> None:
    state = managed({"1.30": "v1.21.1-eksbuild.1"})
    state = replace(
        state,
        addon_versions=tuple(
            replace(t, versions=("v1.21.1-eksbuild.1", *t.versions))
            if (t.addon, t.kubernetes) == ("vpc-cni", "1.30")
            else t
            for t in state.addon_versions
        ),
    )
    plan = make_plan(state, config(state, target="1.30"))
    cni = [s for s in addon_steps(plan.steps) if s.addon == "vpc-cni"]
    assert [(s.from_, s.to) for s in cni] == [
        ("v1.19.2-eksbuild.1", "v1.20.1-eksbuild.3"),
        ("v1.20.1-eksbuild.3", "v1.21.1-eksbuild.1"),
    ]


def test_an_addon_already_at_an_offered_version_not_older_than_the_default_stays() -> None:
    state = managed({"1.30": "v1.19.2-eksbuild.1"})
    plan = make_plan(state, config(state, target="1.30"))
    assert [s.addon for s in addon_steps(plan.steps)] == ["kube-proxy"]
    assert plan.to.cni == "v1.19.2-eksbuild.1"


def test_an_addon_in_a_stack_whose_template_is_not_read_is_bad_input() -> None:
    # moved through its stack (tests/unit/test_planner_addon_stacks.py), never UpdateAddon
    state = managed({"1.30": "v1.19.2-eksbuild.5"}, stack="modern-addons")
    with pytest.raises(BadInputError, match="could not read its AWS::EKS::Addon"):
        make_plan(state, config(state, target="1.30"))


def test_every_hop_moves_managed_addons_to_what_it_offers() -> None:
    defaults = {"1.30": "v1.19.2-eksbuild.5", "1.31": "v1.20.1-eksbuild.3", "1.32": ""}
    state = managed({k: v for k, v in defaults.items() if v})
    plan = make_plan(state, config(state, target="1.32"))
    steps = [(s.id, s.to) for s in addon_steps(plan.steps)]
    assert steps == [
        ("addon-kube-proxy-v1.30.1-eksbuild.1@1.30", "v1.30.1-eksbuild.1"),
        ("addon-vpc-cni-v1.19.2-eksbuild.5@1.30", "v1.19.2-eksbuild.5"),
        ("addon-kube-proxy-v1.31.1-eksbuild.1@1.31", "v1.31.1-eksbuild.1"),
        ("addon-vpc-cni-v1.20.1-eksbuild.3@1.31", "v1.20.1-eksbuild.3"),
        ("addon-kube-proxy-v1.32.1-eksbuild.1@1.32", "v1.32.1-eksbuild.1"),
        # 1.32 names no default: its newest, one minor on
        ("addon-vpc-cni-v1.21.1-eksbuild.1@1.32", "v1.21.1-eksbuild.1"),
    ]
    assert all(
        s.configuration_values == CNI_VALUES
        for s in addon_steps(plan.steps)
        if s.addon == "vpc-cni"
    )
    assert plan.to.cni == "v1.21.1-eksbuild.1"
