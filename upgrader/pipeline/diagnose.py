"""``upgrader diagnose``: discover (read-only), ask each node's ipamd, diagnose.

Only ``--delete-leaked-enis`` writes: it deletes the ENIs finding IPAMD005 names (ipamd's
``aws-K8S-`` ENIs left ``available`` after their instance is gone), nothing else.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from upgrader import config as config_file
from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.discover import discover
from upgrader.adapters.kube_actions import KubeActions
from upgrader.diagnosis import Diagnosis
from upgrader.diagnosis import diagnose as run_checks
from upgrader.diagnosis.checks import aws_node_pod, running_cni
from upgrader.errors import BadInputError
from upgrader.gates.pool import leaked_enis
from upgrader.model.ipamd import IpamdView
from upgrader.runbook.ipamd import guide


def diagnose(
    config_path: Path, *, node: str | None = None, delete_leaked_enis: bool = False
) -> Diagnosis:
    """The diagnosis of the config's cluster (of ``node`` only, when given)."""
    cfg = config_file.load(config_path)
    state = discover(cfg)
    if node is not None and state.nodes and node not in {n.name for n in state.nodes}:
        names = ", ".join(sorted(n.name for n in state.nodes)[:5])
        raise BadInputError(
            f"--node {node}", f"is not a node of {cfg.cluster}", f"name one of: {names}"
        )
    version, env = running_cni(state)
    views: dict[str, IpamdView] = {}
    if version is not None:
        g = guide(version, env)
        aws = AwsActions.connect(cfg.region)
        kube = KubeActions.connect(cfg, aws)
        try:
            for n in state.nodes:
                if node in (None, n.name):
                    pod = aws_node_pod(state, n.name)
                    views[n.name] = kube.ipamd_view(n.name, pod, g)
        finally:
            kube.close()
    planned = cfg.target_cni.tag if cfg.target_cni else None
    result = run_checks(state, views, planned_cni=planned, only_node=node)
    if not delete_leaked_enis:
        return result
    aws = AwsActions.connect(cfg.region)
    deleted = []
    for eni in leaked_enis(state):
        aws.delete_eni(eni.eni_id)
        deleted.append(eni.eni_id)
    return dataclasses.replace(result, deleted_enis=tuple(deleted))
