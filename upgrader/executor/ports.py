"""Every outside call apply makes, as Protocols: AWS (CloudFormation, EKS, Auto Scaling, EC2),
Kubernetes, discovery, and the clock (:class:`upgrader.polling.Clock`).

The real adapters (:class:`~upgrader.adapters.aws_actions.AwsActions`,
:class:`~upgrader.adapters.kube_actions.KubeActions`, :func:`~upgrader.adapters.discover.
discover`) implement them; the executor's unit tests drive the same code with fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from upgrader.config import Config
from upgrader.model.actions import Eviction, Lease, Rollout
from upgrader.model.aws import AutoScalingGroup, Stack
from upgrader.model.ipamd import IpamdView
from upgrader.model.kube import Node, Pod
from upgrader.model.state import ClusterState
from upgrader.model.steps import ChangeSet
from upgrader.polling import WALL, Clock
from upgrader.runbook.ipamd import IpamdGuide


class AwsPort(Protocol):
    """The AWS calls of apply."""

    # CloudFormation
    def stack(self, name: str) -> Stack: ...

    def create_change_set(
        self,
        stack: str,
        parameters: dict[str, str],
        *,
        description: str,
        template: str | None = None,
    ) -> ChangeSet: ...

    def execute_change_set(self, stack: str, change_set: str) -> None: ...

    def wait_stack(
        self,
        stack: str,
        *,
        timeout_seconds: float,
        poll_seconds: float = 2.0,
        on_poll: Callable[[str, float], None] | None = None,
        clock: Clock = WALL,
    ) -> str: ...

    # EKS
    def cluster_version(self, cluster: str) -> tuple[str, str]: ...

    def addon(self, cluster: str, name: str) -> tuple[str, str]: ...

    def update_addon(
        self,
        cluster: str,
        name: str,
        *,
        version: str,
        resolve_conflicts: str,
        configuration_values: str | None,
    ) -> str: ...

    def create_addon(
        self,
        cluster: str,
        name: str,
        *,
        version: str,
        resolve_conflicts: str,
        configuration_values: str | None,
    ) -> None: ...

    def addon_update(
        self, cluster: str, name: str, update_id: str
    ) -> tuple[str, tuple[str, ...]]: ...

    # Auto Scaling
    def asg(self, name: str) -> AutoScalingGroup: ...

    def set_capacity(
        self,
        name: str,
        *,
        desired: int,
        min_size: int | None = None,
        max_size: int | None = None,
    ) -> None: ...

    def suspend_processes(self, name: str, processes: Sequence[str]) -> None: ...

    def resume_processes(self, name: str, processes: Sequence[str]) -> None: ...

    def terminate(self, instance_id: str, *, decrement: bool) -> None: ...

    def terminated(self, instance_ids: Sequence[str]) -> frozenset[str]: ...

    def put_termination_hook(self, asg: str, name: str, *, heartbeat_seconds: int) -> None: ...

    def delete_lifecycle_hook(self, asg: str, name: str) -> None: ...

    def waiting_termination(self, asg: str) -> tuple[str, ...]: ...

    def complete_lifecycle_action(
        self, asg: str, hook: str, instance_id: str, result: str = "CONTINUE"
    ) -> None: ...

    def record_lifecycle_heartbeat(self, asg: str, hook: str, instance_id: str) -> None: ...

    # EC2
    def delete_eni(self, eni_id: str) -> None: ...


class KubePort(Protocol):
    """The Kubernetes calls of apply."""

    def nodes(self) -> tuple[Node, ...]: ...

    def pods(
        self,
        *,
        namespace: str | None = None,
        node: str | None = None,
        label_selector: str | None = None,
    ) -> tuple[Pod, ...]: ...

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]: ...

    def daemonset_rollout(self, namespace: str, name: str) -> Rollout: ...

    def deployment_rollout(self, namespace: str, name: str) -> Rollout: ...

    def restart_deployment(self, namespace: str, name: str, at: str) -> None: ...

    def cordon(self, node: str) -> None: ...

    def uncordon(self, node: str) -> None: ...

    def evict(self, namespace: str, name: str) -> Eviction: ...

    def delete_pod(self, namespace: str, name: str) -> None: ...

    def ipamd_view(self, node: str, aws_node: Pod | None, guide: IpamdGuide) -> IpamdView: ...

    def replicas(self, namespace: str, name: str, *, kind: str = "Deployment") -> int | None: ...

    def scale(
        self, namespace: str, name: str, replicas: int, *, kind: str = "Deployment"
    ) -> int: ...

    def acquire_lease(
        self,
        name: str,
        namespace: str,
        holder: str,
        *,
        seconds: int,
        stale: Callable[[str], bool] | None = None,
    ) -> Lease: ...

    def renew_lease(self, name: str, namespace: str, holder: str, *, seconds: int) -> Lease: ...

    def release_lease(self, name: str, namespace: str, holder: str) -> None: ...

    def read_config_map(self, name: str, namespace: str) -> dict[str, str] | None: ...

    def write_config_map(self, name: str, namespace: str, data: dict[str, str]) -> None: ...

    def close(self) -> None: ...


Discover = Callable[[Config], ClusterState]
"""Read-only discovery of the whole cluster (AWS and Kubernetes) for the config."""
