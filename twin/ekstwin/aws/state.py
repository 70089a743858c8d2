"""State the moto patches share with the twin: clock, lock, deferred hooks, long operations.

moto's backends are process-global, so the patches look up the one active twin here.
Only one twin runs per process at a time (``activate`` refuses a second one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ekstwin.aws.views import TwinHooks
from ekstwin.clock import Timer, VirtualClock

LOG = logging.getLogger("ekstwin.aws")


def epoch(moment: datetime) -> float:
    """Seconds since the epoch of a time as moto stores it (naive UTC, whatever the local zone)."""
    return moment.replace(tzinfo=UTC).timestamp() if moment.tzinfo is None else moment.timestamp()


@dataclass(slots=True)
class EksUpdate:
    """One EKS update as DescribeUpdate shows it."""

    id: str
    type: str
    params: list[dict[str, str]]
    created_at: datetime
    cluster: str
    nodegroup: str | None = None
    status: str = "InProgress"
    errors: list[dict[str, Any]] = field(default_factory=list)
    finished_at: datetime | None = None
    before: tuple[str, str] | None = None  # (version, platform) a version update left

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "params": self.params,
            "createdAt": epoch(self.created_at),
            "errors": self.errors,
        }


class Operation:
    """Something that takes virtual time (a control-plane or rolling update).

    While any operation started during a stack update is pending, the stack stays
    ``UPDATE_IN_PROGRESS``; ``finish`` calls the listeners once.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = False
        self.failure: str | None = None
        self._listeners: list[Callable[[Operation], None]] = []

    def on_finish(self, listener: Callable[[Operation], None]) -> None:
        if self.done:
            listener(self)
        else:
            self._listeners.append(listener)

    def finish(self, failure: str | None = None) -> None:
        if self.done:
            return
        self.done = True
        self.failure = failure
        for listener in self._listeners:
            listener(self)
        self._listeners.clear()


@dataclass(slots=True)
class TwinState:
    """Everything a patch needs to act like AWS rather than like moto."""

    clock: VirtualClock
    account_id: str
    region: str
    hooks: TwinHooks
    control_plane_update_seconds: float
    kube_endpoint: str
    kube_ca_data: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    deferred: list[Callable[[], None]] = field(default_factory=list)
    # operations started by the resource updates of the stack update now running
    collecting: list[Operation] | None = None
    # old resolved resource JSON (by logical id) of the stack update now running
    previous_resources: dict[str, object] = field(default_factory=dict)
    # EKS updates (UpdateClusterVersion, nodegroup version updates) by cluster name
    eks_updates: dict[str, list[EksUpdate]] = field(default_factory=dict)
    # nodegroup updates waiting for finish_nodegroup_update, by (cluster, nodegroup)
    nodegroup_operations: dict[tuple[str, str], Operation] = field(default_factory=dict)
    # injected by tests through POST /_sandbox/faults: stack name -> (logical id, reason);
    # the next update of that stack fails on that resource, as CloudFormation reports it
    stack_update_faults: dict[str, tuple[str, str]] = field(default_factory=dict)

    def now(self) -> datetime:
        """Virtual now as moto stores times (naive UTC)."""
        return self.clock.utcnow().replace(tzinfo=None)

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the current locked section ends (hooks must not hold the lock)."""
        self.deferred.append(fn)

    def flush(self) -> None:
        """Run deferred callbacks; call without holding the lock."""
        while True:
            with self.lock:
                if not self.deferred:
                    return
                batch, self.deferred[:] = list(self.deferred), []
            for fn in batch:
                fn()

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        """A clock timer whose callback runs under the lock, then flushes deferred hooks."""

        def locked() -> None:
            try:
                with self.lock:
                    fn()
            except Exception:
                # AWS keeps running when one of its workflows fails; so does the twin's clock.
                LOG.exception("a scheduled twin operation failed")
            self.flush()

        return self.clock.call_later(max(0.0, delay), locked)

    def begin(self, name: str) -> Operation:
        """Start a long operation; a running stack update waits for it."""
        op = Operation(name)
        if self.collecting is not None:
            self.collecting.append(op)
        return op


_active: TwinState | None = None
_guard = threading.Lock()


def activate(state: TwinState) -> None:
    global _active  # noqa: PLW0603 - moto's backends are process-global; so is the twin
    with _guard:
        if _active is not None and _active is not state:
            raise RuntimeError("another AwsTwin is already running in this process")
        _active = state


def deactivate(state: TwinState) -> None:
    global _active  # noqa: PLW0603
    with _guard:
        if _active is state:
            _active = None


def active() -> TwinState | None:
    """The running twin's state, or None (then the patches behave like plain moto)."""
    return _active


def require() -> TwinState:
    state = _active
    if state is None:
        raise RuntimeError("no AwsTwin is running")
    return state
