"""The sandbox's virtual clock: time runs `speed` times faster, timers fire in order."""

from __future__ import annotations

import pytest

from ekstwin.clock import VirtualClock


class FakeWall:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_virtual_time_runs_speed_times_faster_and_jumps() -> None:
    wall = FakeWall()
    clock = VirtualClock(600, start=0.0, wall=wall)
    wall.t += 4.0  # 4 s of wall time: a 40-minute control-plane update
    assert clock.now() == pytest.approx(2400.0)
    clock.advance(60)
    assert clock.now() == pytest.approx(2460.0)
    assert clock.wall_seconds(2400) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(-1)


def test_timers_fire_in_order_once_due_and_can_be_cancelled() -> None:
    wall = FakeWall()
    clock = VirtualClock(1, start=0.0, wall=wall)
    fired: list[str] = []
    clock.call_at(20, lambda: fired.append("b"))
    clock.call_at(10, lambda: fired.append("a"))
    cancelled = clock.call_later(15, lambda: fired.append("never"))
    cancelled.cancel()
    assert clock.run_due() == 0
    assert clock.next_due() == 10
    wall.t += 25
    assert clock.run_due() == 2
    assert fired == ["a", "b"]
    assert clock.next_due() is None


def test_iso_is_kubernetes_rfc3339() -> None:
    clock = VirtualClock(1, start=0.0, wall=FakeWall())
    assert clock.iso() == "1970-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        VirtualClock(0)
