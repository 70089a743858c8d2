"""Recording core/v1 Events the way client-go's recorder does: dedupe repeats, count them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ekstwin.controllers.objects import Obj, iso, name_of, namespace_of, uid_of
from ekstwin.kubeapi import ApiError, Store

NORMAL, WARNING = "Normal", "Warning"


@dataclass(slots=True)
class EventRecorder:
    """Writes Events for one component (``default-scheduler``, ``deployment-controller``...).

    A repeat of the same involved object, reason and message bumps ``count`` and
    ``lastTimestamp`` of the first Event instead of creating another. Events are
    best effort, as in Kubernetes: a failed write never fails the controller.
    """

    store: Store
    component: str
    host: str = ""
    _seen: dict[tuple[str, str, str, str, str], str] = field(default_factory=dict)
    _seq: int = 0

    def record(
        self, obj: Obj, reason: str, message: str, now: float, *, type: str = NORMAL
    ) -> None:
        """Record one occurrence of ``reason``/``message`` about ``obj`` at virtual ``now``."""
        kind = str(obj.get("kind", ""))
        namespace = namespace_of(obj) or "default"
        key = (kind, namespace, uid_of(obj) or name_of(obj), reason, message)
        stamp = iso(now)
        try:
            known = self._seen.get(key)
            event = self.store.find("events", known, namespace=namespace) if known else None
            if event is not None:
                self.store.patch(
                    "events",
                    known or "",
                    {"count": int(event.get("count") or 1) + 1, "lastTimestamp": stamp},
                    namespace=namespace,
                )
                return
            self._seq += 1
            # client-go names Events "<object>.<unix nanos in hex>"; seq splits same-instant ones
            name = f"{name_of(obj)}.{int(now * 1e9) + self._seq:x}"
            self.store.create(
                "events",
                self._event(obj, name, namespace, reason, message, stamp, type),
                namespace=namespace,
            )
            self._seen[key] = name
        except ApiError:
            return

    def _event(
        self, obj: Obj, name: str, namespace: str, reason: str, message: str, stamp: str, type: str
    ) -> Obj:
        involved: Obj = {
            "kind": obj.get("kind", ""),
            "name": name_of(obj),
            "uid": uid_of(obj),
            "apiVersion": obj.get("apiVersion", ""),
            "resourceVersion": obj.get("metadata", {}).get("resourceVersion", ""),
        }
        if namespace_of(obj):
            involved["namespace"] = namespace_of(obj)
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type,
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": source,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
