"""EKS managed node group updates: the node replacement EKS does after UpdateNodegroupVersion.

The twin does the setup phase (a new launch-template version with the new AMI, the ASG
pointed at it) and fires ``hooks.nodegroup_updated``; this controller runs the rest as
EKS documents it ("Understand each phase of node updates"):

- scale up: raise the ASG's max and desired size by the surge, wait until the new nodes
  are Ready in every zone that has old nodes, then cordon every old node;
- upgrade: up to ``maxUnavailable`` old nodes at a time, evict their pods (PDBs honoured,
  a refused eviction retried), wait a minute once drained, terminate the instance through
  the ASG with a decrement; pods that do not leave within 15 minutes fail the update with
  ``PodEvictionFailure`` unless it is forced (then they are deleted);
- scale down: put the ASG's max size back and mark the update done.

Approximations: the surge is ``max(maxUnavailable, zones of the old nodes)`` capped at the
number of old nodes (EKS may launch up to twice the zones and scale the extra back in),
so the decrementing terminations alone bring the group back to its size.
"""

from __future__ import annotations

import contextlib
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from ekstwin.aws import AwsTwin
from ekstwin.aws.asg_launch import launch_spec
from ekstwin.aws.eks_resources import default_release
from ekstwin.clock import VirtualClock
from ekstwin.controllers.nodes import NodeLifecycle
from ekstwin.controllers.objects import Obj, is_deleting, iso, name_of, namespace_of
from ekstwin.controllers.scheduler import UNSCHEDULABLE_TAINT
from ekstwin.kubeapi import ApiError, NotFound, Store

DRAIN_TIMEOUT_SECONDS = 15 * 60.0  # EKS gives up on a node's pods after 15 minutes
SCALE_UP_TIMEOUT_SECONDS = 15 * 60.0
EVICTION_RETRY_SECONDS = 5.0
DRAINED_WAIT_SECONDS = 60.0  # EKS waits a minute between a drained node and its termination
POLL_SECONDS = 5.0
EXCLUDE_FROM_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
POD_EVICTION_FAILURE = "PodEvictionFailure"
NODE_CREATION_FAILURE = "NodeCreationFailure"


@dataclass(slots=True)
class _Drain:
    """One old node being emptied."""

    instance_id: str
    node: str
    started: float
    retry_at: float = 0.0
    drained_at: float | None = None


@dataclass(slots=True)
class _Rollout:
    """One nodegroup update in progress."""

    cluster: str
    nodegroup: str
    asg: str
    image: str
    max_unavailable: int
    started: float
    original_max: int
    old: dict[str, str]  # instance id -> zone, not yet terminated
    old_image: str
    cordoned: bool = False
    failed: bool = False
    draining: dict[str, _Drain] = field(default_factory=dict)


class ManagedNodegroupUpdates:
    """Replaces a managed nodegroup's nodes after each ``nodegroup_updated`` hook."""

    name = "managed-nodegroup-updates"

    def __init__(
        self,
        store: Store,
        twin: AwsTwin,
        clock: VirtualClock,
        nodes: NodeLifecycle,
        *,
        rng: random.Random | None = None,
        force: bool = False,
    ) -> None:
        self._store = store
        self._twin = twin
        self._clock = clock
        self._nodes = nodes
        self._rng = rng or random.Random(0)
        self.force = force
        self._inbox: list[tuple[str, str, str]] = []
        self._inbox_lock = threading.Lock()
        self._rollouts: dict[tuple[str, str], _Rollout] = {}
        self._wakeup: float | None = None
        twin.hooks.nodegroup_updated.append(self._requested)

    def _requested(self, cluster: str, nodegroup: str, image_id: str) -> None:
        with self._inbox_lock:
            self._inbox.append((cluster, nodegroup, image_id))

    @property
    def active(self) -> list[tuple[str, str]]:
        """(cluster, nodegroup) of the updates in progress."""
        return sorted(self._rollouts)

    def next_wakeup(self) -> float | None:
        with self._inbox_lock:
            if self._inbox:
                return 0.0
        return self._wakeup

    def reconcile(self, now: float) -> bool:
        with self._inbox_lock:
            requests, self._inbox[:] = list(self._inbox), []
        wrote = False
        for cluster, nodegroup, image in requests:
            self._start(cluster, nodegroup, image, now)
        for key, rollout in list(self._rollouts.items()):
            wrote = self._advance(rollout, now) or wrote
            if rollout.failed or not (rollout.old or rollout.draining):
                self._rollouts.pop(key, None)
        self._wakeup = now + POLL_SECONDS if self._rollouts else None
        return wrote

    # --- phases ------------------------------------------------------------------------

    def _start(self, cluster: str, nodegroup: str, image: str, now: float) -> None:
        """Scale-up phase, first half: raise max and desired size by the surge."""
        ng = self._twin.eks.clusters[cluster].nodegroups[nodegroup]
        asg = ng.resources["autoScalingGroups"][0]["name"]
        group = self._twin.autoscaling.autoscaling_groups[asg]
        current = launch_spec(group)
        old = {
            s.instance.id: s.instance.placement.zone
            for s in group.instance_states
            if s.instance.state == "running"
            and (
                s.instance.image_id != image
                or getattr(s.instance, "twin_launch_spec", current) != current
            )
        }
        previous = self._rollouts.get((cluster, nodegroup))
        config = getattr(ng, "update_config", None) or {}
        rollout = _Rollout(
            cluster=cluster,
            nodegroup=nodegroup,
            asg=asg,
            image=image,
            max_unavailable=max(1, int(config.get("maxUnavailable") or 1)),
            started=now,
            original_max=previous.original_max if previous else int(group.max_size),
            old=old,
            old_image=previous.old_image
            if previous
            else next(
                (s.instance.image_id for s in group.instance_states if s.instance.id in old), image
            ),
        )
        if previous is not None:
            rollout.draining = previous.draining
        self._rollouts[(cluster, nodegroup)] = rollout
        if not old or previous is not None:  # a second update reuses the first one's surge
            return
        surge = min(len(old), max(rollout.max_unavailable, len(set(old.values()))))
        group.max_size = int(group.max_size) + surge
        self._twin.autoscaling.set_desired_capacity(asg, int(group.desired_capacity) + surge)

    def _advance(self, rollout: _Rollout, now: float) -> bool:
        if not rollout.cordoned:
            if not self._new_nodes_ready(rollout):
                if now - rollout.started >= SCALE_UP_TIMEOUT_SECONDS:
                    self._fail(
                        rollout,
                        NODE_CREATION_FAILURE,
                        "Couldn't proceed with upgrade process as new nodes are not joining "
                        f"node group {rollout.nodegroup}",
                        [],
                    )
                return False
            self._cordon_old(rollout, now)
            rollout.cordoned = True
            wrote = True
        else:
            wrote = False
        while len(rollout.draining) < rollout.max_unavailable:
            waiting = sorted(set(rollout.old) - set(rollout.draining))
            if not waiting:
                break
            instance_id = self._rng.choice(waiting)
            node = self._nodes.node_of_instance.get(instance_id, "")
            rollout.draining[instance_id] = _Drain(instance_id, node, now)
        for drain in list(rollout.draining.values()):
            wrote = self._drain(rollout, drain, now) or wrote
            if rollout.failed:
                return wrote
        if not rollout.old and not rollout.draining:
            self._scale_down(rollout)
        return wrote

    def _new_nodes_ready(self, rollout: _Rollout) -> bool:
        group = self._twin.autoscaling.autoscaling_groups[rollout.asg]
        zones: set[str] = set()
        for state in group.instance_states:
            instance = state.instance
            if instance.id in rollout.old or instance.state != "running":
                continue
            node = self._nodes.node_of_instance.get(instance.id)
            if node is None or not _is_ready(self._store.find("nodes", node)):
                return False
            zones.add(instance.placement.zone)
        return set(rollout.old.values()) <= zones

    def _cordon_old(self, rollout: _Rollout, now: float) -> None:
        """Scale-up phase, end: old nodes take no new pods and leave load balancers."""
        for instance_id in sorted(rollout.old):
            node = self._store.find("nodes", self._nodes.node_of_instance.get(instance_id, ""))
            if node is not None:
                self._cordon(node, now)

    def _cordon(self, node: Obj, now: float) -> None:
        taints = list(node.get("spec", {}).get("taints") or [])
        if not any(t.get("key") == UNSCHEDULABLE_TAINT["key"] for t in taints):
            taints.append({**UNSCHEDULABLE_TAINT, "timeAdded": iso(now)})
        with contextlib.suppress(NotFound):
            self._store.patch(
                "nodes",
                name_of(node),
                {
                    "metadata": {"labels": {EXCLUDE_FROM_LB_LABEL: "true"}},
                    "spec": {"unschedulable": True, "taints": taints},
                },
                patch_type="merge",
            )

    def _drain(self, rollout: _Rollout, drain: _Drain, now: float) -> bool:
        """Upgrade phase for one node: evict, wait, terminate with a decrement."""
        pods = [
            p
            for p in self._store.list("pods", field_selector=f"spec.nodeName={drain.node}")
            if _evictable(p)
        ]
        if not drain.node or not pods:
            if drain.drained_at is None:
                drain.drained_at = now
            if now - drain.drained_at < DRAINED_WAIT_SECONDS:
                return False
            self._terminate(rollout, drain.instance_id)
            return True
        if now < drain.retry_at:
            return False
        wrote = False
        blocked: list[Obj] = []
        for pod in pods:
            if is_deleting(pod):
                continue
            try:
                self._store.evict(name_of(pod), namespace=str(namespace_of(pod)))
                wrote = True
            except NotFound:
                continue
            except ApiError:  # 429 from a budget, 500 for a pod under several budgets
                blocked.append(pod)
        drain.retry_at = now + EVICTION_RETRY_SECONDS
        if blocked and now - drain.started >= DRAIN_TIMEOUT_SECONDS:
            if not self.force:
                self._fail(
                    rollout,
                    POD_EVICTION_FAILURE,
                    "Reached max retries while trying to evict pods from nodes in node group "
                    f"{rollout.nodegroup}",
                    [drain.node],
                )
                return wrote
            for pod in blocked:
                with contextlib.suppress(NotFound):
                    self._store.delete("pods", name_of(pod), namespace=namespace_of(pod))
            wrote = True
        return wrote

    def _terminate(self, rollout: _Rollout, instance_id: str) -> None:
        rollout.draining.pop(instance_id, None)
        rollout.old.pop(instance_id, None)
        group = self._twin.autoscaling.autoscaling_groups.get(rollout.asg)
        if group is not None and any(s.instance.id == instance_id for s in group.instance_states):
            self._twin.autoscaling.terminate_instance(instance_id, should_decrement=True)

    def _scale_down(self, rollout: _Rollout) -> None:
        """Scale-down phase: the ASG's max size back to its value before the update."""
        group = self._twin.autoscaling.autoscaling_groups.get(rollout.asg)
        if group is not None:
            group.max_size = max(rollout.original_max, int(group.desired_capacity))
        self._twin.finish_nodegroup_update(rollout.cluster, rollout.nodegroup)

    def _fail(self, rollout: _Rollout, code: str, message: str, resources: list[str]) -> None:
        """End the update as EKS does: update Failed with its error, group left as it is."""
        fail_nodegroup_update(
            self._twin,
            rollout.cluster,
            rollout.nodegroup,
            {"errorCode": code, "errorMessage": message, "resourceIds": resources},
            old_version=self._twin.kubernetes_minor_of_ami(rollout.old_image),
        )
        rollout.failed = True


def fail_nodegroup_update(
    twin: AwsTwin,
    cluster: str,
    nodegroup: str,
    error: dict[str, Any],
    *,
    old_version: str | None = None,
) -> None:
    """Mark a nodegroup update Failed: DescribeUpdate errors, nodegroup ACTIVE on its old
    version, and the waiting CloudFormation update fails with EKS's reason text.
    """
    with twin.lock:
        ng = twin.eks.clusters[cluster].nodegroups[nodegroup]
        ng.status = "ACTIVE"
        if old_version:
            ng.version = old_version
            ng.release_version = default_release(old_version)
        update = getattr(ng, "twin_update", None)
        if update is not None:
            update.status = "Failed"
            update.errors = [error]
        # AwsTwin has no public call for a failed nodegroup update yet; its state holds
        # the operation CloudFormation waits on.
        operation = twin._state.nodegroup_operations.pop((cluster, nodegroup), None)
        if operation is not None:
            resources = ", ".join(error["resourceIds"])
            operation.finish(
                f"Update failed due to [{{ErrorCode: {error['errorCode']},ErrorMessage: "
                f"{error['errorMessage']},ResourceIds: [{resources}]}}]"
            )
    twin._state.flush()


def _is_ready(node: Obj | None) -> bool:
    if node is None:
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in node.get("status", {}).get("conditions", [])
    )


def _evictable(pod: Obj) -> bool:
    """What a drain evicts: not DaemonSet pods, not mirror pods, not finished pods."""
    metadata = pod.get("metadata", {})
    if MIRROR_ANNOTATION in (metadata.get("annotations") or {}):
        return False
    if any(ref.get("kind") == "DaemonSet" for ref in metadata.get("ownerReferences") or []):
        return False
    return pod.get("status", {}).get("phase") not in {"Succeeded", "Failed"}
