"""``upgrader apply``: the reviewed plan, step by step, under a lock, resumable.

The journal (a ConfigMap in kube-system) records finished steps; a re-run of the
same plan from any machine resumes after the last one. A new plan is checked
against the live cluster's fingerprint first (exit 5 when stale). Any stop puts
the ASGs' sizes and processes and the cluster autoscaler back, and makes the nodes of a
wave not yet being terminated schedulable again; an AWS or Kubernetes call failing (after
the adapters' retries) stops it with exit 4 naming the step, the call and the cause.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from upgrader import textfile
from upgrader.adapters.discover import discover
from upgrader.adapters.errors import (
    CloudAccessError,
    CloudError,
    CloudNotFoundError,
    CloudUnreachableError,
    StackUpdateFailed,
)
from upgrader.catalog.versions import catalog
from upgrader.config import GATE_DEFAULTS, ROLLBACK_TIMEOUT_DEFAULT, Config
from upgrader.errors import UpgraderError
from upgrader.executor import addons, fargate, managed_addons, nodegroups, stacks, verify
from upgrader.executor.errors import (
    GateFailedError,
    LockedError,
    StalePlanError,
    StepFailedError,
)
from upgrader.executor.hops import Derive, check_hop, hop_config, starts_later_hop
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
    FargateRestartStep,
    ManagedAddonStep,
    NodegroupRollStep,
    NodegroupStackStep,
    Step,
    StepKind,
    VerifyStep,
)
from upgrader.planner import gate_inputs
from upgrader.planner.adopt import adoption_config
from upgrader.polling import WALL, Clock
from upgrader.runbook.durations import step_minutes
from upgrader.semver import Version

STAGES = {
    StepKind.CONTROL_PLANE: "control plane",
    StepKind.KUBE_PROXY: "add-ons",
    StepKind.COREDNS: "add-ons",
    StepKind.CNI: "vpc cni",
    StepKind.MANAGED_ADDON: "add-ons",
    StepKind.MANAGED_ADDON_STACK: "add-ons",
    StepKind.MANAGED_ADDON_ADOPT: "add-ons",
    StepKind.NODEGROUP_STACK: "node groups",
    StepKind.NODEGROUP_ROLL: "node groups",
    StepKind.FARGATE_RESTART: "fargate",
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
    config = Config(
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
        rollback_timeout_minutes=next(
            (
                s.rollback_timeout_minutes
                for s in plan.steps
                if isinstance(s, ControlPlaneStep) and s.rollback_timeout_minutes is not None
            ),
            ROLLBACK_TIMEOUT_DEFAULT,
        ),
    )
    return adoption_config(config, plan.steps)


def new_holder() -> str:
    """This process's identity as the lock's holder: host/pid/random."""
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


def read_journal(kube: KubePort) -> Journal | None:
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


def _report_duration(s: Session, step: Step, seconds: float) -> None:
    """The step's actual duration against the runbook's prediction (a resumed step's
    counts from the resume)."""
    predicted = step_minutes(step)
    minutes = seconds / 60
    verdict = (
        "within the prediction"
        if predicted.low - 0.5 <= minutes <= predicted.high
        else ("faster than predicted" if minutes < predicted.low else "SLOWER than predicted")
    )
    s.emit(
        "info",
        f"{step.id} took {minutes:.1f} min; the runbook predicted {predicted} ({verdict})",
        actual_seconds=round(seconds, 1),
        predicted_minutes=[predicted.low, predicted.high],
    )


def _run_step(s: Session, step: Step, *, cleanup_leaked_enis: bool) -> None:
    match step:
        case ControlPlaneStep():
            stacks.control_plane(s, step)
        case AddonStep() | CniStep():
            addons.addon(s, step)
        case ManagedAddonStep():
            managed_addons.update(s, step)
        case NodegroupStackStep():
            stacks.nodegroup_stack(s, step)
        case NodegroupRollStep():
            nodegroups.roll(s, step)
        case FargateRestartStep():
            fargate.restart(s, step)
        case VerifyStep():
            verify.verify(s, step, cleanup_leaked_enis=cleanup_leaked_enis)


def load_plan(plan_path: Path) -> tuple[str, Plan]:
    """The plan file's text and plan; a missing, broken or blocked plan is refused."""
    text = textfile.read_text(
        plan_path, what="plan file", hint=textfile.PLAN_HINT, limit=textfile.PLAN_LIMIT
    )
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
    derive: Derive | None = None  # the planner again, for a plan of several hops


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
    resuming from the cluster's journal; the lock is released on every way out.

    An outside call that fails once the lock is taken stops apply with exit 4 naming the
    step, the call and the cause (:func:`_stopped`); the journal stays for the re-run."""
    kube = outside.kube
    take_lock(kube, plan, holder)
    session: Session | None = None
    try:
        pid = plan_id(text)
        journal = read_journal(kube)
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
        if resumed and session.journal.rolled_back:
            raise StalePlanError(
                f"plan for {plan.cluster}",
                f"`upgrader rollback` undid {', '.join(session.journal.rolled_back)} of "
                "this plan, so it no longer describes the cluster",
                "run `upgrader plan` again, review the new plan and apply that one",
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
            session.config = hop_config(plan, config, step.id)
            session.begin(step, STAGES[step.kind])
            if session.journal.current != step.id:
                _start_hop(session, step, config, outside.derive)
                _pre_gates(session, step)
                session.save(session.journal.start(step.id))
            began = session.clock.monotonic()
            _run_step(session, step, cleanup_leaked_enis=cleanup_leaked_enis)
            session.save(session.journal.finish(step.id))
            ran.append(step.id)
            _report_duration(session, step, session.clock.monotonic() - began)
        session.stage = session.step = None
        session.save(replace(session.journal, complete=True))
        session.emit("done", f"{plan.cluster} is at {plan.to.kubernetes}")
        return ApplyResult(plan, resumed, False, tuple(ran))
    except BaseException as err:
        if session is not None:
            _restore_quietly(session)
        if isinstance(err, OUTSIDE_FAILURES):
            raise stopped(err, session, plan) from None
        raise
    finally:
        release_lock(kube, holder, session)


def _start_hop(s: Session, step: Step, config: Config, derive: Derive | None) -> None:
    """Before the first step of a later hop: the cluster is what the plan predicted."""
    hop = starts_later_hop(s.plan, step.id)
    if hop is None:
        return
    if derive is not None:  # discovery of every stack of the plan, not just the hop's
        check_hop(s.plan, hop, s.discoverer(config), config, derive)
    s.emit("start", f"hop to Kubernetes {hop.kubernetes}: {len(hop.steps)} step(s)")


def take_lock(kube: KubePort, plan: Plan, holder: str) -> None:
    """Take the cluster's lease (exit 6 when another apply holds it)."""
    try:
        lease = kube.acquire_lease(
            LOCK_NAME, NAMESPACE, holder, seconds=LEASE_SECONDS, stale=stale_holder
        )
    except BaseException:
        kube.close()
        raise
    if not lease.acquired:
        kube.close()
        raise LockedError(
            f"cluster {plan.cluster}",
            f"another apply holds the lock (lease {NAMESPACE}/{LOCK_NAME}, holder {lease.holder})",
            "wait for it to finish (or for its lease to expire) and run apply again",
        )


# What an outside call raises when AWS or Kubernetes fails it (after the adapters' retries).
OUTSIDE_FAILURES = (
    CloudError,
    CloudAccessError,
    CloudNotFoundError,
    CloudUnreachableError,
    StackUpdateFailed,
)


def stopped(err: UpgraderError, s: Session | None, plan: Plan) -> UpgraderError:
    """An outside failure once the lock is held, as exit 4 naming where apply stopped, the
    call and its cause. Bad input found before the first step keeps its exit 2."""
    if s is not None and s.step is not None:
        where = f"step {s.step}"
    elif isinstance(err, CloudError | StackUpdateFailed):
        where = f"apply of the plan for {plan.cluster} (outside any step)"
    else:
        return err
    resume = f"re-run apply: it resumes from the journal (ConfigMap {NAMESPACE}/{JOURNAL_NAME})"
    hint = (
        err.hint if "re-run apply" in err.hint else f"{resume}; {err.hint.removeprefix('retry; ')}"
    )
    return StepFailedError(where, f"{err.subject}: {err.message}", hint)


def release_lock(kube: KubePort, holder: str, s: Session | None) -> None:
    """Give the lock up; a failure to do so never hides how apply ended (the lease
    expires by itself after LEASE_SECONDS)."""
    try:
        kube.release_lease(LOCK_NAME, NAMESPACE, holder)
    except UpgraderError as err:
        if s is not None:
            s.emit(
                "stop",
                f"could not release lease {NAMESPACE}/{LOCK_NAME} ({err.message}); "
                f"it expires within {LEASE_SECONDS} s",
            )
    finally:
        kube.close()


def check_fingerprint(plan: Plan, live: str) -> None:
    """The live cluster (its fingerprint ``live``) must be what ``plan`` was made from."""
    if live != plan.fingerprint:
        raise StalePlanError(
            f"plan for {plan.cluster}",
            "the cluster changed since the plan was made "
            f"(planned from {plan.fingerprint[:19]}…, now {live[:19]}…)",
            "run `upgrader plan` again, review the new plan and apply that one",
        )


def _check_fresh(s: Session, previous: Journal | None) -> None:
    """A new plan: the live cluster must be what it was planned from."""
    check_fingerprint(s.plan, s.discover().fingerprint())
    asgs = previous.asgs if previous is not None and not previous.complete else ()
    s.save(replace(s.journal, asgs=asgs))
    s.emit("start", f"applying {len(s.plan.steps)} step(s) to {s.plan.cluster}")


def _restore_quietly(s: Session) -> None:
    try:
        nodegroups.restore(s)
    except UpgraderError as err:
        s.emit("stop", f"could not restore everything: {err.render()}")
