"""The bounded event history watches resume from, like kube-apiserver's watch cache.

Each resource type keeps its newest events: at most ``max_events``, and beyond the newest
``min_events`` none older than ``max_age_seconds`` on the store's clock (the apiserver's
cache likewise never shrinks below its lower bound of 100 events, however old they are).
A watch (or an exact list) from a resourceVersion older than the newest event dropped for
its type cannot be served: the client gets 410 ``Expired`` and relists.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One committed change; ``obj`` and ``prev`` are shared, read-only snapshots."""

    rv: int
    type: str
    resource: str
    obj: dict[str, Any]
    prev: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class WatchCacheLimits:
    """The window per resource type. The apiserver's cache held 100 events per type
    (``--default-watch-cache-size``) until 1.19, then sized itself between 100 and
    102400 to keep 75 s of events; etcd compacts its history every 5 minutes."""

    max_events: int = 500
    min_events: int = 100
    max_age_seconds: float = 300.0


class WatchCache:
    """Per-resource-type event windows; call with the store lock held."""

    def __init__(self, limits: WatchCacheLimits, now: Callable[[], float]) -> None:
        self.limits = limits
        self._now = now
        self._events: dict[str, deque[tuple[float, WatchEvent]]] = {}
        self._floors: dict[str, int] = {}

    def add(self, event: WatchEvent) -> None:
        window = self._events.setdefault(event.resource, deque())
        window.append((self._now(), event))
        self._trim(event.resource)

    def floor(self, resource: str) -> int:
        """The newest resourceVersion dropped for ``resource`` (0 when none was)."""
        self._trim(resource)
        return self._floors.get(resource, 0)

    def events_after(self, resource: str, rv: int) -> list[WatchEvent] | None:
        """``resource``'s events newer than ``rv`` in order; ``None`` when some are gone."""
        if rv < self.floor(resource):
            return None
        newer: list[WatchEvent] = []
        for _, event in reversed(self._events.get(resource, ())):
            if event.rv <= rv:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def _trim(self, resource: str) -> None:
        window = self._events.get(resource)
        if not window:
            return
        limits = self.limits
        oldest_allowed = self._now() - limits.max_age_seconds
        while window and (
            len(window) > limits.max_events
            or (len(window) > limits.min_events and window[0][0] < oldest_allowed)
        ):
            _, dropped = window.popleft()
            self._floors[resource] = dropped.rv
