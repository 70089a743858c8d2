"""The timing model the twin simulates and the benchmarks' lower bound uses."""

from __future__ import annotations

from ekstwin.aws import fidelity
from ekstwin.controllers import kubelet, nodes
from upgrader.catalog.timing import MODEL, TimingModel


def test_the_twin_simulates_the_model() -> None:
    assert MODEL.node_boot == nodes.BOOT_SECONDS
    assert (MODEL.pod_start, MODEL.pod_stop) == (kubelet.START_SECONDS, kubelet.STOP_SECONDS)
    assert MODEL.termination == fidelity.SHUTTING_DOWN_SECONDS


def test_budgets_serialise_evictions_into_rounds() -> None:
    model = TimingModel(node_boot=60, pod_start=3, pod_stop=2, termination=20)
    assert [model.eviction_rounds(p, 1) for p in (0, 1, 5)] == [0, 1, 5]
    assert model.eviction_rounds(10, 3) == 4
    assert model.wave_seconds() == 60 + 3 + 3 + 2 + 20
    # 3 waves of boot + aws-node start, 2 terminations, 12 replacements started, a stop
    assert model.roll_seconds(3, 12) == 3 * 63 + 2 * 20 + 12 * 3 + 2
    assert model.roll_seconds(3, 1) == 3 * 63 + 2 * 20 + 3 * 3 + 2  # a round per wave at least
    assert model.roll_seconds(1, 0) == 63 + 3 + 2
    assert model.roll_seconds(0, 5) == 0
