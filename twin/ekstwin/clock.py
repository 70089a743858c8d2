"""Virtual time for the sandbox: a 40-minute control-plane update takes seconds.

Virtual time runs ``speed`` times faster than wall time, starting at the wall
time the clock was made. Timers are callbacks due at a virtual instant; the
sandbox's tick loop calls :meth:`VirtualClock.run_due` to fire them.

A *stepped* clock does not follow the wall clock at all: time stands still while clients
work, and moves only when a client asks for it (:meth:`VirtualClock.request_advance`,
behind ``POST /_sandbox/clock``) or, while :attr:`VirtualClock.free_running`, whenever the
world is idle (the sandbox's own setup). The tick loop jumps from timer to timer
(:meth:`VirtualClock.step_idle`), so a client's wait costs exactly the virtual time it
asked for and no wall time beyond the simulation's own work: benchmarks measure a
schedule, not the speed of the machine that runs it.
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
# The longest jump of a stepped clock: controllers that compare times on every pass
# without saying when (ipamd's cool-downs within its 5 s passes) see time move in steps
# no longer than this; the rest hint their instants (ControllerManager.next_wakeup).
STEP_QUANTUM_SECONDS = 2.0


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
        stepped: bool = False,
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
        self.stepped = stepped
        self.free_running = stepped  # until the sandbox has settled
        self._target: float | None = None
        self._reached = threading.Condition()

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        if self.stepped:
            return self._start + self._offset
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

    def step_idle(self, hint: Callable[[], float | None] = lambda: None) -> bool:
        """The tick loop found nothing to do: a stepped clock jumps to the next instant
        something is due (its timers, ``hint()`` from the controllers), at most
        :data:`STEP_QUANTUM_SECONDS` ahead and never past the instant a client asked for
        (while free-running, no client is needed). Returns whether time moved; wakes the
        client once its instant is reached."""
        if not self.stepped:
            return False
        now = self.now()
        due = min(
            (t for t in (self.next_due(), hint()) if t is not None and t > now),
            default=now + STEP_QUANTUM_SECONDS,
        )
        due = min(due, now + STEP_QUANTUM_SECONDS)
        with self._reached:
            target = self._target
            if target is not None and now >= target:
                self._target = None
                self._reached.notify_all()
                return False
            if target is None and not self.free_running:
                return False
            step = due - now if target is None else min(due, target) - now
            with self._lock:
                self._offset += step
            return True

    def request_advance(self, seconds: float, timeout: float = 60.0) -> float:
        """Let a stepped clock run ``seconds`` of virtual time, every timer in it fired and
        the world idle after each; returns the virtual now. Blocks the caller (wall time
        is the simulation's work, at most ``timeout`` seconds)."""
        if not self.stepped:
            raise ValueError("only a stepped clock advances on request")
        if seconds < 0:
            raise ValueError("virtual time never goes back")
        with self._reached:
            self._target = max(self._target or 0.0, self.now() + seconds)
            if not self._reached.wait_for(lambda: self._target is None, timeout=timeout):
                raise TimeoutError(f"the twin did not reach +{seconds:g} s in {timeout:g} s")
        return self.now()

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
