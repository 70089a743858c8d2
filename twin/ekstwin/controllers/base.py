"""The controller protocol and the manager that runs controllers in level-triggered passes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ekstwin.clock import VirtualClock
from ekstwin.kubeapi import Store


class Controller(Protocol):
    """Brings the store toward the desired state in one pass; True when it wrote something."""

    name: str

    def reconcile(self, now: float) -> bool: ...


@runtime_checkable
class Timed(Protocol):
    """A controller that may skip passes: it only needs to run on store changes or timers.

    ``next_wakeup`` is the earliest virtual instant at which it has timed work
    (``None`` for none). Controllers without it run on every pass.
    """

    def next_wakeup(self) -> float | None: ...


class ControllerManager:
    """Runs controllers in order, pass after pass, under the store lock.

    Level-triggered: every reconcile reads the store afresh. A :class:`Timed`
    controller is skipped when ``store.generation`` has not moved since its last
    run and its wakeup is not due, so a quiet cluster costs almost nothing.
    """

    def __init__(
        self, store: Store, clock: VirtualClock, controllers: Sequence[Controller]
    ) -> None:
        self.store = store
        self.clock = clock
        self.controllers = list(controllers)
        self._seen: dict[int, int] = {}

    def _due(self, controller: Controller, now: float) -> bool:
        seen = self._seen.get(id(controller))
        if seen is None or seen != self.store.generation or not isinstance(controller, Timed):
            return True
        wakeup = controller.next_wakeup()
        return wakeup is not None and wakeup <= now

    def step(self) -> bool:
        """One pass over every controller; True when any of them wrote."""
        changed = False
        for controller in self.controllers:
            with self.store.lock:
                now = self.clock.now()
                if not self._due(controller, now):
                    continue
                generation = self.store.generation
                wrote = controller.reconcile(now)
                self._seen[id(controller)] = generation
            changed = changed or wrote
        return changed

    def next_wakeup(self) -> float | None:
        """The earliest instant any controller has timed work (a stepped clock's hint)."""
        times = []
        for controller in self.controllers:
            for name in ("next_wakeup", "next_event"):
                fn = getattr(controller, name, None)
                if fn is not None and (t := fn()) is not None:
                    times.append(t)
        return min(times, default=None)

    def settle(self, max_passes: int = 50) -> int:
        """Run passes until one changes nothing; returns the passes that changed something."""
        for passes in range(max_passes):
            if not self.step():
                return passes
        return max_passes
