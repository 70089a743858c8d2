"""Shorthands for building findings."""

from __future__ import annotations

from upgrader.model.plan import Finding, Severity


def blocking(gate_id: str, subject: str, message: str) -> Finding:
    """A finding that stops the plan (exit 3) or the step."""
    return Finding(id=gate_id, severity=Severity.BLOCKING, subject=subject, message=message)


def advisory(gate_id: str, subject: str, message: str) -> Finding:
    """A finding shown in the plan and runbook that does not stop anything."""
    return Finding(id=gate_id, severity=Severity.ADVISORY, subject=subject, message=message)


def mib(num_bytes: int) -> int:
    """Bytes as whole MiB (rounded up), for messages."""
    return -(-num_bytes // (1024 * 1024))
