"""`upgrader apply` killed with SIGKILL at ten points and re-run from scratch each time."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.integration.apply_harness import Cluster, Kill, assert_upgraded
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "staging", Cluster)


KILL_POINTS: list[tuple[str, Kill]] = [
    ("journal started", lambda e: e["kind"] == "start"),
    ("control-plane wait", lambda e: e.get("step") == "control-plane" and e["kind"] == "wait"),
    ("between stages", lambda e: e.get("step") == "kube-proxy" and e["kind"] == "step"),
    (
        "mid CNI rollout",
        lambda e: e.get("step", "").startswith("cni-") and "applied" in e["message"],
    ),
    (
        "node group stack",
        lambda e: e.get("step", "").startswith("nodegroup-stack") and "executing" in e["message"],
    ),
    ("wave start", lambda e: e["kind"] == "wave"),
    ("surge", lambda e: "Ready at" in e["message"] and e["kind"] == "wait"),
    ("mid drain", lambda e: "draining" in e["message"]),
    ("between terminations", lambda e: e["kind"] == "node" and "terminated" in e["message"]),
    ("verify", lambda e: e.get("step") == "verify" and e["kind"] == "step"),
]


def test_killed_anywhere_resumes_to_the_same_end(staging: Cluster) -> None:
    c = staging
    nodes_before = {n.spec.provider_id for n in c.core.list_node().items}
    asg_before = c.asg_state()
    c.plan()
    watcher = c.watcher("/apis/policy/v1beta1/poddisruptionbudgets")
    killed = []
    for name, point in KILL_POINTS:
        code, events, stderr = c.apply(kill=point)
        if code == 0:
            break  # the remaining points were passed without stopping there
        assert code == -signal.SIGKILL, (name, code, stderr)
        killed.append(name)
    code, events, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert len(killed) >= 8, killed
    assert_upgraded(c, "1.13", "v1.5.", nodes_before)
    assert c.asg_state() == asg_before
    terminated = [
        r for r in c.aws_requests() if r["action"] == "TerminateInstanceInAutoScalingGroup"
    ]
    assert len(terminated) == len(nodes_before)  # each old node once, never twice
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    again, events, _ = c.apply()  # the journal says done
    assert again == 0 and "already" in events[-1]["message"]
