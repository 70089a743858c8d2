"""Server-side printing: the Table builder on its own, then the real ``kubectl`` binary
against a live sandbox, configured only from the sandbox's env file."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ekstwin.kubeapi import BadRequest
from ekstwin.kubeapi.tables import build_table, human_duration, table_version
from tests.support.sandbox_clients import SandboxClients, sandbox

NOW = 1_700_000_000.0
CREATED = "2023-11-14T22:13:10Z"  # NOW - 10 s
KUBECTL_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
KUBECTL = shutil.which("kubectl")


def _pod(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "app", "creationTimestamp": CREATED},
        "spec": {"nodeName": "ip-10-0-0-4", "containers": [{"name": "web", "image": "nginx"}]},
        "status": status,
    }


def _node(*, unschedulable: bool = False, ready: str = "True") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "ip-10-0-0-4",
            "creationTimestamp": CREATED,
            "labels": {"node-role.kubernetes.io/worker": ""},
        },
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.4"}],
            "nodeInfo": {"kubeletVersion": "v1.32.3-eks", "osImage": "Amazon Linux 2"},
        },
    }


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (45, "45s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (12_000, "3h20m"),
        (36_000, "10h"),
        (4 * 86_400 + 7_200, "4d2h"),
        (30 * 86_400, "30d"),
        ((2 * 365 + 30) * 86_400, "2y30d"),
        (9 * 365 * 86_400, "9y"),
    ],
)
def test_ages_read_like_go_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_kubectl_accept_header_picks_the_newest_table_the_cluster_serves() -> None:
    assert table_version(KUBECTL_ACCEPT, (1, 31)) == "v1"
    assert table_version(KUBECTL_ACCEPT, (1, 12)) == "v1beta1"
    assert table_version("application/json", (1, 31)) is None
    assert table_version("application/json;as=Table;v=v1;g=other.io", (1, 31)) is None


def test_pod_waiting_for_an_address_reads_container_creating() -> None:
    pod = _pod(
        phase="Pending",
        containerStatuses=[
            {
                "name": "web",
                "ready": False,
                "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
        ],
    )
    table = build_table("pods", [pod], now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ]
    wide = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 1]
    assert wide == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    [row] = table["rows"]
    assert row["cells"] == [
        "web-1",
        "0/1",
        "ContainerCreating",
        "0",
        "10s",
        "<none>",
        "ip-10-0-0-4",
        "<none>",
        "<none>",
    ]


def test_running_terminating_and_completed_pods() -> None:
    running = _pod(
        phase="Running",
        podIP="10.0.0.9",
        containerStatuses=[
            {"name": "web", "ready": True, "restartCount": 2, "state": {"running": {}}}
        ],
    )
    assert build_table("pods", [running], now=NOW)["rows"][0]["cells"][:5] == [
        "web-1",
        "1/1",
        "Running",
        "2",
        "10s",
    ]
    running["metadata"]["deletionTimestamp"] = CREATED
    assert build_table("pods", [running], now=NOW)["rows"][0]["cells"][2] == "Terminating"
    done = _pod(
        phase="Succeeded",
        containerStatuses=[
            {"name": "web", "ready": False, "state": {"terminated": {"reason": "Completed"}}}
        ],
    )
    [row] = build_table("pods", [done], now=NOW)["rows"]
    assert row["cells"][2] == "Completed"
    assert row["conditions"][0]["type"] == "Completed"


def test_cordoned_node_reads_ready_scheduling_disabled() -> None:
    table = build_table("nodes", [_node(unschedulable=True), _node(ready="False")], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
    ]
    cordoned, not_ready = (r["cells"] for r in table["rows"])
    assert cordoned[:5] == [
        "ip-10-0-0-4",
        "Ready,SchedulingDisabled",
        "worker",
        "10s",
        "v1.32.3-eks",
    ]
    assert cordoned[5:] == ["10.0.0.4", "<none>", "Amazon Linux 2", "<unknown>", "<unknown>"]
    assert not_ready[1] == "NotReady"


def test_include_object_none_metadata_object() -> None:
    pod = _pod(phase="Running")
    metadata = build_table("pods", [pod], now=NOW, version="v1beta1")["rows"][0]["object"]
    assert metadata == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1beta1",
        "metadata": pod["metadata"],
    }
    assert build_table("pods", [pod], now=NOW, include_object="None")["rows"][0]["object"] is None
    whole = build_table("pods", [pod], now=NOW, include_object="Object")["rows"][0]["object"]
    assert whole == pod
    with pytest.raises(BadRequest):
        build_table("pods", [pod], now=NOW, include_object="Everything")


def test_resources_without_a_printer_get_name_and_age() -> None:
    account = {"metadata": {"name": "aws-node", "creationTimestamp": CREATED}}
    table = build_table(
        "serviceaccounts", [account], now=NOW, list_metadata={"resourceVersion": "7"}
    )
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "7"}
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["aws-node", "10s"]


def test_pdb_deployment_and_daemonset_rows() -> None:
    pdb = {
        "metadata": {"name": "web", "creationTimestamp": CREATED},
        "spec": {"maxUnavailable": 1},
        "status": {"disruptionsAllowed": 1},
    }
    assert build_table("poddisruptionbudgets.policy", [pdb], now=NOW)["rows"][0]["cells"] == [
        "web",
        "N/A",
        "1",
        1,
        "10s",
    ]
    deployment = {
        "metadata": {"name": "web", "creationTimestamp": CREATED},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    cells = build_table("deployments.apps", [deployment], now=NOW)["rows"][0]["cells"]
    assert cells[:5] == ["web", "2/3", 3, 2, "10s"]
    assert cells[-1] == "app=web"


# --- kubectl against a live sandbox ------------------------------------------------------

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="the kubectl binary is not on PATH")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    if KUBECTL is None:
        pytest.skip("the kubectl binary is not on PATH")
    yield from sandbox(tmp_path_factory, "dev")


@pytest.fixture(scope="module")
def kube_env(dev: SandboxClients) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": dev.env["KUBECONFIG"]}


def _kubectl(env: dict[str, str], *args: str) -> list[list[str]]:
    """Run kubectl; its output as rows of whitespace-separated cells (header first)."""
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, *args], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    return [line.split() for line in done.stdout.splitlines() if line.strip()]


@needs_kubectl
@pytest.mark.integration
def test_kubectl_get_pods_prints_the_real_columns(kube_env: dict[str, str]) -> None:
    header, *rows = _kubectl(kube_env, "get", "pods", "-A")
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(rows) == 9  # 3 workloads, 2 coredns, aws-node and kube-proxy on 2 nodes
    for namespace, name, ready, status, restarts, _age in rows:
        assert (ready, status, restarts) == ("1/1", "Running", "0"), f"{namespace}/{name}"
    header, *rows = _kubectl(kube_env, "get", "pods", "-n", "api", "-o", "wide")
    assert header == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert rows[0][5].startswith("10.10.")


@needs_kubectl
@pytest.mark.integration
def test_kubectl_get_nodes_wide_and_a_cordoned_node(kube_env: dict[str, str]) -> None:
    header, *rows = _kubectl(kube_env, "get", "nodes", "-o", "wide")
    assert header[:8] == [
        "NAME",
        "STATUS",
        "ROLES",
        "AGE",
        "VERSION",
        "INTERNAL-IP",
        "EXTERNAL-IP",
        "OS-IMAGE",
    ]
    assert header[-2:] == ["KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert len(rows) == 2
    for row in rows:
        assert row[1:3] == ["Ready", "<none>"]
        assert row[4].startswith("v1.12.")
        assert row[0].startswith("ip-" + row[5].replace(".", "-"))
    node = rows[0][0]
    _kubectl(kube_env, "cordon", node)
    try:
        [_, row] = _kubectl(kube_env, "get", "node", node)
        assert row[1] == "Ready,SchedulingDisabled"
    finally:
        _kubectl(kube_env, "uncordon", node)
    [_, row] = _kubectl(kube_env, "get", "node", node)
    assert row[1] == "Ready"


@needs_kubectl
@pytest.mark.integration
def test_kubectl_get_workloads_and_budgets(kube_env: dict[str, str]) -> None:
    header, *rows = _kubectl(kube_env, "get", "deployments", "-n", "kube-system")
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[0][:4] == ["coredns", "2/2", "2", "2"]
    header, *rows = _kubectl(kube_env, "get", "daemonsets", "-n", "kube-system")
    assert header == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE",
        "SELECTOR",
        "AGE",
    ]
    assert [r[:6] for r in rows] == [
        ["aws-node", "2", "2", "2", "2", "2"],
        ["kube-proxy", "2", "2", "2", "2", "2"],
    ]
    header, *_ = _kubectl(kube_env, "get", "namespaces")
    assert header == ["NAME", "STATUS", "AGE"]
    header, *rows = _kubectl(kube_env, "get", "serviceaccounts", "-n", "kube-system")
    assert header == ["NAME", "AGE"]


@needs_kubectl
@pytest.mark.integration
def test_kubectl_watch_prints_table_rows(kube_env: dict[str, str]) -> None:
    assert KUBECTL is not None
    watcher = subprocess.Popen(
        [KUBECTL, "get", "pods", "-n", "web", "-w"],
        env=kube_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        header = watcher.stdout.readline().split()
        assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        watcher.stdout.readline()  # the existing pod
        _kubectl(kube_env, "scale", "-n", "web", "deployment/web", "--replicas=2")
        deadline = time.monotonic() + 30
        seen: list[list[str]] = []
        while time.monotonic() < deadline:
            seen.append(watcher.stdout.readline().split())
            if seen[-1][1:3] == ["1/1", "Running"]:
                break
        assert seen[-1][1:3] == ["1/1", "Running"], seen
        assert all(len(row) == 5 for row in seen), "every event prints as a table row"
    finally:
        watcher.terminate()
        watcher.communicate(timeout=10)
        _kubectl(kube_env, "scale", "-n", "web", "deployment/web", "--replicas=1")
