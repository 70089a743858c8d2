"""`upgrader apply` on Staging under the twin's fault knobs: throttled AWS and a load-shedding
API server are ridden out by the retries (exit 0); a node-group stack update that fails and
rolls back stops apply (exit 4, naming the step, the stack and the failing resource), and the
re-run completes. Each ends with nothing lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.apply_harness import Cluster, assert_nothing_lost
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration

SERVICES = ("ec2", "autoscaling", "cloudformation", "eks", "ssm", "sts", "iam")


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "staging", Cluster)


def test_throttled_aws_and_429s_from_the_api_server_are_ridden_out(staging: Cluster) -> None:
    c = staging
    nodes_before, asg_before, watcher = c.planned()
    c.fault({"aws_throttle": dict.fromkeys(SERVICES, 0.2)})
    c.kube_fault({"apiserver_429": 0.05})
    started = time.monotonic()
    code, events, stderr = c.apply()
    elapsed = time.monotonic() - started
    c.fault({"aws_throttle": {}})
    c.kube_fault({"apiserver_429": 0})
    assert code == 0, stderr
    assert events[-1]["kind"] == "done"
    throttled = [r for r in c.aws_requests() if r.get("fault") == "throttle"]
    shed = [r for r in c.kube_requests() if r["status"] == 429 and "eviction" not in r["path"]]
    assert len(throttled) > 20 and len(shed) > 5, (len(throttled), len(shed))
    assert_nothing_lost(c, watcher, nodes_before=nodes_before, asg_before=asg_before)
    print(
        f"apply under faults: {elapsed:.1f} s wall, {len(throttled)} AWS calls throttled, "
        f"{len(shed)} API requests answered 429"
    )


def test_a_failed_nodegroup_stack_update_is_exit_4_then_the_rerun_completes(
    staging: Cluster,
) -> None:
    c = staging
    nodes_before, asg_before, watcher = c.planned()
    reason = 'Resource handler returned message: "Internal Failure" (HandlerErrorCode: x)'
    c.fault(
        {
            "fail_stack_update": {
                "stack": "staging-workers",
                "resource": "NodeLaunchTemplate",
                "reason": reason,
            }
        }
    )
    code, events, stderr = c.apply()
    assert code == 4, stderr
    assert "Traceback" not in stderr
    assert "step nodegroup-stack-workers" in stderr
    assert "staging-workers" in stderr and "UPDATE_ROLLBACK_COMPLETE" in stderr
    assert "NodeLaunchTemplate (AWS::EC2::LaunchTemplate)" in stderr and reason in stderr
    assert "re-run apply" in stderr
    assert c.settled_stack("staging-workers")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert c.journal()["current"] == "nodegroup-stack-workers"
    assert c.asg_state() == asg_before
    # the twin's injected stack failure is one-shot: the next update of the stack succeeds
    code, events, stderr = c.apply()
    assert code == 0, stderr
    assert events[0]["kind"] == "start" and "resuming" in events[0]["message"]
    assert {e.get("step") for e in events} >= {"nodegroup-stack-workers", "verify"}
    assert "control-plane" not in {e.get("step") for e in events}
    assert_nothing_lost(c, watcher, nodes_before=nodes_before, asg_before=asg_before)
