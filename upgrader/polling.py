"""Waiting for something outside to happen: one poll loop with back-off, on a clock that
tests can replace."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """Monotonic seconds and sleeping: the wall clock, or a test's fake one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class WallClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


WALL = WallClock()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds between polls: ``first``, times ``factor`` after each poll, up to ``most``."""

    first: float
    factor: float = 1.0
    most: float = 5.0

    @classmethod
    def every(cls, seconds: float) -> Backoff:
        return cls(first=seconds, factor=1.0, most=seconds)


def poll(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    backoff: Backoff,
    clock: Clock = WALL,
    on_wait: Callable[[float], None] | None = None,
) -> T | None:
    """Call ``probe`` until it returns something other than None or False, and return it;
    None once ``timeout`` seconds have passed. ``on_wait(seconds_left)`` runs before every
    sleep, which never goes past the deadline."""
    deadline = clock.monotonic() + timeout
    delay = backoff.first
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        left = deadline - clock.monotonic()
        if left <= 0:
            return None
        if on_wait is not None:
            on_wait(left)
        clock.sleep(min(delay, left))
        delay = min(delay * backoff.factor, backoff.most)
