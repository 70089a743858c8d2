"""Driving a live sandbox for the apply tests: the command line, injected faults and
the pod watcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.sandbox_clients import SandboxClients
from tests.support.watchers import PodWatcher, start_watcher
from upgrader.executor.journal import JOURNAL_NAME, NAMESPACE
from upgrader.executor.session import JOURNAL_KEY
from upgrader.sandbox import control

Kill = Callable[[dict[str, Any]], bool]
PDBS_V1BETA1 = "/apis/policy/v1beta1/poddisruptionbudgets"


class Cluster(SandboxClients):
    """A live sandbox driven only through the command line and the standard clients."""

    def __init__(self, running: control.Running) -> None:
        super().__init__(running)
        self.workdir = running.directory.parent
        self.plan_file = self.workdir / "plan.json"

    def plan(self) -> None:
        result = self.upgrader(
            "plan",
            "-c",
            str(self.running.config),
            "--out",
            str(self.plan_file),
            cwd=self.workdir,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def planned(self, pdbs: str = PDBS_V1BETA1) -> tuple[set[str], dict[str, Any], PodWatcher]:
        """Plan, and what the end state is checked against: the nodes and the ASG before
        apply, and a watcher of every pod and budget from now on."""
        nodes = {n.spec.provider_id for n in self.core.list_node().items}
        asg = self.asg_state()
        self.plan()
        return nodes, asg, self.watcher(pdbs)

    def apply(
        self,
        kill: Kill | None = None,
        *,
        holder: str | None = None,
        before_kill: Callable[[], object] | None = None,
    ) -> tuple[int, list[dict[str, Any]], str]:
        return run_apply(
            self.env, self.plan_file, self.workdir, kill, holder=holder, before_kill=before_kill
        )

    def kube_fault(self, spec: dict[str, Any]) -> None:
        """Set the API server's fault rates (``apiserver_429``, ``apiserver_500``)."""
        rates = self.kube_request("POST", "/_sandbox/faults", spec)
        assert all(rates[k] == v for k, v in spec.items()), rates

    def journal(self) -> dict[str, Any]:
        """The apply journal as the cluster holds it."""
        path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{JOURNAL_NAME}"
        doc: dict[str, Any] = json.loads(self.kube_request("GET", path)["data"][JOURNAL_KEY])
        return doc

    def fault(self, spec: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.env["AWS_ENDPOINT_URL"] + "/_sandbox/faults",
            data=json.dumps(spec).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def asg_state(self) -> dict[str, Any]:
        group = self.asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
        return {
            "min": group["MinSize"],
            "max": group["MaxSize"],
            "desired": group["DesiredCapacity"],
            "suspended": sorted(p["ProcessName"] for p in group.get("SuspendedProcesses", [])),
        }

    def watcher(self, pdb_path: str) -> PodWatcher:
        return start_watcher(self.kubeconfig, pdb_path)


# `upgrader apply` as another host runs it: the same command line, with the lock's holder
# identity (normally host/pid/random of this process) replaced in the test's process only.
AS_HOLDER = """
import importlib, sys
from upgrader.cli import main
holder = sys.argv.pop(1)
importlib.import_module("upgrader.pipeline.apply").new_holder = lambda: holder
sys.argv[0] = "upgrader"
main()
"""


def run_apply(
    env: dict[str, str],
    plan: Path,
    cwd: Path,
    kill: Kill | None = None,
    timeout: float = 300,
    *,
    holder: str | None = None,
    before_kill: Callable[[], object] | None = None,
) -> tuple[int, list[dict[str, Any]], str]:
    """Run apply; with ``kill``, SIGKILL it at the first event ``kill`` accepts (with
    ``before_kill``, it is stopped (SIGSTOP) there first, alive and holding its lock, while
    ``before_kill`` runs); with ``holder``, as if from another machine: the lock is held
    under that identity."""
    command = ["apply", str(plan), "--yes", "--format", "json"]
    if holder is None:
        command = [sys.executable, "-m", "upgrader", *command]
    else:
        command = [sys.executable, "-c", AS_HOLDER, holder, *command]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, **env},
    )
    assert proc.stdout is not None and proc.stderr is not None
    events = []
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        if kill is not None and kill(event):
            if before_kill is not None:
                proc.send_signal(signal.SIGSTOP)
                before_kill()
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=timeout)
    stderr = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, events, stderr


def assert_upgraded(c: Cluster, kubernetes: str, cni_prefix: str, nodes_before: set[str]) -> None:
    cluster = c.eks.describe_cluster(name=c.running.scenario)["cluster"]
    assert cluster["version"] == kubernetes
    nodes = c.core.list_node().items
    assert nodes and not {n.spec.provider_id for n in nodes} & nodes_before  # all replaced
    for node in nodes:
        assert node.status.node_info.kubelet_version.startswith(f"v{kubernetes}.")
        assert not node.spec.unschedulable
    ds = c.apps.read_namespaced_daemon_set("aws-node", "kube-system")
    assert ds.spec.template.spec.containers[0].image.rsplit(":", 1)[1].startswith(cni_prefix)
    for d in c.apps.list_deployment_for_all_namespaces().items:
        assert d.status.ready_replicas == d.spec.replicas, d.metadata.name
    pods = c.core.list_pod_for_all_namespaces().items
    assert all(p.status.phase == "Running" for p in pods)


def assert_nothing_lost(
    c: Cluster,
    watcher: PodWatcher,
    *,
    nodes_before: set[str],
    asg_before: dict[str, Any],
    cni_prefix: str = "v1.5.",
) -> None:
    """The end state every fault test demands: upgraded, every workload pod Running, no PDB
    violated and no pod lost (no node terminated undrained), the ASG as it was (sizes and
    suspended processes), each old node terminated once, and the journal complete."""
    watcher.finish()
    lists = (watcher.errors, watcher.violations, watcher.lost)
    assert lists == ([], [], []), f"errors, violations, lost: {lists}"
    assert_upgraded(c, "1.13", cni_prefix, nodes_before)
    assert c.asg_state() == asg_before
    terminated = [
        r for r in c.aws_requests() if r["action"] == "TerminateInstanceInAutoScalingGroup"
    ]
    assert len([r for r in terminated if not r.get("fault")]) == len(nodes_before)
    journal = c.journal()
    assert journal["complete"] and journal["current"] is None and journal["cordoned"] == []
    assert len(set(journal["terminated"])) == len(journal["terminated"]) == len(nodes_before)
