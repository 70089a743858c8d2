"""``upgrader apply`` and ``upgrader status``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from upgrader import config as config_file
from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.kube_actions import KubeActions
from upgrader.executor.journal import JOURNAL_NAME, NAMESPACE, Journal
from upgrader.executor.progress import Sink
from upgrader.executor.run import ApplyResult
from upgrader.executor.run import apply as run_apply
from upgrader.executor.session import JOURNAL_KEY


def apply(plan: Path, *, sink: Sink, cleanup_leaked_enis: bool = False) -> ApplyResult:
    """Run a reviewed plan; raises with the contract exit code when it stops."""
    return run_apply(plan, sink=sink, cleanup_leaked_enis=cleanup_leaked_enis)


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
        data = kube.read_config_map(JOURNAL_NAME, NAMESPACE)
    finally:
        kube.close()
    journal = Journal.from_json(data[JOURNAL_KEY]) if data and JOURNAL_KEY in data else None
    return Status(cfg.cluster, journal)
