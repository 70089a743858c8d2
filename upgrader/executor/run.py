"""``upgrader apply``: the reviewed plan, step by step, under a lock, resumable.

The journal (a ConfigMap in kube-system) records finished steps; a re-run of the
same plan from any machine resumes after the last one. A new plan is checked
against the live cluster's fingerprint first (exit 5 when stale). Any stop puts
the ASGs' sizes and processes and the cluster autoscaler back.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.discover import discover
from upgrader.adapters.kube_actions import KubeActions
from upgrader.catalog.versions import catalog
from upgrader.config import GATE_DEFAULTS, Config
from upgrader.errors import BadInputError, UpgraderError
from upgrader.executor import addons, nodegroups, stacks, verify
from upgrader.executor.errors import GateFailedError, LockedError, StalePlanError
from upgrader.executor.journal import JOURNAL_NAME, LOCK_NAME, NAMESPACE, Journal, plan_id
from upgrader.executor.ports import AwsPort, Discover, KubePort
from upgrader.executor.progress import Sink
from upgrader.executor.session import JOURNAL_KEY, LEASE_SECONDS, Session
from upgrader.gates import run as run_gates
from upgrader.model.plan import Plan, Severity, loads
from upgrader.model.steps import (
    AddonStep,
    CniStep,
    ControlPlaneStep,
    NodegroupRollStep,
    NodegroupStackStep,
    Step,
    StepKind,
    VerifyStep,
)
from upgrader.planner import gate_inputs
from upgrader.polling import WALL, Clock
from upgrader.semver import Version

STAGES = {
    StepKind.CONTROL_PLANE: "control plane",
    StepKind.KUBE_PROXY: "add-ons",
    StepKind.COREDNS: "add-ons",
    StepKind.CNI: "vpc cni",
    StepKind.NODEGROUP_STACK: "node groups",
    StepKind.NODEGROUP_ROLL: "node groups",
    StepKind.VERIFY: "verify",
}


@dataclass(frozen=True, slots=True)
class ApplyResult:
    plan: Plan
    resumed: bool
    already_done: bool
    steps_run: tuple[str, ...]


def config_from_plan(plan: Plan) -> Config:
    """What apply needs to reach the cluster, from the plan alone (plus KUBECONFIG)."""
    ctx = plan.context
    gates = dict(GATE_DEFAULTS)
    gates.update({k: v for k, v in ctx.gates if k in gates})
    kubeconfig = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    catalog().kubernetes(plan.to.kubernetes)
    return Config(
        path=Path("plan"),
        cluster=plan.cluster,
        region=plan.region,
        control_plane_stack=ctx.stacks.control_plane,
        nodegroup_stacks=ctx.stacks.nodegroups,
        target_kubernetes=Version.parse(plan.to.kubernetes),
        target_cni=Version.parse(plan.to.cni),
        cni_env=ctx.cni.env,
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
        gates=tuple(sorted(gates.items())),
    )


def _holder() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def stale_holder(holder: str) -> bool:
    """A holder on this machine whose process is gone (an apply that was killed): its
    lease need not run out before a re-run takes over. Other machines' holders are
    only taken over when their lease expires."""
    host, _, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _read_journal(kube: KubePort) -> Journal | None:
    data = kube.read_config_map(JOURNAL_NAME, NAMESPACE)
    return Journal.from_json(data[JOURNAL_KEY]) if data and JOURNAL_KEY in data else None


def _pre_gates(s: Session, step: Step) -> None:
    """Re-measure the step's gates on live state right before it (the roll does it per wave)."""
    if isinstance(step, NodegroupRollStep | VerifyStep):
        return
    inputs = gate_inputs(s.discover(), s.config)
    blocking = [
        f for f in run_gates(inputs) if f.id in step.gates and f.severity is Severity.BLOCKING
    ]
    if blocking:
        raise GateFailedError(
            f"step {step.id}",
            "gate(s) fail right before it: "
            + "; ".join(f"{f.id} {f.subject}: {f.message}" for f in blocking),
            "fix what the gate names, then re-run apply; nothing of this step was done",
        )


def _run_step(s: Session, step: Step, *, cleanup_leaked_enis: bool) -> None:
    match step:
        case ControlPlaneStep():
            stacks.control_plane(s, step)
        case AddonStep() | CniStep():
            addons.addon(s, step)
        case NodegroupStackStep():
            stacks.nodegroup_stack(s, step)
        case NodegroupRollStep():
            nodegroups.roll(s, step)
        case VerifyStep():
            verify.verify(s, step, cleanup_leaked_enis=cleanup_leaked_enis)


def _load_plan(plan_path: Path) -> tuple[str, Plan]:
    """The plan file's text and plan; a missing, broken or blocked plan is refused."""
    if not plan_path.is_file():
        raise BadInputError(
            str(plan_path), "does not exist", "pass the plan file `upgrader plan --out` wrote"
        )
    text = plan_path.read_text()
    plan = loads(text, str(plan_path))
    if plan.blocked:
        ids = ", ".join(sorted({f.id for f in plan.findings if f.severity is Severity.BLOCKING}))
        raise GateFailedError(
            str(plan_path),
            f"is blocked by {ids}; apply runs only a ready plan",
            "fix what the findings name, run `upgrader plan` again, review, then apply",
        )
    return text, plan


@dataclass(frozen=True, slots=True)
class Outside:
    """What apply talks to: AWS, Kubernetes, discovery and a clock (fakes in unit tests)."""

    aws: AwsPort
    kube: KubePort
    discover: Discover = discover
    clock: Clock = WALL


def apply(
    plan_path: Path, *, sink: Sink, cleanup_leaked_enis: bool = False, holder: str | None = None
) -> ApplyResult:
    """Run the plan at ``plan_path``; raises an UpgraderError with the contract exit code."""
    text, plan = _load_plan(plan_path)
    config = config_from_plan(plan)
    aws = AwsActions.connect(plan.region)
    outside = Outside(aws=aws, kube=KubeActions.connect(config, aws))
    return run_plan(
        text,
        plan,
        config,
        outside,
        sink=sink,
        cleanup_leaked_enis=cleanup_leaked_enis,
        holder=holder or _holder(),
    )


def run_plan(
    text: str,
    plan: Plan,
    config: Config,
    outside: Outside,
    *,
    sink: Sink,
    holder: str,
    cleanup_leaked_enis: bool = False,
) -> ApplyResult:
    """Apply ``plan`` (its file's ``text`` identifies it in the journal) under the lock,
    resuming from the cluster's journal; the lock is released on every way out."""
    kube = outside.kube
    lease = kube.acquire_lease(
        LOCK_NAME, NAMESPACE, holder, seconds=LEASE_SECONDS, stale=stale_holder
    )
    if not lease.acquired:
        kube.close()
        raise LockedError(
            f"cluster {plan.cluster}",
            f"another apply holds the lock (lease {NAMESPACE}/{LOCK_NAME}, holder {lease.holder})",
            "wait for it to finish (or for its lease to expire) and run apply again",
        )
    session: Session | None = None
    try:
        pid = plan_id(text)
        journal = _read_journal(kube)
        resumed = journal is not None and journal.plan == pid
        session = Session(
            plan=plan,
            config=config,
            aws=outside.aws,
            kube=kube,
            sink=sink,
            holder=holder,
            journal=journal
            if resumed and journal
            else Journal(plan=pid, fingerprint=plan.fingerprint),
            clock=outside.clock,
            discoverer=outside.discover,
        )
        if resumed and session.journal.complete:
            session.emit("done", "this plan was applied already; nothing to do")
            return ApplyResult(plan, True, True, ())
        if not resumed:
            _check_fresh(session, journal)
        else:
            session.emit("start", f"resuming after {', '.join(session.journal.done) or 'nothing'}")
        ran = []
        for step in plan.steps:
            if session.journal.is_done(step.id):
                continue
            session.begin(step, STAGES[step.kind])
            if session.journal.current != step.id:
                _pre_gates(session, step)
                session.save(session.journal.start(step.id))
            _run_step(session, step, cleanup_leaked_enis=cleanup_leaked_enis)
            session.save(session.journal.finish(step.id))
            ran.append(step.id)
        session.save(replace(session.journal, complete=True))
        session.stage = session.step = None
        session.emit("done", f"{plan.cluster} is at {plan.to.kubernetes}")
        return ApplyResult(plan, resumed, False, tuple(ran))
    except BaseException:
        if session is not None:
            _restore_quietly(session)
        raise
    finally:
        try:
            kube.release_lease(LOCK_NAME, NAMESPACE, holder)
        finally:
            kube.close()


def _check_fresh(s: Session, previous: Journal | None) -> None:
    """A new plan: the live cluster must be what it was planned from."""
    live = s.discover().fingerprint()
    if live != s.plan.fingerprint:
        raise StalePlanError(
            f"plan for {s.plan.cluster}",
            "the cluster changed since the plan was made "
            f"(planned from {s.plan.fingerprint[:19]}…, now {live[:19]}…)",
            "run `upgrader plan` again, review the new plan and apply that one",
        )
    asgs = previous.asgs if previous is not None and not previous.complete else ()
    s.save(replace(s.journal, asgs=asgs))
    s.emit("start", f"applying {len(s.plan.steps)} step(s) to {s.plan.cluster}")


def _restore_quietly(s: Session) -> None:
    try:
        nodegroups.restore(s)
    except UpgraderError as err:
        s.emit("stop", f"could not restore everything: {err.render()}")
