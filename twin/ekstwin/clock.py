"""Virtual time for the sandbox: a 40-minute control-plane update takes seconds.

Virtual time runs ``speed`` times faster than wall time, starting at the wall
time the clock was made. Timers are callbacks due at a virtual instant; the
sandbox's tick loop calls :meth:`VirtualClock.run_due` to fire them.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_SPEED = 600.0


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Timer:
    """Handle to a scheduled callback; :meth:`cancel` stops it from firing."""

    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    @property
    def when(self) -> float:
        return self._timer.when

    def cancel(self) -> None:
        self._timer.cancelled = True


class VirtualClock:
    """Monotonic virtual clock with timers; thread-safe."""

    def __init__(
        self,
        speed: float = DEFAULT_SPEED,
        *,
        start: float | None = None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()
        self._start = time.time() if start is None else start
        self._offset = 0.0
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        return self._start + (self._wall() - self._wall0) * self.speed + self._offset

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def iso(self) -> str:
        """The virtual now as Kubernetes writes timestamps (RFC 3339, seconds, Z)."""
        return self.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")

    def advance(self, seconds: float) -> None:
        """Jump virtual time forward (tests; the tick loop never needs it)."""
        if seconds < 0:
            raise ValueError("virtual time never goes back")
        with self._lock:
            self._offset += seconds

    def call_at(self, when: float, fn: Callable[[], None]) -> Timer:
        timer = _Timer(when, next(self._seq), fn)
        with self._lock:
            heapq.heappush(self._timers, timer)
        return Timer(timer)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        return self.call_at(self.now() + delay, fn)

    def next_due(self) -> float | None:
        """Virtual instant of the earliest live timer, if any."""
        with self._lock:
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            return self._timers[0].when if self._timers else None

    def run_due(self) -> int:
        """Fire every timer due by now, in order; returns how many fired."""
        fired = 0
        while True:
            now = self.now()
            with self._lock:
                if not self._timers or self._timers[0].when > now:
                    return fired
                timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.fn()
                fired += 1

    def wall_seconds(self, virtual_seconds: float) -> float:
        """Wall time that ``virtual_seconds`` of virtual time takes."""
        return virtual_seconds / self.speed
