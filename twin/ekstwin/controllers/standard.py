"""The stock controller set, in the order a manager pass should run them."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ekstwin.controllers.base import Controller
from ekstwin.controllers.daemonsets import DaemonSetController
from ekstwin.controllers.disruption import DisruptionController
from ekstwin.controllers.gc import GarbageCollector
from ekstwin.controllers.scheduler import Scheduler
from ekstwin.controllers.workloads import DeploymentController, ReplicaSetController
from ekstwin.kubeapi import Store


def workload_controllers(
    store: Store, rng: random.Random, before_scheduler: Sequence[Controller] = ()
) -> list[Controller]:
    """GC, Deployments, ReplicaSets, DaemonSets, ``before_scheduler`` and the scheduler.

    Run node lifecycle before these and the kubelet after them, then
    :func:`status_controllers`, so one pass carries a change all the way through.
    """
    return [
        GarbageCollector(store),
        DeploymentController(store),
        ReplicaSetController(store, rng),
        DaemonSetController(store, rng),
        *before_scheduler,
        Scheduler(store),
    ]


def status_controllers(store: Store) -> list[Controller]:
    """Controllers that only summarise pods into status: PodDisruptionBudgets."""
    return [DisruptionController(store)]
