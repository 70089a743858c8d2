"""The poll loop and the clocks that pace it."""

from __future__ import annotations

from upgrader.polling import Backoff, poll


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_poll_backs_off_and_never_sleeps_past_the_deadline() -> None:
    clock = FakeClock()
    assert (
        poll(lambda: None, timeout=10, backoff=Backoff(first=1, factor=2, most=4), clock=clock)
        is None
    )
    assert clock.slept == [1, 2, 4, 3]


def test_poll_returns_the_first_value() -> None:
    answers = iter([None, False, "done"])
    clock = FakeClock()
    assert poll(lambda: next(answers), timeout=10, backoff=Backoff.every(1), clock=clock) == "done"
    assert clock.slept == [1, 1]
