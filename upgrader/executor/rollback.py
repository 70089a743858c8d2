"""``upgrader rollback``: the control-plane step of a plan undone, under apply's lock.

The rollback is a control-plane step run backwards (the stack's version parameter set to
the previous minor through a change set, then the cluster waited for), recorded in the
cluster's journal so that the plan it undid is never resumed.
"""

from __future__ import annotations

from dataclasses import replace

from upgrader.config import Config
from upgrader.executor import stacks
from upgrader.executor.errors import LockedError, RollbackRefusedError, StepFailedError
from upgrader.executor.journal import Journal, plan_id
from upgrader.executor.progress import Sink
from upgrader.executor.run import (
    OUTSIDE_FAILURES,
    Outside,
    read_journal,
    release_lock,
    take_lock,
)
from upgrader.executor.session import Session
from upgrader.model.plan import Plan
from upgrader.model.steps import ControlPlaneStep

STAGE = "rollback"


def run_rollback(
    text: str,
    plan: Plan,
    config: Config,
    step: ControlPlaneStep,
    outside: Outside,
    *,
    sink: Sink,
    holder: str,
) -> None:
    """Run the rollback ``step`` of ``plan`` (its file's ``text``) under the cluster's lock;
    exit 3 when an apply holds the lock, 4 when the rollback fails part-way."""
    try:
        take_lock(outside.kube, plan, holder)
    except LockedError as err:
        raise RollbackRefusedError(
            err.subject, err.message, "wait for that apply to stop, then run rollback again"
        ) from None
    session: Session | None = None
    try:
        journal = read_journal(outside.kube) or Journal(
            plan=plan_id(text), fingerprint=plan.fingerprint
        )
        session = Session(
            plan=plan,
            config=config,
            aws=outside.aws,
            kube=outside.kube,
            sink=sink,
            holder=holder,
            journal=journal,
            clock=outside.clock,
            discoverer=outside.discover,
        )
        session.begin(step, STAGE)
        stacks.control_plane(session, step)
        undone = step.id.removeprefix("rollback-")
        session.stage = session.step = None
        session.save(
            replace(
                session.journal,
                complete=False,
                current=None,
                rolled_back=(*session.journal.rolled_back, undone),
            )
        )
        session.emit("done", f"{plan.cluster} is back at {step.to}")
    except OUTSIDE_FAILURES as err:
        raise StepFailedError(
            f"rollback of {plan.cluster} ({step.from_} -> {step.to})",
            f"{err.subject}: {err.message}",
            f"{err.hint.removeprefix('retry; ')}; once stack {step.stack} is stable, run "
            "rollback again (it refuses, saying why, when the cluster is already back)",
        ) from None
    finally:
        release_lock(outside.kube, holder, session)
