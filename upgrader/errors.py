"""Errors the user sees: each names the object, the problem and the next step."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (DESIGN.md §3, contract)."""

    OK = 0
    BUG = 1
    BAD_INPUT = 2
    BLOCKED = 3
    STEP_FAILED = 4
    STALE_PLAN = 5
    LOCKED = 6


class UpgraderError(Exception):
    """Base error: ``subject`` is the object, ``message`` the problem, ``hint`` the fix."""

    exit_code: ExitCode = ExitCode.BUG

    def __init__(self, subject: str, message: str, hint: str) -> None:
        super().__init__(f"{subject}: {message}")
        self.subject = subject
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """One readable paragraph for stderr."""
        return f"error: {self.subject}: {self.message}\n  fix: {self.hint}"


class BadInputError(UpgraderError):
    """Bad flags, config, versions or plan file; nothing was changed."""

    exit_code = ExitCode.BAD_INPUT


class ConfigError(BadInputError):
    """A config file upgrader cannot use; lists every problem."""


class UnknownInstanceTypeError(BadInputError):
    """The instance type is in neither the bundled nor the refreshed catalog."""


class VersionError(BadInputError):
    """A version string or version path the catalog rejects."""
