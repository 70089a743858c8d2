"""The apply journal and progress lines: pure data, stable JSON."""

from __future__ import annotations

import json
from dataclasses import replace

from upgrader.executor.journal import AsgSnapshot, Journal, plan_id
from upgrader.executor.progress import Event, json_line, text


def test_journal_round_trip_keeps_first_snapshot_and_order() -> None:
    j = Journal(plan=plan_id("{}"), fingerprint="sha256:f")
    j = j.finish("control-plane").finish("kube-proxy").finish("control-plane")
    j = j.snapshot(AsgSnapshot(name="workers", min_size=1, max_size=4, desired=2))
    j = j.snapshot(AsgSnapshot(name="workers", min_size=1, max_size=4, desired=3))  # surged
    j = replace(j.terminate("i-1"), cordoned=("node-a", "node-b"))
    again = Journal.from_json(j.to_json())
    assert again == j
    assert again.done == ("control-plane", "kube-proxy")
    snap = again.asg("workers")
    assert snap is not None and snap.desired == 2
    assert again.is_done("kube-proxy") and not again.is_done("verify")
    assert plan_id("{}") != plan_id("{ }")


def test_progress_text_and_json_lines() -> None:
    event = Event(
        kind="wave",
        message="draining",
        elapsed=75.4,
        stage="node groups",
        step="roll-workers",
        wave=(2, 4),
        nodes=("n1", "n2"),
        eta_seconds=130,
    )
    assert text(event) == (
        "[01:15] node groups / roll-workers: wave 2/4: draining (n1, n2) ~02:10 left"
    )
    doc = json.loads(json_line(event))
    assert doc["wave"] == {"k": 2, "n": 4}
    assert doc["nodes"] == ["n1", "n2"]
    assert doc["kind"] == "wave"
