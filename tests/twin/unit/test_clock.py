"""The sandbox's virtual clock: time runs `speed` times faster (or only when a client
asks, stepped), timers fire in order."""

from __future__ import annotations

import threading

import pytest

from ekstwin.clock import STEP_QUANTUM_SECONDS, VirtualClock


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


def _tick(clock: VirtualClock, hint: float | None = None) -> int:
    """The tick loop's idle path until time stops: returns how many jumps it made."""
    jumps = 0
    while True:
        clock.run_due()
        if not clock.step_idle(lambda: hint):
            return jumps
        jumps += 1


def test_a_stepped_clock_stands_still_until_asked_and_never_follows_the_wall() -> None:
    wall = FakeWall()
    clock = VirtualClock(600, start=0.0, wall=wall, stepped=True)
    clock.free_running = False
    wall.t += 100
    assert clock.now() == 0.0
    assert _tick(clock) == 0  # nobody asked: time does not move


def test_a_stepped_clock_fires_every_timer_at_its_instant_and_stops_at_the_target() -> None:
    clock = VirtualClock(1, start=0.0, stepped=True)
    clock.free_running = False
    fired: list[float] = []
    clock.call_at(1.2, lambda: fired.append(clock.now()))
    clock.call_at(2.0, lambda: fired.append(clock.now()))
    clock.call_at(9.0, lambda: fired.append(clock.now()))
    done: list[float] = []
    client = threading.Thread(target=lambda: done.append(clock.request_advance(3.0)))
    client.start()
    while client.is_alive():  # the tick loop, in this thread
        clock.run_due()
        clock.step_idle()
    assert fired == [1.2, 2.0]  # on time, not quantised
    assert done == [3.0] and clock.now() == 3.0


def test_a_stepped_clock_moves_by_quanta_and_hints_when_no_timer_is_due() -> None:
    clock = VirtualClock(1, start=0.0, stepped=True)  # free-running: the sandbox's setup
    clock.call_at(10.0, lambda: None)
    assert clock.step_idle(lambda: 0.2)
    assert clock.now() == pytest.approx(0.2)  # a controller's hint comes first
    assert clock.step_idle()
    assert clock.now() == pytest.approx(0.2 + STEP_QUANTUM_SECONDS)  # never more than a quantum


def test_only_a_stepped_clock_advances_on_request() -> None:
    with pytest.raises(ValueError, match="stepped"):
        VirtualClock(600).request_advance(1.0)
