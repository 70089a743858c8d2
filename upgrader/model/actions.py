"""What apply's calls to Kubernetes answer: rollout progress, eviction outcomes, leases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rollout:
    """A DaemonSet's or Deployment's rollout progress (counts of pods)."""

    generation: int
    observed: int
    desired: int
    updated: int
    ready: int
    available: int

    @property
    def done(self) -> bool:
        """The controller saw the newest spec and every pod runs it and is available."""
        return (
            self.observed >= self.generation
            and self.updated >= self.desired
            and self.available >= self.desired
        )


@dataclass(frozen=True, slots=True)
class Eviction:
    """The outcome of one eviction request.

    ``evicted``: accepted; ``gone``: the pod no longer exists; ``blocked_by``:
    ``namespace/pdb`` whose budget refused it (429); neither: retry later.
    """

    evicted: bool
    gone: bool
    blocked_by: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a lease, whether the caller does now, and until when (epoch seconds)."""

    holder: str
    acquired: bool
    expires_at: float
