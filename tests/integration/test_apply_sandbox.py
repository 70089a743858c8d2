"""`upgrader apply` end to end on the sandbox: the upgrade itself, its stops with
their exit codes, and resuming after being killed anywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from kubernetes import client, config

from tests.integration.watchers import PodWatcher, kube_request
from upgrader.sandbox import control, files

pytestmark = pytest.mark.integration
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


def _live(tmp_path_factory: pytest.TempPathFactory, scenario: str) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp(scenario)
    running = control.up(scenario, directory / "sandbox")
    try:
        yield Cluster(running, directory)
    finally:
        control.down(running.directory)


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from _live(tmp_path_factory, "staging")


def _assert_upgraded(c: Cluster, kubernetes: str, cni_prefix: str, nodes_before: set[str]) -> None:
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


def test_staging_upgrade_stops_on_a_failed_stack_update_then_resumes_to_the_end(
    staging: Cluster,
) -> None:
    c = staging
    nodes_before = {n.spec.provider_id for n in c.core.list_node().items}
    asg_before = c.asg_state()
    c.plan()
    watcher = c.watcher("/apis/policy/v1beta1/poddisruptionbudgets")
    c.fault(
        {
            "fail_stack_update": {
                "stack": "staging-eks",
                "resource": "Cluster",
                "reason": "Resource handler returned message: boom",
            }
        }
    )
    code, events, stderr = c.apply()
    assert code == 4, stderr
    assert "Cluster" in stderr and "boom" in stderr  # the failing resource and its event
    started = time.monotonic()
    code, events, stderr = c.apply()
    elapsed = time.monotonic() - started
    watcher.finish()
    assert code == 0, stderr
    assert events[0]["kind"] == "start" and "resuming" in events[0]["message"]
    assert events[-1]["kind"] == "done"
    assert any(e["kind"] == "wave" for e in events)
    _assert_upgraded(c, "1.13", "v1.5.", nodes_before)
    assert c.asg_state() == asg_before
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    assert min(watcher.lowest.values()) == 0  # some budget was used to its limit
    print(f"staging apply after the failed update: {elapsed:.1f} s wall")


KILL_POINTS: list[tuple[str, Kill]] = [
    ("journal started", lambda e: e["kind"] == "start"),
    ("control-plane wait", lambda e: e.get("step") == "control-plane" and e["kind"] == "wait"),
    ("between stages", lambda e: e.get("step") == "kube-proxy" and e["kind"] == "step"),
    (
        "mid CNI rollout",
        lambda e: e.get("step", "").startswith("cni-") and "applied" in e["message"],
    ),
    (
        "node group stack",
        lambda e: e.get("step", "").startswith("nodegroup-stack") and "executing" in e["message"],
    ),
    ("wave start", lambda e: e["kind"] == "wave"),
    ("surge", lambda e: "Ready at" in e["message"] and e["kind"] == "wait"),
    ("mid drain", lambda e: "draining" in e["message"]),
    ("between terminations", lambda e: e["kind"] == "node" and "terminated" in e["message"]),
    ("verify", lambda e: e.get("step") == "verify" and e["kind"] == "step"),
]


def test_killed_anywhere_resumes_to_the_same_end(staging: Cluster) -> None:
    c = staging
    nodes_before = {n.spec.provider_id for n in c.core.list_node().items}
    asg_before = c.asg_state()
    c.plan()
    watcher = c.watcher("/apis/policy/v1beta1/poddisruptionbudgets")
    killed = []
    for name, point in KILL_POINTS:
        code, events, stderr = c.apply(kill=point)
        if code == 0:
            break  # the remaining points were passed without stopping there
        assert code == -signal.SIGKILL, (name, code, stderr)
        killed.append(name)
    code, events, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert len(killed) >= 8, killed
    _assert_upgraded(c, "1.13", "v1.5.", nodes_before)
    assert c.asg_state() == asg_before
    terminated = [
        r for r in c.aws_requests() if r["action"] == "TerminateInstanceInAutoScalingGroup"
    ]
    assert len(terminated) == len(nodes_before)  # each old node once, never twice
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    again, events, _ = c.apply()  # the journal says done
    assert again == 0 and "already" in events[-1]["message"]


def test_second_apply_exits_6_and_a_changed_cluster_exits_5(staging: Cluster) -> None:
    c = staging
    c.plan()
    lease = {
        "apiVersion": "coordination.k8s.io/v1beta1",
        "kind": "Lease",
        "metadata": {"name": "upgrader-lock", "namespace": "kube-system"},
        "spec": {
            "holderIdentity": "ci-runner-7/4242/abcd",
            "leaseDurationSeconds": 600,
            "renewTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        },
    }
    path = "/apis/coordination.k8s.io/v1beta1/namespaces/kube-system/leases"
    kube_request(Path(c.env["KUBECONFIG"]), "POST", path, lease)
    code, _, stderr = c.apply()
    assert code == 6 and "ci-runner-7/4242/abcd" in stderr
    kube_request(Path(c.env["KUBECONFIG"]), "DELETE", f"{path}/upgrader-lock")
    (group,) = c.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    c.asg.set_desired_capacity(
        AutoScalingGroupName=group["AutoScalingGroupName"],
        DesiredCapacity=group["DesiredCapacity"] + 1,
    )
    code, _, stderr = c.apply()
    assert code == 5 and "changed since the plan" in stderr


@pytest.fixture
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from _live(tmp_path_factory, "modern")


def test_modern_upgrades_end_to_end_with_a_managed_group(modern: Cluster) -> None:
    c = modern
    nodes_before = {n.spec.provider_id for n in c.core.list_node().items}
    asg_before = c.asg_state()
    c.plan()
    watcher = c.watcher("/apis/policy/v1/poddisruptionbudgets")
    code, _, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    _assert_upgraded(c, "1.32", "v1.20.", nodes_before)
    managed = c.eks.describe_nodegroup(clusterName="modern", nodegroupName="general")["nodegroup"]
    assert managed["version"] == "1.32" and managed["status"] == "ACTIVE"
    assert c.asg_state() == asg_before
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []


def test_demo_command_runs_the_whole_job(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "upgrader", "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert elapsed < 180
    assert "1.12 -> 1.13" in result.stdout
    assert (tmp_path / "demo" / "plan.json").is_file()
    assert (tmp_path / "demo" / "runbook.md").read_text().startswith("#")
    assert str(tmp_path / "demo" / "runbook.md") in result.stdout
    assert "staging is at 1.13" in result.stdout
    print(f"upgrader demo: {elapsed:.1f} s wall")
