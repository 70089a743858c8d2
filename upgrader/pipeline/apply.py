"""``upgrader apply`` and ``upgrader status``.

Apply checks, before it takes the lock and before any write, that the plan file is
the one reviewed (digest, ``--expect-digest``, images, change sets, and the steps the
planner derives again from the same inputs on the live state) and that the cluster is
still the one planned from (exit 5 when not). A re-run of a plan the cluster's journal
already started resumes instead: the journal holds the plan's identity, checked then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from upgrader import config as config_file
from upgrader.adapters import aws_state
from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.discover import discover
from upgrader.adapters.kube_actions import KubeActions
from upgrader.executor.journal import JOURNAL_NAME, NAMESPACE, Journal, plan_id
from upgrader.executor.progress import Sink
from upgrader.executor.run import (
    ApplyResult,
    Outside,
    check_fingerprint,
    config_from_plan,
    load_plan,
    new_holder,
    run_plan,
)
from upgrader.executor.session import JOURNAL_KEY
from upgrader.model.plan import Plan
from upgrader.pipeline.plan import derive
from upgrader.pipeline.reviewed import (
    check_change_sets,
    check_expected_digest,
    check_images,
    check_rederived,
)
from upgrader.polling import WALL, Clock

WATCH_SYNC_SECONDS = 30.0  # for the first lists of the node and pod watches


def apply(
    plan_path: Path,
    *,
    sink: Sink,
    cleanup_leaked_enis: bool = False,
    expect_digest: str | None = None,
    confirm: Callable[[Plan], None] | None = None,
    clock: Clock = WALL,
) -> ApplyResult:
    """Run a reviewed plan; raises with the contract exit code when it stops.
    ``confirm`` is asked once every check passed, before the lock (it raises to stop);
    ``clock`` paces every wait (a stepped twin's :class:`~upgrader.sandbox.clock.TwinClock`)."""
    text, plan = load_plan(plan_path)
    source = str(plan_path)
    check_expected_digest(plan, source, expect_digest)
    check_images(plan, source)
    config = config_from_plan(plan)
    aws = AwsActions.connect(plan.region)
    aws_state.eks_cluster(aws.aws, plan.cluster)  # another cluster or region: exit 2, fast
    kube = KubeActions.connect(config, aws)
    try:
        journal = _journal(kube)
        if journal is None or journal.plan != plan_id(text):
            state = discover(config)
            check_fingerprint(plan, state.fingerprint())
            check_rederived(plan, derive(state, config), source)
        check_change_sets(plan, source)
        if confirm is not None:
            confirm(plan)
        # The roll's waits read nodes and pods from watches, not a list per poll; until
        # the first lists are in (or whenever a watch is down) they list over HTTP.
        kube.start_watches(wait_seconds=WATCH_SYNC_SECONDS)
    except BaseException:
        kube.close()
        raise
    return run_plan(
        text,
        plan,
        config,
        Outside(aws=aws, kube=kube, derive=derive, clock=clock),
        sink=sink,
        holder=new_holder(),
        cleanup_leaked_enis=cleanup_leaked_enis,
    )


def _journal(kube: KubeActions) -> Journal | None:
    data = kube.read_config_map(JOURNAL_NAME, NAMESPACE)
    return Journal.from_json(data[JOURNAL_KEY]) if data and JOURNAL_KEY in data else None


@dataclass(frozen=True, slots=True)
class Status:
    cluster: str
    journal: Journal | None


def status(config_path: Path) -> Status:
    """``upgrader status``: the journal of the upgrade running or last run on the cluster."""
    cfg = config_file.load(config_path)
    aws = AwsActions.connect(cfg.region)
    aws.cluster_version(cfg.cluster)  # a cluster that does not exist is bad input (exit 2)
    kube = KubeActions.connect(cfg, aws)
    try:
        return Status(cfg.cluster, _journal(kube))
    finally:
        kube.close()
