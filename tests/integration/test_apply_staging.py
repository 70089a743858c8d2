"""`upgrader apply` on Staging: a failed stack update stops it (exit 4) and the re-run
completes; a held lock exits 6; a changed cluster exits 5."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.apply_harness import Cluster, assert_upgraded
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "staging", Cluster)


def test_staging_upgrade_stops_on_a_failed_stack_update_then_resumes_to_the_end(
    staging: Cluster,
) -> None:
    c = staging
    nodes_before, asg_before, watcher = c.planned()
    c.fault(
        {
            "fail_stack_update": {
                "stack": "staging-eks",
                "resource": "Cluster",
                "reason": "Resource handler returned message: boom",
            }
        }
    )
    code, events, stderr = c.apply()
    assert code == 4, stderr
    assert "Cluster" in stderr and "boom" in stderr  # the failing resource and its event
    started = time.monotonic()
    code, events, stderr = c.apply()
    elapsed = time.monotonic() - started
    watcher.finish()
    assert code == 0, stderr
    assert events[0]["kind"] == "start" and "resuming" in events[0]["message"]
    assert events[-1]["kind"] == "done"
    assert any(e["kind"] == "wave" for e in events)
    assert_upgraded(c, "1.13", "v1.5.", nodes_before)
    assert c.asg_state() == asg_before
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    assert min(watcher.lowest.values()) == 0  # some budget was used to its limit
    print(f"staging apply after the failed update: {elapsed:.1f} s wall")


def test_second_apply_exits_6_and_a_changed_cluster_exits_5(staging: Cluster) -> None:
    c = staging
    c.plan()
    lease = {
        "apiVersion": "coordination.k8s.io/v1beta1",
        "kind": "Lease",
        "metadata": {"name": "upgrader-lock", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "ci-runner-7/4242/abcd",
            "leaseDurationSeconds": 600,
            "renewTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        },
    }
    path = "/apis/coordination.k8s.io/v1beta1/namespaces/kube-system/leases"
    c.kube_request("POST", path, lease)
    code, _, stderr = c.apply()
    assert code == 6 and "ci-runner-7/4242/abcd" in stderr
    c.kube_request("DELETE", f"{path}/upgrader-lock")
    (group,) = c.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    c.asg.set_desired_capacity(
        AutoScalingGroupName=group["AutoScalingGroupName"],
        DesiredCapacity=group["DesiredCapacity"] + 1,
    )
    code, _, stderr = c.apply()
    assert code == 5 and "changed since the plan" in stderr
