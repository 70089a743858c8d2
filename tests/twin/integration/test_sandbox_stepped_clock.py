"""A stepped sandbox: its clock stands still while clients work and runs exactly the
virtual seconds a client's :class:`~upgrader.sandbox.clock.TwinClock` sleeps, every timer
and controller on time, so waiting measures the world's timing model, not the machine."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.catalog.timing import NODE_BOOT_SECONDS
from upgrader.polling import Backoff, poll
from upgrader.sandbox.clock import TwinClock

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "staging", stepped=True)


def _stamp(live: SandboxClients) -> float:
    made = live.core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="probe-"))
    )
    return float(made.metadata.creation_timestamp.timestamp())


def test_time_stands_still_between_sleeps_and_moves_by_what_was_asked(
    live: SandboxClients,
) -> None:
    clock = TwinClock(live.env["AWS_ENDPOINT_URL"])
    before = _stamp(live)
    time.sleep(1.5)  # wall time: the twin's clock does not see it
    assert _stamp(live) == before
    start = clock.monotonic()
    clock.sleep(90.0)
    assert clock.monotonic() == pytest.approx(start + 90.0)
    assert _stamp(live) - before == pytest.approx(90.0, abs=1.0)  # whole seconds


def test_a_new_node_is_ready_one_boot_after_its_launch_in_virtual_time(
    live: SandboxClients,
) -> None:
    clock = TwinClock(live.env["AWS_ENDPOINT_URL"])
    (group,) = live.asg.describe_auto_scaling_groups()["AutoScalingGroups"][:1]
    before = {n.metadata.name for n in live.core.list_node().items}
    live.asg.set_desired_capacity(
        AutoScalingGroupName=group["AutoScalingGroupName"],
        DesiredCapacity=group["DesiredCapacity"] + 1,
        HonorCooldown=False,
    )
    launched = clock.monotonic()

    def ready() -> bool:
        return any(
            n.metadata.name not in before
            and any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
            for n in live.core.list_node().items
        )

    assert poll(ready, timeout=600, backoff=Backoff.every(1.0), clock=clock)
    took = clock.monotonic() - launched
    assert NODE_BOOT_SECONDS <= took <= NODE_BOOT_SECONDS + 5, took
