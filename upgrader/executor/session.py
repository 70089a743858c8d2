"""What every step of an apply shares: the two action adapters, the plan and its
config, the journal (saved after every change), the lock, progress, and waiting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from upgrader.adapters.discover import discover
from upgrader.config import Config
from upgrader.executor.errors import LockedError, StepFailedError
from upgrader.executor.journal import JOURNAL_NAME, LOCK_NAME, NAMESPACE, Journal
from upgrader.executor.ports import AwsPort, Discover, KubePort
from upgrader.executor.progress import Event, Sink
from upgrader.model.plan import Plan
from upgrader.model.state import ClusterState
from upgrader.model.steps import Step
from upgrader.polling import WALL, Backoff, Clock, poll

T = TypeVar("T")
LEASE_SECONDS = 120
RENEW_EVERY_SECONDS = 20.0
JOURNAL_KEY = "journal.json"


@dataclass
class Session:
    plan: Plan
    config: Config
    aws: AwsPort
    kube: KubePort
    journal: Journal
    sink: Sink
    holder: str
    clock: Clock = WALL
    discoverer: Discover = discover
    started: float = field(default=0.0)
    stage: str | None = None
    step: str | None = None
    _renewed: float = field(default=0.0)
    poll_max_seconds: float = 5.0

    def __post_init__(self) -> None:
        self.started = self._renewed = self.clock.monotonic()

    # progress ---------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    def emit(
        self,
        kind: str,
        message: str,
        *,
        wave: tuple[int, int] | None = None,
        nodes: tuple[str, ...] = (),
        eta: float | None = None,
        **data: object,
    ) -> None:
        self.sink(
            Event(
                kind=kind,
                message=message,
                elapsed=self.elapsed,
                stage=self.stage,
                step=self.step,
                wave=wave,
                nodes=nodes,
                eta_seconds=eta,
                data=dict(data),
            )
        )

    def begin(self, step: Step, stage: str) -> None:
        self.stage, self.step = stage, step.id
        self.emit("step", step.description)

    # journal and lock -------------------------------------------------------

    def save(self, journal: Journal) -> None:
        """Persist the journal in the cluster before going on (a re-run resumes from it)."""
        self.journal = journal
        self.kube.write_config_map(JOURNAL_NAME, NAMESPACE, {JOURNAL_KEY: journal.to_json()})

    def keep_lock(self) -> None:
        if self.clock.monotonic() - self._renewed < RENEW_EVERY_SECONDS:
            return
        lease = self.kube.renew_lease(LOCK_NAME, NAMESPACE, self.holder, seconds=LEASE_SECONDS)
        if not lease.acquired:
            raise LockedError(
                f"lease {NAMESPACE}/{LOCK_NAME}",
                f"was taken over by {lease.holder} while this apply ran",
                "let that apply finish, then re-run this one; it resumes from the journal",
            )
        self._renewed = self.clock.monotonic()

    # reading and waiting ----------------------------------------------------

    def discover(self) -> ClusterState:
        return self.discoverer(self.config)

    def wait(
        self,
        probe: Callable[[], T | None],
        *,
        what: str,
        timeout: float,
        hint: str,
        on_poll: Callable[[float], None] | None = None,
        most: float | None = None,
    ) -> T:
        """Poll ``probe`` until it returns a value; back off from 0.1 s to ``most`` seconds
        (a few by default; a wait that paces the next action, as a drain's evictions,
        polls more often)."""

        def kept() -> T | None:
            self.keep_lock()
            return probe()

        value = poll(
            kept,
            timeout=timeout,
            backoff=Backoff(
                first=0.1,
                factor=1.5,
                most=self.poll_max_seconds if most is None else min(most, self.poll_max_seconds),
            ),
            clock=self.clock,
            on_wait=on_poll,
        )
        if value is None:
            raise StepFailedError(
                f"step {self.step}", f"timed out after {timeout:.0f} s waiting for {what}", hint
            )
        return value
