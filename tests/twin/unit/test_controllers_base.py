"""Controller manager and Event recorder; also the harness the other controller tests import.

The harness is an in-process cluster: a real Store on a virtual clock that only
moves when a test advances it, N Ready r5.xlarge nodes (58 pods each, the ENI
limit) and a fake kubelet that runs bound pods and finalises terminating ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ekstwin.clock import VirtualClock
from ekstwin.controllers.base import ControllerManager
from ekstwin.controllers.events import EventRecorder
from ekstwin.controllers.objects import is_deleting, iso, parse_time
from ekstwin.controllers.pods import is_available
from ekstwin.controllers.standard import status_controllers, workload_controllers
from ekstwin.kubeapi import Store
from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.catalog import instances
from upgrader.semver import Version

Obj = dict[str, Any]
START = 1_600_000_000.0
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
NS = "app"


def r5_xlarge_max_pods() -> int:
    inst = instances.bundled().get("r5.xlarge")
    return max_pods(inst, CniSettings(version=Version.parse("v1.5.5"))).value


class FakeKubelet:
    """Marks bound pods Running and Ready; removes terminating pods once their grace ends."""

    name = "fake-kubelet"

    def __init__(self, store: Store) -> None:
        self.store = store
        self.hold_images: set[str] = set()  # pods running these images never start

    def reconcile(self, now: float) -> bool:
        wrote = False
        for pod in self.store.list("pods"):
            name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
            if is_deleting(pod):
                if (parse_time(pod["metadata"]["deletionTimestamp"]) or 0) <= now:
                    self.store.delete("pods", name, namespace=ns, grace_period_seconds=0)
                    wrote = True
            elif (
                pod["spec"].get("nodeName")
                and pod["status"].get("phase") == "Pending"
                and pod["spec"]["containers"][0]["image"] not in self.hold_images
            ):
                ready = {"type": "Ready", "status": "True", "lastTransitionTime": iso(now)}
                kept = [x for x in pod["status"].get("conditions", []) if x["type"] != "Ready"]
                status = {"phase": "Running", "podIP": "10.0.0.1", "conditions": [*kept, ready]}
                self.store.patch(
                    "pods", name, {"status": status}, namespace=ns, subresource="status"
                )
                wrote = True
        return wrote


@dataclass
class Cluster:
    """A Store, a virtual clock that moves only on :meth:`advance`, controllers and nodes."""

    version: str = "1.12"
    clock: VirtualClock = field(init=False)
    store: Store = field(init=False)
    kubelet: FakeKubelet = field(init=False)
    manager: ControllerManager = field(init=False)

    def __post_init__(self) -> None:
        self.clock = VirtualClock(wall=lambda: 0.0, start=START)
        self.store = Store(kubernetes_version=self.version, now=self.clock.now, seed=1)
        self.store.create("namespaces", {"metadata": {"name": NS}})
        self.kubelet = FakeKubelet(self.store)
        rng = random.Random(7)
        controllers = [
            *workload_controllers(self.store, rng),
            self.kubelet,
            *status_controllers(self.store),
        ]
        self.manager = ControllerManager(self.store, self.clock, controllers)

    # -- nodes ---------------------------------------------------------------------------

    def add_node(
        self,
        name: str,
        zone: str = ZONES[0],
        *,
        pods: int | None = None,
        cpu: str = "3920m",
        memory: str = "31Gi",
        ready: bool = True,
        taints: list[Obj] | None = None,
        labels: dict[str, str] | None = None,
    ) -> Obj:
        node = {
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "topology.kubernetes.io/zone": zone,
                    "failure-domain.beta.kubernetes.io/zone": zone,
                    "node.kubernetes.io/instance-type": "r5.xlarge",
                    **(labels or {}),
                },
            },
            "spec": {"taints": taints or []},
            "status": {
                "allocatable": {
                    "cpu": cpu,
                    "memory": memory,
                    "pods": str(r5_xlarge_max_pods() if pods is None else pods),
                },
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            },
        }
        return self.store.create("nodes", node)

    def add_nodes(self, count: int, **kw: Any) -> list[str]:
        names = [f"ip-10-0-{i}-10.ec2.internal" for i in range(count)]
        for i, name in enumerate(names):
            self.add_node(name, ZONES[i % len(ZONES)], **kw)
        return names

    def patch_node(self, name: str, body: Obj) -> None:
        self.store.patch("nodes", name, body)

    # -- running -------------------------------------------------------------------------

    def busy(self) -> bool:
        """Pods still terminating, or a controller waiting for minReadySeconds / a timer."""
        if any(is_deleting(p) for p in self.store.list("pods")):
            return True
        return any(
            getattr(c, "next_wakeup", lambda: None)() is not None
            for c in self.manager.controllers
            if c.name not in ("scheduler", "deployment-controller")
        )

    def run(
        self, check: Callable[[], None] | None = None, *, dt: float = 5.0, limit: int = 400
    ) -> int:
        """Pass after pass, ``dt`` virtual seconds apart, until nothing changes or waits.

        ``check`` runs after every pass. Returns the number of passes.
        """
        for passes in range(1, limit + 1):
            changed = self.manager.step()
            if check is not None:
                check()
            if not changed and not self.busy():
                return passes
            self.clock.advance(dt)
        raise AssertionError(f"cluster did not settle in {limit} passes")

    # -- reading -------------------------------------------------------------------------

    def pods(self, **selector: str) -> list[Obj]:
        return [
            p
            for p in self.store.list("pods", namespace=NS)
            if all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]

    def active(self, **selector: str) -> list[Obj]:
        return [
            p
            for p in self.pods(**selector)
            if not is_deleting(p) and p["status"].get("phase") not in ("Succeeded", "Failed")
        ]

    def available(self, min_ready: int = 0, **selector: str) -> list[Obj]:
        return [p for p in self.pods(**selector) if is_available(p, min_ready, self.clock.now())]

    def events(self, reason: str) -> list[Obj]:
        return [e for e in self.store.list("events") if e["reason"] == reason]


def pod_template(app: str, *, image: str = "nginx:1.15", cpu: str | None = None) -> Obj:
    container: Obj = {"name": app, "image": image}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu, "memory": "64Mi"}}
    return {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container]}}


def deployment(
    name: str, replicas: int, *, strategy: Obj | None = None, min_ready: int = 0, **kw: Any
) -> Obj:
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": pod_template(name, **kw),
        "minReadySeconds": min_ready,
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def bare_pod(name: str, **spec: Any) -> Obj:
    return {
        "metadata": {"name": name, "labels": {"app": "bare"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


# -- tests of the manager and the recorder ------------------------------------------------


class _Counting:
    """A Timed controller that writes ``writes`` times, then only counts its runs."""

    name = "counting"

    def __init__(self, store: Store, writes: int, wakeup: float | None = None) -> None:
        self.store, self.writes, self.wakeup, self.runs = store, writes, wakeup, 0

    def next_wakeup(self) -> float | None:
        return self.wakeup

    def reconcile(self, now: float) -> bool:
        self.runs += 1
        if self.writes <= 0:
            return False
        self.writes -= 1
        self.store.create(
            "events", {"metadata": {"generateName": "x-"}, "reason": "R"}, namespace="default"
        )
        return True


def test_settle_counts_changing_passes_and_stops_when_quiet() -> None:
    c = Cluster()
    counting = _Counting(c.store, writes=3)
    manager = ControllerManager(c.store, c.clock, [counting])
    assert manager.settle() == 3
    assert counting.runs == 4  # the fourth pass found nothing to do
    assert manager.settle() == 0
    assert counting.runs == 4  # store unchanged and no timer due: skipped


def test_timed_controller_runs_again_when_its_wakeup_is_due_or_the_store_moves() -> None:
    c = Cluster()
    counting = _Counting(c.store, writes=0, wakeup=START + 30)
    manager = ControllerManager(c.store, c.clock, [counting])
    manager.step()
    manager.step()
    assert counting.runs == 1
    c.clock.advance(30)
    manager.step()
    assert counting.runs == 2
    c.store.create("namespaces", {"metadata": {"name": "other"}})
    counting.wakeup = None
    manager.step()
    manager.step()
    assert counting.runs == 3


def test_settle_gives_up_after_max_passes() -> None:
    c = Cluster()
    manager = ControllerManager(c.store, c.clock, [_Counting(c.store, writes=100)])
    assert manager.settle(max_passes=5) == 5


def test_events_are_deduplicated_with_a_count_and_timestamps_from_the_virtual_clock() -> None:
    c = Cluster()
    pod = c.store.create("pods", bare_pod("p1"), namespace=NS)
    recorder = EventRecorder(c.store, "default-scheduler")
    recorder.record(
        pod, "FailedScheduling", "0/1 nodes are available: 1 Too many pods.", START, type="Warning"
    )
    recorder.record(
        pod,
        "FailedScheduling",
        "0/1 nodes are available: 1 Too many pods.",
        START + 60,
        type="Warning",
    )
    recorder.record(pod, "Scheduled", "Successfully assigned app/p1 to n1", START + 61)
    failed = c.events("FailedScheduling")
    assert len(failed) == 1
    event = failed[0]
    assert event["metadata"]["namespace"] == NS
    assert event["metadata"]["name"].startswith("p1.")
    assert event["involvedObject"] == {
        "kind": "Pod",
        "namespace": NS,
        "name": "p1",
        "uid": pod["metadata"]["uid"],
        "apiVersion": "v1",
        "resourceVersion": pod["metadata"]["resourceVersion"],
    }
    assert (event["type"], event["count"]) == ("Warning", 2)
    assert event["firstTimestamp"] == "2020-09-13T12:26:40Z"
    assert event["lastTimestamp"] == "2020-09-13T12:27:40Z"
    assert event["source"] == {"component": "default-scheduler"}
    assert len(c.events("Scheduled")) == 1


def test_node_events_go_to_the_default_namespace() -> None:
    c = Cluster()
    node = c.add_node("n1")
    EventRecorder(c.store, "node-controller").record(node, "NodeNotReady", "Node n1 status", START)
    (event,) = c.events("NodeNotReady")
    assert event["metadata"]["namespace"] == "default"
    assert "namespace" not in event["involvedObject"]


def test_harness_nodes_take_the_r5_xlarge_eni_limit() -> None:
    assert r5_xlarge_max_pods() == 58
    c = Cluster()
    (name,) = c.add_nodes(1)
    assert c.store.get("nodes", name)["status"]["allocatable"]["pods"] == "58"
