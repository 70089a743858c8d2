"""How much work a command the test ran did: its CPU seconds, not wall time (a loaded CI
runner stretches wall time; a hang is caught by the command's own timeout instead)."""

from __future__ import annotations

import resource
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def child_cpu_seconds(run: Callable[[], T]) -> tuple[T, float]:
    """``run()``'s result and the CPU seconds (user + system) its child processes used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
