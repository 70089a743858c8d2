"""EKS managed add-ons in a plan of one minor: each moved to a version EKS offers for the
target (``DescribeAddonVersions``: its default, never older than what runs), through
``UpdateAddon`` with ``resolveConflicts`` PRESERVE and the add-on's own
``configurationValues``. vpc-cni moves one minor per step, as EKS requires.

An add-on EKS manages is never also updated through upgrader's manifests: its objects
(aws-node, kube-proxy, coredns) belong to EKS. An add-on declared in one of the config's
stacks (``AWS::EKS::Addon``) moves to the same versions through a change set on that stack
(:mod:`upgrader.planner.addon_stacks`): updating it behind CloudFormation's back would
drift the stack.
"""

from __future__ import annotations

from dataclasses import replace

from upgrader.model.addons import AddonVersions, EksAddon, object_of, version_key
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonStep
from upgrader.planner.addon_stacks import stack_step
from upgrader.planner.versions import VersionPlan

GATES = ("VER001", "POD001")
PRESERVE = "PRESERVE"
ORDER = ("kube-proxy", "coredns", "vpc-cni")  # as the self-managed steps: the CNI last


def managed_objects(state: ClusterState) -> frozenset[str]:
    """kube-system names of the objects EKS managed add-ons own (never planned from
    upgrader's manifests)."""
    return frozenset(found[1] for a in state.addons if (found := object_of(a.name)) is not None)


def _minor(version: str) -> tuple[int, ...]:
    return version_key(version)[:2]


def _target(addon: EksAddon, table: AddonVersions) -> str | None:
    """The version to move to, or None when the running one may stay."""
    wanted = table.default or (table.versions[0] if table.versions else None)
    if wanted is None:
        return None
    if addon.version in table.versions and version_key(addon.version) >= version_key(wanted):
        return None
    if version_key(wanted) <= version_key(addon.version):
        return None  # never a downgrade; VER001 reports an add-on the target does not take
    return wanted


def _path(addon: EksAddon, target: str, table: AddonVersions) -> list[str]:
    """vpc-cni one minor per step (the newest offered of each minor between), else one step."""
    if addon.name != "vpc-cni":
        return [target]
    now, then = _minor(addon.version), _minor(target)
    newest: dict[tuple[int, ...], str] = {}
    for version in table.versions:  # newest first
        if now < _minor(version) < then:
            newest.setdefault(_minor(version), version)
    return [*(newest[m] for m in sorted(newest)), target]


def managed_versions(
    versions: VersionPlan, steps: list[ManagedAddonStep], state: ClusterState
) -> VersionPlan:
    """``versions`` with each managed add-on at the end of its steps (where it is, without
    one), and no manifest CNI path when EKS manages vpc-cni."""
    if not state.addons:
        return versions
    managed = {a.name for a in state.addons}
    last = {s.addon: s.to for s in steps}
    f, t = versions.from_, versions.to
    cni = last.get("vpc-cni", f.cni) if "vpc-cni" in managed else t.cni
    return replace(
        versions,
        to=replace(
            t,
            cni=cni,
            kube_proxy=last.get("kube-proxy", f.kube_proxy)
            if "kube-proxy" in managed
            else t.kube_proxy,
            coredns=last.get("coredns", f.coredns) if "coredns" in managed else t.coredns,
        ),
        cni_steps=() if "vpc-cni" in managed else versions.cni_steps,
    )


def _ordered(addons: tuple[EksAddon, ...]) -> list[EksAddon]:
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(addons, key=lambda a: (rank.get(a.name, len(ORDER)), a.name))


def _update_step(
    state: ClusterState, addon: EksAddon, previous: str, version: str, kubernetes: str
) -> ManagedAddonStep:
    kept = ", its configurationValues unchanged" if addon.configuration_values is not None else ""
    return ManagedAddonStep(
        id=f"addon-{addon.name}-{version}",
        description=(
            f"Update the EKS managed add-on {addon.name} {previous} -> {version} "
            f"(offered for Kubernetes {kubernetes}) with UpdateAddon, resolveConflicts "
            f"PRESERVE{kept}; wait on DescribeUpdate and the rollout."
        ),
        gates=GATES,
        addon=addon.name,
        from_=previous,
        to=version,
        resolve_conflicts=PRESERVE,
        configuration_values=addon.configuration_values,
        nodes=len(state.nodes),
    )


def managed_addon_steps(state: ClusterState, kubernetes: str) -> list[ManagedAddonStep]:
    """The update steps of every managed add-on for ``kubernetes``: ``UpdateAddon``, or a
    change set on the stack declaring it."""
    steps: list[ManagedAddonStep] = []
    for addon in _ordered(state.addons):
        table = state.addon_versions_for(addon.name, kubernetes)
        if table is None:
            continue
        target = _target(addon, table)
        if target is None:
            continue
        make = stack_step if addon.stack is not None else _update_step
        previous = addon.version
        for version in _path(addon, target, table):
            steps.append(make(state, addon, previous, version, kubernetes))
            previous = version
    return steps
