"""Why apply stopped, each with its contract exit code (DESIGN §3)."""

from __future__ import annotations

from upgrader.errors import ExitCode, UpgraderError


class GateFailedError(UpgraderError):
    """A gate failed right before its step; nothing of the step was done."""

    exit_code = ExitCode.BLOCKED


class StepFailedError(UpgraderError):
    """A step failed part-way; re-running apply resumes it."""

    exit_code = ExitCode.STEP_FAILED


class StalePlanError(UpgraderError):
    """The cluster changed since the plan was made."""

    exit_code = ExitCode.STALE_PLAN


class LockedError(UpgraderError):
    """Another apply holds the cluster's lock."""

    exit_code = ExitCode.LOCKED


class RollbackRefusedError(UpgraderError):
    """``upgrader rollback`` refused: the window is closed, a node moved, or the cluster
    is not where the plan left it; nothing was changed."""

    exit_code = ExitCode.BLOCKED
