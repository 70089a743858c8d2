"""Progress people can follow, and one JSON event per line for CI logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing apply did or saw. ``kind``: start, step, wave, node, gate, wait, done, stop."""

    kind: str
    message: str
    elapsed: float  # wall seconds since apply started
    step: str | None = None
    stage: str | None = None  # control plane, add-ons, vpc cni, node groups, verify
    wave: tuple[int, int] | None = None  # (k, n)
    nodes: tuple[str, ...] = ()
    eta_seconds: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def text(event: Event) -> str:
    """``[mm:ss] stage / step: wave k/n: message (nodes) eta``."""
    parts = [f"[{_clock(event.elapsed)}]"]
    where = " / ".join(p for p in (event.stage, event.step) if p)
    if where:
        parts.append(f"{where}:")
    if event.wave is not None:
        parts.append(f"wave {event.wave[0]}/{event.wave[1]}:")
    parts.append(event.message)
    if event.nodes:
        parts.append(f"({', '.join(event.nodes)})")
    if event.eta_seconds is not None:
        parts.append(f"~{_clock(event.eta_seconds)} left")
    return " ".join(parts)


def json_line(event: Event) -> str:
    doc: dict[str, Any] = {
        "kind": event.kind,
        "message": event.message,
        "elapsed": round(event.elapsed, 3),
    }
    if event.step:
        doc["step"] = event.step
    if event.stage:
        doc["stage"] = event.stage
    if event.wave is not None:
        doc["wave"] = {"k": event.wave[0], "n": event.wave[1]}
    if event.nodes:
        doc["nodes"] = list(event.nodes)
    if event.eta_seconds is not None:
        doc["eta_seconds"] = round(event.eta_seconds, 1)
    if event.data:
        doc["data"] = event.data
    return json.dumps(doc, sort_keys=True)


Sink = Callable[[Event], None]
