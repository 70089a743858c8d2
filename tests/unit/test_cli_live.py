"""The live progress display of ``upgrader apply`` (issue 15, item 5), and the choice
between it, the plain text lines and JSON lines. No timing: the display's clock is fixed."""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

import pytest
from rich.console import Console

from upgrader.cli.live import LiveSink
from upgrader.cli.options import live_wanted, progress_output, sink_for
from upgrader.cli.output import Format
from upgrader.errors import UpgraderError
from upgrader.executor.progress import Event

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
STEPS = [("control-plane", "control-plane"), ("roll-ng-a", "nodegroup-roll"), ("verify", "verify")]
NODES = ("ip-10-0-1-1", "ip-10-0-1-2", "ip-10-0-1-3", "ip-10-0-1-4")


def _roll(kind: str, message: str, elapsed: float, **fields: Any) -> Event:
    return Event(
        kind=kind, message=message, elapsed=elapsed, step="roll-ng-a", stage="node groups", **fields
    )


def _events() -> list[Event]:
    """What a roll of node group ng-a reports, second wave of two under way."""
    return [
        Event(kind="start", message="applying 3 step(s) to prod", elapsed=1.0),
        _roll("step", "roll node group ng-a to 1.30", 600.0),
        _roll("wave", "replacing 2 of 4 old node(s)", 601.0, wave=(1, 2), nodes=NODES[:2]),
        _roll("node", "terminated i-1", 700.0, nodes=NODES[:1]),
        _roll("node", "terminated i-2", 710.0, nodes=NODES[1:2]),
        _roll(
            "wave", "replacing 2 of 2 old node(s)", 720.0, wave=(2, 2), nodes=NODES[2:],
            eta_seconds=119.0,
        ),
        _roll("wait", "waiting for 4 node(s) Ready at 1.30", 721.0, data={"token": "hidden"}),
        _roll("node", "terminated i-3", 781.0, nodes=NODES[2:3]),
    ]  # fmt: skip


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def _plain(out: io.StringIO) -> str:
    return ANSI.sub("", out.getvalue())


def _drive(events: list[Event], *, plan: bool = True) -> tuple[LiveSink, str, str]:
    """Feed the events; return the sink, all output, and the final frame (the last
    rendering before the summary line)."""
    console, out = _console()
    with LiveSink(console, clock=lambda: 5000.0, refresh_per_second=4) as sink:
        if plan:
            sink.expect(STEPS)
        for event in events:
            sink(event)
    final = _plain(io.StringIO(_frame(sink)))
    return sink, _plain(out), final


def _frame(sink: LiveSink) -> str:
    console, out = _console()
    console.print(sink.render())
    return out.getvalue()


def test_the_final_frame_shows_step_wave_nodes_elapsed_and_eta() -> None:
    _, _, final = _drive(_events())
    assert "step 2/3 roll-ng-a" in final
    assert "nodegroup-roll · node groups" in final
    assert "wave 2/2" in final
    assert "nodes 1/2 done: ip-10-0-1-3, ip-10-0-1-4" in final
    assert "node: terminated i-3" in final
    assert "elapsed 13:01" in final
    # the roll said 119 s at 12:00; 61 s later 58 s are left
    assert "ETA ~00:58" in final


def test_the_terminal_keeps_the_step_lines_the_frame_and_a_summary() -> None:
    _, output, _ = _drive(_events())
    assert "[00:01] applying 3 step(s) to prod" in output
    assert "[10:00] node groups / roll-ng-a: roll node group ng-a to 1.30" in output
    assert "[12:00] node groups / roll-ng-a: wave 2/2: replacing 2 of 2 old node(s)" in output
    assert "~01:59 left" in output
    # info, wait and node events update the display but are not printed as lines
    assert "[11:40]" not in output
    assert "step 2/3 roll-ng-a" in output and "ETA ~00:58" in output  # the frame stays
    assert output.rstrip().endswith("apply: ended at step 2/3 roll-ng-a after 13:01")
    assert "hidden" not in output  # event data never shows


def test_a_done_run_says_so_and_clears_the_eta() -> None:
    done = [
        Event(kind="step", message="verify", elapsed=900.0, step="verify", stage="verify"),
        Event(kind="done", message="prod is at 1.30", elapsed=960.0),
    ]
    _, output, final = _drive([*_events(), *done])
    assert "step 3/3 verify" in final
    assert "ETA" not in final
    assert "wave" not in final
    assert "[16:00] prod is at 1.30" in output
    assert output.rstrip().endswith("apply: done (step 3/3 verify) after 16:00")


def test_without_the_plan_steps_are_counted_as_they_come() -> None:
    _, _, final = _drive(_events(), plan=False)
    assert "step 1 roll-ng-a" in final
    assert "(node groups)" in final


def test_an_error_passes_through_after_the_display_stopped() -> None:
    console, out = _console()
    error = UpgraderError("step roll-ng-a", "timed out", "re-run apply")
    with pytest.raises(UpgraderError) as raised, LiveSink(console, clock=lambda: 0.0) as sink:
        sink.expect(STEPS)
        for event in _events():
            sink(event)
        raise error
    assert raised.value is error
    output = _plain(out)
    assert output.rstrip().endswith("apply: stopped at step 2/3 roll-ng-a after 13:01")
    assert "Traceback" not in output


def test_no_event_draws_nothing() -> None:
    """Bad input or a refused confirmation before the first event: no display, no summary."""
    console, out = _console()
    with pytest.raises(UpgraderError), LiveSink(console):
        raise UpgraderError("plan.json", "bad", "fix it")
    assert out.getvalue() == ""


def _terminal(monkeypatch: pytest.MonkeyPatch, *, tty: bool) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("UPGRADER_NO_LIVE", raising=False)


def test_text_on_a_non_terminal_keeps_the_plain_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _terminal(monkeypatch, tty=False)
    assert not live_wanted(Format.TEXT)
    event = _events()[1]
    sink_for(Format.TEXT)(event)
    with progress_output(Format.TEXT) as out:
        assert not out.live
        out.sink(event)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["[10:00] node groups / roll-ng-a: roll node group ng-a to 1.30"] * 2


def test_json_gives_one_event_per_line_even_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _terminal(monkeypatch, tty=True)
    assert not live_wanted(Format.JSON)
    with progress_output(Format.JSON) as out:
        assert not out.live
        for event in _events()[:3]:
            out.sink(event)
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["kind"] for d in docs] == ["start", "step", "wave"]
    assert docs[2]["wave"] == {"k": 1, "n": 2}


@pytest.mark.parametrize(
    ("term", "no_live", "wanted"),
    [("xterm", None, True), ("dumb", None, False), ("xterm", "1", False), (None, None, True)],
)
def test_text_on_a_terminal_is_live_unless_dumb_or_switched_off(
    monkeypatch: pytest.MonkeyPatch, term: str | None, no_live: str | None, wanted: bool
) -> None:
    _terminal(monkeypatch, tty=True)
    if term is None:
        monkeypatch.delenv("TERM", raising=False)
    else:
        monkeypatch.setenv("TERM", term)
    if no_live is not None:
        monkeypatch.setenv("UPGRADER_NO_LIVE", no_live)
    assert live_wanted(Format.TEXT) is wanted
    with progress_output(Format.TEXT) as out:
        assert out.live is wanted
        assert isinstance(out.sink, LiveSink) is wanted
