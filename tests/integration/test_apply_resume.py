"""`upgrader apply` killed with SIGKILL at 28 distinct points of a Staging upgrade, each
followed by a re-run that resumes from the cluster's journal; the last run reaches the same
end state as an apply never killed, with nothing lost."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.apply_harness import Cluster, Kill, assert_nothing_lost
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
Event = dict[str, Any]


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "staging", Cluster)


@dataclass(frozen=True)
class Point:
    """Kill at the ``nth`` event of a run that ``matches``."""

    name: str
    matches: Callable[[Event], bool]
    nth: int = 1

    def kill(self) -> Kill:
        seen = 0

        def at(event: Event) -> bool:
            nonlocal seen
            seen += self.matches(event)
            return seen == self.nth

        return at


def _in(step: str, kind: str, text: str = "") -> Callable[[Event], bool]:
    """An event of ``kind`` in a step whose id starts with ``step``, saying ``text``."""
    return lambda e: (
        str(e.get("step", "")).startswith(step) and e["kind"] == kind and text in e["message"]
    )


# In the order a Staging apply passes them; every one must be reached.
KILL_POINTS = [
    Point("journal started", lambda e: e["kind"] == "start"),
    Point("control plane begins", _in("control-plane", "step")),
    Point("control-plane change set executing", _in("control-plane", "info", "executing")),
    Point("control-plane stack updating", _in("control-plane", "wait", "UPDATE_IN_PROGRESS")),
    Point("control-plane stack done, EKS not checked", _in("control-plane", "info", "COMPLETE")),
    Point("control plane at target, step not finished", _in("control-plane", "info", "at 1.13")),
    Point("between stages", _in("kube-proxy", "step")),
    Point("mid kube-proxy rollout", _in("kube-proxy", "info", "applied")),
    Point("first CNI minor begins", _in("cni-v1.4.1", "step")),
    Point("mid CNI rollout, no node gated", _in("cni-v1.4.1", "info", "applied")),
    Point("mid CNI rollout, one node gated", _in("cni-v1.4.1", "gate", "POD001 ok")),
    Point("between CNI minor steps", _in("cni-v1.5.5", "step")),
    Point("second CNI minor applied", _in("cni-v1.5.5", "info", "applied")),
    Point("second CNI minor, second node gated", _in("cni-v1.5.5", "gate", "POD001 ok"), nth=2),
    Point("node-group stack begins", _in("nodegroup-stack", "step")),
    Point("node-group change set executing", _in("nodegroup-stack", "info", "executing")),
    Point("node-group stack done", _in("nodegroup-stack", "info", "COMPLETE")),
    Point("roll begins", _in("nodegroup-roll", "step")),
    Point("wave chosen, before the surge", _in("nodegroup-roll", "wave")),
    Point("between surge and drain", _in("nodegroup-roll", "wait", "Ready at")),
    Point("cordoned, drain starting", _in("nodegroup-roll", "info", "draining")),
    Point("mid drain, a PDB refusing", _in("nodegroup-roll", "wait", "refuses to evict")),
    Point("mid drain, PDBs refused twice", _in("nodegroup-roll", "wait", "refuses"), nth=2),
    Point("between terminations", _in("nodegroup-roll", "node", "terminated")),
    Point("during restore", _in("nodegroup-roll", "info", "restored ASG")),
    Point("roll done, step not finished", _in("nodegroup-roll", "info", "every node at")),
    Point("verify begins", _in("verify", "step")),
    Point("after the last step, before done", _in("verify", "info", "verified")),
]


def test_killed_at_28_points_each_rerun_resumes_to_the_same_end(staging: Cluster) -> None:
    c = staging
    nodes_before, asg_before, watcher = c.planned()
    started = time.monotonic()
    killed = []
    for point in KILL_POINTS:
        code, events, stderr = c.apply(kill=point.kill())
        assert code == -signal.SIGKILL, (point.name, code, stderr, events[-3:])
        killed.append(point.name)
    code, events, stderr = c.apply()
    elapsed = time.monotonic() - started
    assert code == 0, stderr
    assert events[0]["kind"] == "start" and "resuming after" in events[0]["message"]
    assert len(set(killed)) == len(KILL_POINTS) >= 20
    assert_nothing_lost(c, watcher, nodes_before=nodes_before, asg_before=asg_before)
    again, events, _ = c.apply()  # the journal says done
    assert again == 0 and "already" in events[-1]["message"]
    print(f"{len(killed)} kills and re-runs: {elapsed:.1f} s wall")
