"""Turn committed store events into the watch events one watcher should see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ekstwin.kubeapi.watchcache import WatchEvent

# (visible now, visible before) -> event type sent for a MODIFIED change
_MODIFIED_AS = {(True, True): "MODIFIED", (True, False): "ADDED", (False, True): "DELETED"}


class WatchFilter:
    """Namespace and selector filtering that, like the real server, turns an object moving
    into the selection into ADDED and one moving out into DELETED."""

    def __init__(
        self,
        resource: str,
        namespace: str | None,
        labels: Callable[[dict[str, Any]], bool],
        fields: Callable[[dict[str, Any]], bool],
    ) -> None:
        self.resource = resource
        self.namespace = namespace
        self._labels = labels
        self._fields = fields

    def visible(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self._labels(obj) and self._fields(obj)

    def translate(self, event: WatchEvent) -> tuple[str, dict[str, Any]] | None:
        """``(type, object)`` to send for ``event``, or ``None`` to skip it."""
        if event.resource != self.resource:
            return None
        now = self.visible(event.obj)
        if event.type == "ADDED":
            return ("ADDED", event.obj) if now else None
        if event.type == "DELETED":
            return ("DELETED", event.obj) if now else None
        before = self.visible(event.prev)
        if not (now or before):
            return None
        return _MODIFIED_AS[(now, before)], event.obj
