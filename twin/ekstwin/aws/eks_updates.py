"""EKS updates moto lacks: control-plane version updates that take virtual time.

Like EKS: one minor version per update ("Unsupported Kubernetes minor version update from
X to Y"), a 409 ResourceInUseException while another update runs, the cluster UPDATING
until the update completes, then a new version and a newer platform version.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.eks.exceptions import (
    ResourceInUseException,
    ResourceNotFoundException,
)
from moto.eks.models import eks_backends
from moto.moto_api._internal import mock_random

from ekstwin.aws import eks_rollback
from ekstwin.aws.errors import invalid_parameter as _invalid
from ekstwin.aws.state import EksUpdate, Operation, TwinState, active
from upgrader.catalog.versions import catalog
from upgrader.errors import VersionError


def check_nodegroups(cluster: str) -> None:
    """EKS refuses a control-plane update while a managed node group of the cluster is not
    at the cluster's version (older or newer). The wording is EKS's as clients have
    reported it (hashicorp/terraform-provider-aws#19478: HTTP 400 "Nodegroups eks-stg-gp
    must be updated to match cluster version 1.18 before updating cluster version"); how
    EKS joins several names is not documented (here ", ")."""
    state = active()
    if state is None:
        return
    found = eks_backends[state.account_id][state.region].clusters.get(cluster)
    if found is None:
        return
    behind = sorted(
        name for name, group in found.nodegroups.items() if str(group.version) != found.version
    )
    if behind:
        raise _invalid(
            cluster,
            f"Nodegroups {', '.join(behind)} must be updated to match cluster version "
            f"{found.version} before updating cluster version",
        )


def check_minor_step(cluster: str, current: str, target: str) -> None:
    """Raise EKS's InvalidParameterException unless ``target`` is the next minor and every
    managed node group is at the cluster's version."""
    try:
        known = catalog()
        now = known.kubernetes(current).version
        then = known.kubernetes(target).version
    except VersionError:
        raise _invalid(cluster, "unsupported Kubernetes version") from None
    step = known.next_minor(now)
    if step is None or then != step:
        raise _invalid(
            cluster, f"Unsupported Kubernetes minor version update from {current} to {target}"
        )
    check_nodegroups(cluster)


def in_progress(state: TwinState, cluster: str) -> EksUpdate | None:
    updates = state.eks_updates.get(cluster, [])
    return next((u for u in updates if u.status == "InProgress" and u.nodegroup is None), None)


def _bump_platform(platform: str) -> str:
    prefix, _, number = platform.rpartition(".")
    return f"{prefix}.{int(number) + 1}" if number.isdigit() else platform


def check_version_change(
    state: TwinState,
    cluster: Any,
    version: str,
    *,
    force: bool = False,
    rollback_timeout: Any = None,
) -> tuple[str, str]:
    """Raise what EKS raises for ``UpdateClusterVersion`` to ``version``; else the update's
    type (``VersionUpdate``, or ``VersionRollback`` to the previous minor) and the
    platform version the cluster will run."""
    eks_rollback.check_timeout(cluster.name, rollback_timeout)
    if eks_rollback.is_rollback(cluster.version, version):
        _, platform = eks_rollback.check(state, cluster, version, force)
        return eks_rollback.TYPE, platform
    check_minor_step(cluster.name, cluster.version, version)
    return "VersionUpdate", _bump_platform(cluster.platformVersion)


def start_cluster_version_update(
    state: TwinState,
    backend: Any,
    name: str,
    version: str,
    operation: Operation | None = None,
    *,
    force: bool = False,
    rollback_timeout: Any = None,
) -> EksUpdate:
    """Validate and start a control-plane update (or, to the previous minor, a rollback);
    completes after the configured delay."""
    cluster = backend.clusters.get(name)
    if cluster is None:
        raise ResourceNotFoundException(
            clusterName=None,
            nodegroupName=None,
            fargateProfileName=None,
            addonName=None,
            message=f"No cluster found for name: {name}.",
        )
    running = in_progress(state, name)
    if running is not None:
        raise ResourceInUseException(
            clusterName=name,
            nodegroupName=None,
            addonName=None,
            message=f"Cannot VersionUpdate because cluster {name} currently has update "
            f"{running.id} in progress",
        )
    kind, platform = check_version_change(
        state, cluster, version, force=force, rollback_timeout=rollback_timeout
    )
    before = (cluster.version, cluster.platformVersion)
    update = EksUpdate(
        id=str(mock_random.uuid4()),
        type=kind,
        params=[
            {"type": "Version", "value": version},
            {"type": "PlatformVersion", "value": platform},
        ],
        created_at=state.now(),
        cluster=name,
        before=before,
    )
    state.eks_updates.setdefault(name, []).append(update)
    cluster.status = "UPDATING"

    def complete() -> None:
        cluster.version = version
        cluster.platformVersion = platform
        cluster.status = "ACTIVE"
        update.status = "Successful"
        update.finished_at = state.now()
        if operation is not None:
            operation.finish()
        for hook in list(state.hooks.cluster_version_changed):
            state.defer(functools.partial(hook, name, version))

    state.call_later(state.control_plane_update_seconds, complete)
    return update


def record_nodegroup_update(
    state: TwinState, cluster: str, nodegroup: str, version: str, release: str
) -> EksUpdate:
    """A nodegroup VersionUpdate record (finished by ``finish_nodegroup_update``)."""
    update = EksUpdate(
        id=str(mock_random.uuid4()),
        type="VersionUpdate",
        params=[
            {"type": "Version", "value": version},
            {"type": "ReleaseVersion", "value": release},
        ],
        created_at=state.now(),
        cluster=cluster,
        nodegroup=nodegroup,
    )
    state.eks_updates.setdefault(cluster, []).append(update)
    return update
