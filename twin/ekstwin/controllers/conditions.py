"""Status conditions with Kubernetes' timestamp rules."""

from __future__ import annotations

from ekstwin.controllers.objects import Obj, iso


def find_condition(conditions: list[Obj], kind: str) -> Obj | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def set_condition(
    conditions: list[Obj],
    kind: str,
    status: str,
    reason: str,
    message: str,
    now: float,
    *,
    touch: bool = False,
    update_time: bool = True,
) -> list[Obj]:
    """A copy of ``conditions`` with ``kind`` set.

    ``lastTransitionTime`` moves only when the status flips; ``lastUpdateTime``
    (Deployment style, ``update_time``) when the reason or message change or on ``touch``.
    """
    old = find_condition(conditions, kind)
    stamp = iso(now)
    new: Obj = {"type": kind, "status": status, "reason": reason, "message": message}
    kept_since = old.get("lastTransitionTime", stamp) if old is not None else stamp
    new["lastTransitionTime"] = kept_since if old and old.get("status") == status else stamp
    if update_time:
        same = old is not None and old.get("reason") == reason and old.get("message") == message
        kept = old.get("lastUpdateTime", stamp) if old is not None and same else stamp
        new["lastUpdateTime"] = stamp if touch else kept
    if old is None:
        return [*conditions, new]
    return [new if c is old else c for c in conditions]
