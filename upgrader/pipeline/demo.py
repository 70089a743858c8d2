"""``upgrader demo``: the whole job on the local twin — sandbox up, plan, runbook,
apply, verify, down — with nothing but the production code paths in between."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from upgrader.executor.progress import Event, Sink
from upgrader.executor.run import ApplyResult
from upgrader.model.plan import Plan
from upgrader.pipeline.apply import apply
from upgrader.pipeline.plan import plan
from upgrader.sandbox import control
from upgrader.sandbox import directory as files


@dataclass(frozen=True, slots=True)
class DemoResult:
    scenario: str
    directory: Path
    plan_file: Path
    runbook: Path
    plan: Plan
    applied: ApplyResult
    sandbox_seconds: float


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The sandbox's standard AWS variables and KUBECONFIG, for this process only."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def demo(scenario: str, directory: Path, *, sink: Sink) -> DemoResult:
    """Run the demo; the plan and runbook stay in ``directory`` after the sandbox stops."""
    directory = directory.resolve()
    sink(Event(kind="start", message=f"starting the {scenario} sandbox in {directory}", elapsed=0))
    running = control.up(scenario, directory / "sandbox")
    try:
        env = files.parse_env(running.env.read_text())
        with _environment(env):
            plan_file, runbook = directory / "plan.json", directory / "runbook.md"
            planned = plan(running.config, to=None, out=plan_file, runbook=runbook)
            sink(
                Event(
                    kind="info",
                    message=f"plan {planned.plan.from_.kubernetes} -> {planned.plan.to.kubernetes}"
                    f" written to {plan_file}; runbook {runbook}",
                    elapsed=0,
                )
            )
            applied = apply(plan_file, sink=sink)
        return DemoResult(
            scenario=running.scenario,
            directory=directory,
            plan_file=plan_file,
            runbook=runbook,
            plan=planned.plan,
            applied=applied,
            sandbox_seconds=running.seconds,
        )
    finally:
        control.down(running.directory)
