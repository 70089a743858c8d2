"""A live progress display for ``upgrader apply`` on a terminal (issue 15, item 5).

The display shows the current step (n of N, its id and kind), the wave (k of n) with the
wave's nodes and how many of them the events reported done, the latest message, the
elapsed time and the roll's ETA when the events carry one. Important events (starts,
steps, waves, gate remediations, warnings, stops, done) are also printed above the live
area in the plain text format, so the scroll-back keeps a greppable record.

Only the fields named above are rendered, never ``Event.data``. This module imports rich:
the CLI imports it only when it builds the display (``upgrader.cli.options``), never at
start-up (tests/unit/test_cli_start.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from upgrader.executor.progress import Event, text

# Printed above the live area as well; the other kinds (info, wait, node) only update it.
PRINTED = {"start": "", "step": "bold", "wave": "", "gate": "yellow", "warn": "yellow"}
PRINTED |= {"stop": "bold red", "done": "bold green"}
MAX_NODES_SHOWN = 3


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(max(seconds, 0.0)), 60)
    return f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class _Eta:
    seconds: float
    at: float  # elapsed when the event said so


class LiveSink:
    """A :data:`~upgrader.executor.progress.Sink` drawing a ``rich.live.Live`` area.

    Use it as a context manager: the live area starts with the first event (so a
    confirmation prompt before it is not drawn over) and stops on exit, then a summary
    line is printed; an exception passes through unchanged for the CLI's error path.
    ``expect`` tells it the plan's steps (id, kind), for "step n/N" and the step's kind.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_per_second: float = 4.0,
        title: str = "apply",
    ) -> None:
        self.console = console if console is not None else Console()
        self._clock = clock
        self._refresh = refresh_per_second
        self._title = title
        self._lock = threading.Lock()
        self._entered = False
        self._live: Live | None = None
        self._steps: list[tuple[str, str]] = []
        self._seen: list[str] = []  # step ids in the order the events named them
        self._step: str | None = None
        self._stage: str | None = None
        self._wave: tuple[int, int] | None = None
        self._wave_nodes: tuple[str, ...] = ()
        self._done_nodes: set[str] = set()
        self._eta: _Eta | None = None
        self._last: Event | None = None
        self._origin: float | None = None
        self._finished = False

    # the plan ----------------------------------------------------------------

    def expect(self, steps: Iterable[tuple[str, str]]) -> None:
        """The plan's steps as (id, kind), in order."""
        with self._lock:
            self._steps = list(steps)

    # the sink ----------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._update(event)
        live = self._start()  # outside the lock: starting renders, which takes it
        style = PRINTED.get(event.kind)
        if live is not None and style is not None:
            live.refresh()  # the frame redrawn below the line is this event's, not the last
            live.console.print(Text(text(event), style=style), soft_wrap=True)

    def _start(self) -> Live | None:
        if self._entered and self._live is None:
            self._live = Live(
                console=self.console,
                get_renderable=self.render,
                refresh_per_second=self._refresh,
                transient=False,
            )
            self._live.start()
        return self._live

    def _update(self, event: Event) -> None:
        self._origin = self._clock() - event.elapsed
        self._last = event
        if event.step is not None and event.step != self._step:
            self._step_changed(event.step)
        if event.stage is not None:
            self._stage = event.stage
        if event.kind == "wave" and event.wave is not None:
            self._wave, self._wave_nodes = event.wave, event.nodes
            self._done_nodes = set()
            self._eta = None
        if event.eta_seconds is not None:
            self._eta = _Eta(event.eta_seconds, event.elapsed)
        if event.kind == "node":
            self._done_nodes.update(event.nodes)
        if event.kind == "done":
            self._finished = True

    def _step_changed(self, step: str) -> None:
        self._step = step
        if step not in self._seen:
            self._seen.append(step)
        self._wave, self._wave_nodes, self._done_nodes = None, (), set()
        self._eta = None

    # rendering ---------------------------------------------------------------

    def _elapsed(self) -> float:
        return 0.0 if self._origin is None else self._clock() - self._origin

    def _position(self) -> str:
        """``step 3/7 roll-ng-a`` (n of N from the plan, else as seen)."""
        if self._step is None:
            return f"{len(self._steps)} step(s) planned" if self._steps else "starting"
        ids = [i for i, _ in self._steps]
        if self._step in ids:
            return f"step {ids.index(self._step) + 1}/{len(ids)} {self._step}"
        return f"step {len(self._seen)} {self._step}"

    def _kind(self) -> str:
        kind = dict(self._steps).get(self._step or "")
        return " · ".join(p for p in (kind, self._stage) if p)

    def _wave_line(self) -> Text | None:
        if self._wave is None and not self._done_nodes:
            return None
        line = Text()
        if self._wave is not None:
            line.append(f"wave {self._wave[0]}/{self._wave[1]}", style="bold cyan")
        nodes = self._wave_nodes
        if nodes:
            done = len(self._done_nodes & set(nodes))
            shown = ", ".join(nodes[:MAX_NODES_SHOWN])
            more = f" +{len(nodes) - MAX_NODES_SHOWN} more" if len(nodes) > MAX_NODES_SHOWN else ""
            line.append(f"  nodes {done}/{len(nodes)} done: {shown}{more}")
        elif self._done_nodes:
            line.append(f"{len(self._done_nodes)} node(s) done")
        return line

    def render(self) -> Group:
        """The live area: step, wave, latest message, elapsed and ETA."""
        with self._lock:
            elapsed = self._elapsed()
            head = Text(self._position(), style="bold")
            kind = self._kind()
            if kind:
                head.append(f"  ({kind})", style="dim")
            lines = [head]
            wave = self._wave_line()
            if wave is not None:
                lines.append(wave)
            if self._last is not None:
                lines.append(Text(f"{self._last.kind}: {self._last.message}", style="dim"))
            times = Text(f"elapsed {_clock(elapsed)}")
            if self._eta is not None:
                left = self._eta.seconds - (elapsed - self._eta.at)
                times.append(f"  ETA ~{_clock(left)}", style="bold")
            lines.append(times)
        for line in lines:
            line.no_wrap, line.overflow = True, "ellipsis"
        return Group(*lines)

    def summary(self, error: BaseException | None) -> str:
        """The last line: how it ended, where, after how long."""
        with self._lock:
            where, after = self._position(), _clock(self._elapsed())
        if isinstance(error, KeyboardInterrupt):
            return f"{self._title}: interrupted at {where} after {after}"
        if error is not None:
            return f"{self._title}: stopped at {where} after {after}"
        if self._finished:
            return f"{self._title}: done ({where}) after {after}"
        return f"{self._title}: ended at {where} after {after}"

    # the context -------------------------------------------------------------

    def __enter__(self) -> LiveSink:
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = False
        live, self._live = self._live, None
        if live is None:  # no event came (bad input, a refused confirmation): nothing drawn
            return
        try:
            live.stop()
        finally:
            style = "bold green" if exc is None and self._finished else "bold"
            self.console.print(Text(self.summary(exc), style=style), soft_wrap=True)
