"""Waiting in a stepped twin's time: apply's clock when the sandbox's clock stands still
until a client moves it (``UPGRADER_SANDBOX_CLOCK=stepped``, the benchmarks' mode).

A sleep of s seconds asks the twin to run s virtual seconds, and returns once every timer
in them has fired; apply's own work between sleeps costs no virtual time. The figures it
yields are the schedule's, whatever the speed of the machine that runs it.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from upgrader.sandbox.directory import CLOCK_PATH

# A request may run minutes of virtual time; its wall time is the simulation's work.
ADVANCE_TIMEOUT_SECONDS = 120.0


class TwinClock:
    """The :class:`upgrader.polling.Clock` of a stepped twin at ``aws_endpoint``."""

    def __init__(self, aws_endpoint: str) -> None:
        self.url = aws_endpoint.rstrip("/") + CLOCK_PATH
        answer = self._call(None)
        if not answer.get("stepped"):
            raise ValueError(f"the twin at {aws_endpoint} does not run a stepped clock")
        self._now = float(answer["now"])

    def _call(self, body: dict[str, float] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url, data=data, method="GET" if body is None else "POST"
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=ADVANCE_TIMEOUT_SECONDS + 5) as reply:
            answer: dict[str, Any] = json.loads(reply.read())
        return answer

    def monotonic(self) -> float:
        """The twin's virtual now (it stands still between sleeps)."""
        return self._now

    def sleep(self, seconds: float) -> None:
        self._now = float(self._call({"advance": max(seconds, 0.0)})["now"])
