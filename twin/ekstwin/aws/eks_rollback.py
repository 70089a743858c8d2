"""EKS version rollback: ``UpdateClusterVersion`` to the previous minor after an upgrade.

As the EKS user guide ("Rollback cluster to previous Kubernetes version") describes it:
one minor back, only after an in-place upgrade to the running version, within 7 days of
that upgrade completing, with ``rollbackConfig.timeoutMinutes`` between 120 and 10080.
EKS checks rollback readiness first (cluster insights): a node whose kubelet is newer
than the version rolled back to blocks the rollback unless ``force`` is set. The update
is of type ``VersionRollback`` and restores the platform version the cluster ran before.
The error wording is the twin's own; EKS documents the rules, not the messages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from moto.ec2.models import ec2_backends

from ekstwin.aws import amis
from ekstwin.aws.errors import invalid_parameter as _refuse
from ekstwin.aws.state import EksUpdate, TwinState
from upgrader.catalog.versions import catalog
from upgrader.errors import VersionError

WINDOW = timedelta(days=7)
TIMEOUT_MINUTES = (120, 10080)
TYPE = "VersionRollback"


def is_rollback(current: str, target: str) -> bool:
    """Whether ``target`` is the minor just before ``current``."""
    try:
        known = catalog()
        now = known.kubernetes(current).version
        then = known.kubernetes(target).version
    except VersionError:
        return False
    return known.next_minor(then) == now


def check_timeout(cluster: str, timeout: Any) -> None:
    """EKS's range for ``rollbackConfig.timeoutMinutes``."""
    low, high = TIMEOUT_MINUTES
    if timeout is not None and not (isinstance(timeout, int) and low <= timeout <= high):
        raise _refuse(cluster, f"rollbackConfig.timeoutMinutes must be between {low} and {high}")


def _newer_kubelets(state: TwinState, cluster: str, target: str) -> list[str]:
    """Running instances of the cluster whose AMI's kubelet is newer than ``target``."""
    backend = ec2_backends[state.account_id][state.region]
    limit = catalog().kubernetes(target).version
    newer = []
    for instance in backend.all_instances():
        if instance.state != "running":
            continue
        tags = {t["key"]: t["value"] for t in instance.get_tags()}
        if (
            tags.get(f"kubernetes.io/cluster/{cluster}") != "owned"
            and tags.get("eks:cluster-name") != cluster
        ):
            continue
        minor = amis.minor_of(instance.image_id)
        if minor is not None and catalog().kubernetes(minor).version > limit:
            newer.append(f"{instance.id} (kubelet {minor})")
    return sorted(newer)


def check(state: TwinState, cluster: Any, target: str, force: bool) -> tuple[str, str]:
    """Refuse a rollback EKS would refuse; else the (version, platform) to restore."""
    name = cluster.name
    upgrades = [
        u
        for u in state.eks_updates.get(name, [])
        if u.type == "VersionUpdate" and u.nodegroup is None and u.status == "Successful"
    ]
    last: EksUpdate | None = upgrades[-1] if upgrades else None
    if last is None or last.before is None or last.before[0] != target:
        raise _refuse(
            name,
            f"Cluster {name} can only be rolled back to the version it was upgraded from "
            f"in place; it was not upgraded from {target} to {cluster.version}",
        )
    assert last.finished_at is not None
    if state.now() - last.finished_at > WINDOW:
        raise _refuse(
            name,
            f"Cluster {name} can no longer be rolled back: the upgrade to {cluster.version} "
            f"completed more than 7 days ago",
        )
    groups = sorted(n for n, g in cluster.nodegroups.items() if str(g.version) != target)
    if groups:
        raise _refuse(
            name,
            f"Rollback readiness check failed: nodegroups {', '.join(groups)} are not at "
            f"version {target}",
        )
    newer = _newer_kubelets(state, name, target)
    if newer and not force:
        raise _refuse(
            name,
            f"Rollback readiness check failed: nodes run a kubelet newer than {target}: "
            f"{', '.join(newer)}",
        )
    return last.before
