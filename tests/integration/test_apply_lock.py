"""Two applies from two hosts (two lock-holder identities): the second exits 6 while the
first runs and while its lease lasts after the first dies; once the lease has expired, the
second takes the lock over and resumes the first one's journal to the end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.apply_harness import Cluster, assert_nothing_lost
from tests.support.sandbox_clients import sandbox
from upgrader.executor.journal import LOCK_NAME, NAMESPACE
from upgrader.executor.session import LEASE_SECONDS

pytestmark = pytest.mark.integration

HOST_A = "ci-runner-a/4242/aaaa1111"
HOST_B = "ci-runner-b/777/bbbb2222"
LEASE = f"/apis/coordination.k8s.io/v1beta1/namespaces/{NAMESPACE}/leases/{LOCK_NAME}"


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "staging", Cluster)


def _expire(c: Cluster) -> None:
    """Let the lease run out: its last renewal moved LEASE_SECONDS + 5 s into the past, as
    a dead holder's lease looks that long after its last renewal (the lease is judged on the
    contenders' clocks, not the twin's)."""
    lease = c.kube_request("GET", LEASE)
    past = datetime.now(UTC) - timedelta(seconds=LEASE_SECONDS + 5)
    lease["spec"]["renewTime"] = past.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    c.kube_request("PUT", LEASE, lease)


def test_a_second_host_is_locked_out_then_takes_over_an_expired_lease(
    staging: Cluster,
) -> None:
    c = staging
    nodes_before, asg_before, watcher = c.planned()
    while_running: dict[str, Any] = {}

    def second_apply() -> None:  # A is alive (stopped mid-drain) and holds the lock
        while_running["result"] = c.apply(holder=HOST_B)

    code, _, stderr = c.apply(  # then A dies (SIGKILL) mid-drain
        lambda e: "draining" in e["message"], holder=HOST_A, before_kill=second_apply
    )
    assert code == -9, stderr
    code, events, stderr = while_running["result"]
    assert code == 6, stderr
    assert HOST_A in stderr and "Traceback" not in stderr and events == []
    assert c.kube_request("GET", LEASE)["spec"]["holderIdentity"] == HOST_A

    code, _, stderr = c.apply(holder=HOST_B)  # A is dead, but its lease still runs
    assert code == 6 and HOST_A in stderr, stderr

    _expire(c)
    started = time.monotonic()
    code, events, stderr = c.apply(holder=HOST_B)
    assert code == 0, stderr
    assert events[0]["kind"] == "start" and "resuming after" in events[0]["message"]
    assert events[-1]["kind"] == "done"
    lease = c.kube_request("GET", LEASE)["spec"]
    assert lease["leaseTransitions"] >= 1 and not lease.get("holderIdentity")  # released
    assert_nothing_lost(c, watcher, nodes_before=nodes_before, asg_before=asg_before)
    print(f"take-over and resume: {time.monotonic() - started:.1f} s wall")
