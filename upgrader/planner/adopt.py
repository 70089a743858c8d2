"""Self-managed add-ons made EKS managed ones (config ``addons.adopt``).

Each add-on named there that EKS does not manage yet gets a ``CreateAddon`` step before
anything else, at the release its object runs now (the newest build EKS offers of it for
the running Kubernetes minor; else that minor's default, never older), with
``resolveConflicts`` OVERWRITE so that EKS takes its objects over. vpc-cni carries the
config's ``cni.env`` into ``configurationValues`` (``{"env": {...}}``, sorted keys, no
spaces: the same bytes for the same env). The rest of the plan is then made as for an
add-on EKS already manages (:func:`adopted` is the state it starts from).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.model.addons import AddonVersions, EksAddon, image_tag, object_of, version_key
from upgrader.model.kube import Container
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import ManagedAddonAdoptStep, Step
from upgrader.planner.managed_addons import ORDER
from upgrader.planner.versions import SYSTEM

OVERWRITE = "OVERWRITE"
GATES = ("VER001", "POD001")


def configuration_values(addon: str, config: Config) -> str | None:
    """What the add-on is created with: vpc-cni's env from ``cni.env``, deterministic."""
    env = config.cni_env if config.adopt_env is None else config.adopt_env
    if addon != "vpc-cni" or not env:
        return None
    return json.dumps({"env": dict(env)}, sort_keys=True, separators=(",", ":"))


def adoption_config(config: Config, steps: Iterable[Step]) -> Config:
    """``config`` (apply's, from the plan) with what re-derives the plan's adoption: the
    add-ons it adopts and the env vpc-cni's carries (``cni_env`` there is the live env
    overlaid with the user's, which is not what the plan sent)."""
    adopting = [s for s in steps if isinstance(s, ManagedAddonAdoptStep)]
    if not adopting:
        return config
    env: tuple[tuple[str, str], ...] = ()
    for step in adopting:
        if step.addon == "vpc-cni" and step.configuration_values:
            values = json.loads(step.configuration_values).get("env", {})
            env = tuple(sorted((str(k), str(v)) for k, v in values.items()))
    return dataclasses.replace(config, adopt_addons=tuple(s.addon for s in adopting), adopt_env=env)


def _containers(state: ClusterState, addon: str) -> tuple[Container, ...] | None:
    owned = object_of(addon)
    if owned is None:
        return None
    kind, name = owned
    found = (
        state.daemonset(SYSTEM, name) if kind == "DaemonSet" else state.workload(kind, SYSTEM, name)
    )
    return found.containers if found is not None else None


def _version(addon: str, running: str, table: AddonVersions | None, minor: str) -> str:
    """The newest build of the running release EKS offers, else the default if not older."""
    offered = table.versions if table is not None else ()
    release = version_key(running)[:3]
    same = [v for v in offered if version_key(v)[:3] == release]  # newest first
    if same:
        return same[0]
    default = table.default if table is not None else None
    if default is not None and version_key(default)[:3] >= release:
        return default
    raise BadInputError(
        f"EKS add-on {addon}",
        f"cannot be adopted: EKS offers no version of it at or after the running {running} "
        f"for Kubernetes {minor} ({', '.join(offered) or 'no answer from DescribeAddonVersions'})",
        f"remove {addon} from addons.adopt and keep it self-managed, or update it to a "
        "release EKS offers first, then plan again",
    )


def adopt_steps(state: ClusterState, config: Config) -> tuple[ManagedAddonAdoptStep, ...]:
    """A ``CreateAddon`` step per ``addons.adopt`` add-on EKS does not manage yet."""
    managed = {a.name for a in state.addons}
    minor = state.cluster.version
    rank = {name: i for i, name in enumerate(ORDER)}
    steps = []
    for addon in sorted(config.adopt_addons, key=lambda n: rank.get(n, len(ORDER))):
        if addon in managed:
            continue
        containers = _containers(state, addon)
        owned = object_of(addon)
        if not containers or owned is None:
            shown = f"{owned[0]} {SYSTEM}/{owned[1]}" if owned else "its object"
            raise BadInputError(
                f"addons.adopt of {config.path}",
                f"names {addon}, but {shown} does not run in the cluster",
                f"remove {addon} from addons.adopt (or install it), then plan again",
            )
        running = image_tag(containers)
        version = _version(addon, running, state.addon_versions_for(addon, minor), minor)
        values = configuration_values(addon, config)
        steps.append(
            ManagedAddonAdoptStep(
                id=f"adopt-{addon}",
                description=(
                    f"Make the self-managed {addon} ({owned[0]} {SYSTEM}/{owned[1]}, {running}) "
                    f"an EKS managed add-on at {version} with CreateAddon, resolveConflicts "
                    "OVERWRITE"
                    + (", the config's cni.env as its configurationValues" if values else "")
                    + "; wait until it is ACTIVE and its object rolled out."
                ),
                gates=GATES,
                addon=addon,
                from_=running,
                to=version,
                resolve_conflicts=OVERWRITE,
                configuration_values=values,
                nodes=len(state.nodes),
            )
        )
    return tuple(steps)


def _retagged(containers: tuple[Container, ...], name: str, tag: str) -> tuple[Container, ...]:
    return tuple(
        dataclasses.replace(c, image=c.image.rsplit(":", 1)[0] + ":" + tag)
        if c.name == name and c.tag
        else c
        for c in containers
    )


def adopted(state: ClusterState, steps: tuple[ManagedAddonAdoptStep, ...]) -> ClusterState:
    """The state ``steps`` leave: each add-on managed by EKS, its object at its version."""
    tags = {}
    for step in steps:
        owned = object_of(step.addon)
        if owned is not None:
            tags[(owned[0], owned[1])] = step.to
    return dataclasses.replace(
        state,
        addons=(
            *state.addons,
            *(
                EksAddon(
                    name=s.addon,
                    version=s.to,
                    status="ACTIVE",
                    configuration_values=s.configuration_values,
                    service_account_role_arn=None,
                )
                for s in steps
            ),
        ),
        daemonsets=tuple(
            dataclasses.replace(d, containers=_retagged(d.containers, d.name, tag))
            if d.namespace == SYSTEM and (tag := tags.get(("DaemonSet", d.name)))
            else d
            for d in state.daemonsets
        ),
        workloads=tuple(
            dataclasses.replace(w, containers=_retagged(w.containers, w.name, tag))
            if w.namespace == SYSTEM and (tag := tags.get((w.kind, w.name)))
            else w
            for w in state.workloads
        ),
    )


def with_adoption(
    plan: Plan, steps: tuple[ManagedAddonAdoptStep, ...], state: ClusterState
) -> Plan:
    """``plan`` (made from :func:`adopted` ``state``) with ``steps`` first (in its first
    hop) and the fingerprint of the state as it runs now."""
    ids = tuple(s.id for s in steps)
    hops = plan.hops
    if hops:
        hops = (dataclasses.replace(hops[0], steps=(*ids, *hops[0].steps)), *hops[1:])
    return dataclasses.replace(
        plan, steps=(*steps, *plan.steps), hops=hops, fingerprint=state.fingerprint()
    )
