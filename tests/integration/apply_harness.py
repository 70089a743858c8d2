"""Driving a live sandbox for the apply tests: the command line, the standard clients,
the request log, injected faults and the pod watcher."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from kubernetes import client, config

from tests.integration.watchers import PodWatcher
from upgrader.sandbox import control, files

Kill = Callable[[dict[str, Any]], bool]


class Cluster:
    """A live sandbox driven only through the command line and the standard clients."""

    def __init__(self, running: control.Running, workdir: Path) -> None:
        self.running = running
        self.workdir = workdir
        self.env = files.parse_env(running.env.read_text())
        session = boto3.session.Session(
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_REGION"],
        )
        url = self.env["AWS_ENDPOINT_URL"]
        self.asg = session.client("autoscaling", endpoint_url=url)
        self.eks = session.client("eks", endpoint_url=url)
        self.cfn = session.client("cloudformation", endpoint_url=url)
        api = config.new_client_from_config(config_file=self.env["KUBECONFIG"])
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.plan_file = workdir / "plan.json"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "upgrader", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=self.workdir,
            env={**os.environ, **self.env},
        )

    def plan(self) -> None:
        result = self.run("plan", "-c", str(self.running.config), "--out", str(self.plan_file))
        assert result.returncode == 0, result.stdout + result.stderr

    def apply(self, kill: Kill | None = None) -> tuple[int, list[dict[str, Any]], str]:
        """Run apply; with ``kill``, SIGKILL it at the first event ``kill`` accepts."""
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "upgrader",
                "apply",
                str(self.plan_file),
                "--yes",
                "--format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.workdir,
            env={**os.environ, **self.env},
        )
        assert proc.stdout is not None and proc.stderr is not None
        events = []
        for line in proc.stdout:
            event = json.loads(line)
            events.append(event)
            if kill is not None and kill(event):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=300)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        return proc.returncode, events, stderr

    def aws_requests(self) -> list[dict[str, Any]]:
        url = self.env["AWS_ENDPOINT_URL"] + "/_sandbox/requests"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

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
        w = PodWatcher(Path(self.env["KUBECONFIG"]), pdb_path)
        w.start()
        assert w.started.wait(10)
        return w


def live_cluster(tmp_path_factory: pytest.TempPathFactory, scenario: str) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp(scenario)
    running = control.up(scenario, directory / "sandbox")
    try:
        yield Cluster(running, directory)
    finally:
        control.down(running.directory)


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
