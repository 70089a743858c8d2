"""kubectl and the official client against a live twin. A node's ipamd endpoints as the
VPC CNI troubleshooting guide reaches them, through the API server like on EKS:
``:61678/metrics`` through ``nodes/{node}:61678/proxy`` and introspection through
``pods/exec`` into aws-node running ``curl`` (``:61678`` before v1.3.4, ``127.0.0.1:61679``
after), plus ``pods/log``, the node's policy routes, ``describe`` and ``rollout status``.

What they show must be what EC2 holds: the ENIs attached to the instance, the secondary
addresses on them, the pods given one. Metric names are those ipamd registers at the
release (checked against the upstream names per tag).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.stream import stream

from tests.support.sandbox_clients import SandboxClients, sandbox

pytestmark = pytest.mark.integration
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="the kubectl binary is not on PATH")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "staging")


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "modern")


def _kubectl(live: SandboxClients, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KUBECONFIG": str(live.kubeconfig), "HOME": str(live.running.directory)},
    )


def _aws_node(live: SandboxClients) -> tuple[str, str, str]:
    """(pod name, node name, instance id) of the first node's aws-node."""
    pods = live.core.list_namespaced_pod("kube-system", label_selector="k8s-app=aws-node").items
    pod = sorted(pods, key=lambda p: p.spec.node_name)[0]
    node = live.core.read_node(pod.spec.node_name)
    return pod.metadata.name, node.metadata.name, node.spec.provider_id.rsplit("/", 1)[1]


def _exec(live: SandboxClients, pod: str, command: list[str]) -> str:
    """``command`` in ``pod`` through the official client's WebSocket ``stream``. The socket
    is shut here: after the server's close frame the client's ``close()`` does nothing."""
    ws = stream(
        live.core.connect_get_namespaced_pod_exec,
        pod,
        "kube-system",
        command=command,
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        ws.run_forever(timeout=30)
        out: str = ws.read_all()
        return out
    finally:
        ws.close()
        ws.sock.shutdown()


def _ec2_enis(live: SandboxClients, instance_id: str) -> dict[str, set[str]]:
    """ENI id -> its secondary IPv4 addresses, as EC2 reports them for the instance."""
    found = live.ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
    )["NetworkInterfaces"]
    return {
        e["NetworkInterfaceId"]: {
            a["PrivateIpAddress"] for a in e["PrivateIpAddresses"] if not a["Primary"]
        }
        for e in found
    }


def _pod_ips(live: SandboxClients, node: str) -> set[str]:
    pods = live.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    return {p.status.pod_ip for p in pods if not p.spec.host_network and p.status.pod_ip}


def _metrics(text: str) -> dict[str, list[tuple[str, float]]]:
    families: dict[str, list[tuple[str, float]]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, line
        families.setdefault(match[1], []).append((match[2] or "", float(match[3])))
    return families


def _upstream_names(upstream: Path, tag: str) -> set[str]:
    return set((upstream / "vpc-cni-metrics" / f"{tag}.txt").read_text().split())


# --- staging: CNI v1.3.2, one server on :61678 for metrics and introspection ------------


def test_v1_3_introspection_on_61678_shows_what_ec2_holds(staging: SandboxClients) -> None:
    pod, node, instance_id = _aws_node(staging)
    enis = json.loads(_exec(staging, pod, ["curl", "-s", "localhost:61678/v1/enis"]))
    ec2 = _ec2_enis(staging, instance_id)
    assert set(enis["ENIIPPools"]) == set(ec2)
    for eni_id, entry in enis["ENIIPPools"].items():
        assert set(entry["IPv4Addresses"]) == ec2[eni_id], eni_id
    assigned = {
        ip
        for entry in enis["ENIIPPools"].values()
        for ip, state in entry["IPv4Addresses"].items()
        if state["Assigned"]
    }
    assert assigned == _pod_ips(staging, node)
    assert enis["AssignedIPs"] == len(assigned)
    assert enis["TotalIPs"] == sum(len(ips) for ips in ec2.values())

    pods = json.loads(_exec(staging, pod, ["sh", "-c", "curl -s http://localhost:61678/v1/pods"]))
    assert {v["IP"] for v in pods.values()} == assigned


def test_v1_3_has_no_61679_and_proxy_reaches_only_61678(staging: SandboxClients) -> None:
    pod, node, _ = _aws_node(staging)
    refused = _exec(staging, pod, ["curl", "localhost:61679/v1/enis"])
    assert "Couldn't connect to server" in refused
    with pytest.raises(Exception, match=r"503|ServiceUnavailable"):
        staging.kube_request("GET", f"/api/v1/nodes/{node}:61679/proxy/v1/enis")


def test_v1_3_metrics_through_the_node_proxy_agree_with_ec2(staging: SandboxClients) -> None:
    _, node, instance_id = _aws_node(staging)
    families = _metrics(staging.core.connect_get_node_proxy_with_path(f"{node}:61678", "metrics"))
    ec2 = _ec2_enis(staging, instance_id)
    assert families["eni_allocated"] == [("", float(len(ec2)))]
    assert families["total_ip_addresses"] == [("", float(sum(len(i) for i in ec2.values())))]
    assert families["assigned_ip_addresses"] == [("", float(len(_pod_ips(staging, node))))]
    assert families["eni_max"] == [("", 4.0)]  # r5.xlarge
    assert not any(name.startswith("awscni_") for name in families)  # the prefix is v1.4's


@needs_kubectl
def test_kubectl_exec_logs_and_routes(staging: SandboxClients) -> None:
    pod, node, _ = _aws_node(staging)
    rules = _kubectl(staging, "-n", "kube-system", "exec", pod, "--", "ip", "rule", "list")
    assert rules.returncode == 0, rules.stderr
    to_pod = {line.split()[4] for line in rules.stdout.splitlines() if line.startswith("512:")}
    assert to_pod == _pod_ips(staging, node)
    routes = _kubectl(staging, "-n", "kube-system", "exec", pod, "--", "ip", "route", "show")
    assert routes.stdout.startswith("default via "), routes

    missing = _kubectl(staging, "-n", "kube-system", "exec", pod, "--", "dig", "kubernetes")
    assert missing.returncode != 0 and "executable file not found" in missing.stderr
    failed = _kubectl(staging, "-n", "kube-system", "exec", pod, "--", "false")
    assert failed.returncode == 1, failed

    logs = _kubectl(staging, "-n", "kube-system", "logs", pod, "--timestamps")
    assert logs.returncode == 0, logs.stderr
    wrong = _kubectl(staging, "-n", "kube-system", "logs", pod, "-c", "nope")
    assert wrong.returncode != 0 and "container nope is not valid" in wrong.stderr


# --- modern: CNI v1.19.2, metrics on :61678, introspection on 127.0.0.1:61679 ------------


@needs_kubectl
def test_v1_19_metrics_have_the_release_names(modern: SandboxClients, upstream: Path) -> None:
    _, node, instance_id = _aws_node(modern)
    got = _kubectl(modern, "get", "--raw", f"/api/v1/nodes/{node}:61678/proxy/metrics")
    assert got.returncode == 0, got.stderr
    families = _metrics(got.stdout)
    ipamd = {n for n in families if not n.startswith(("go_", "process_"))}
    known = _upstream_names(upstream, "v1.19.6")
    assert {n for n in ipamd if not re.search(r"\d", n)} <= known
    assert "awscni_ec2api_req_count" in ipamd  # upstream's list lacks names with digits
    assert families["awscni_eni_allocated"] == [("", float(len(_ec2_enis(modern, instance_id))))]
    per_eni = {labels for labels, _ in families["awscni_assigned_ip_per_eni"]}
    assert per_eni == {f'{{eni="{e}"}}' for e in _ec2_enis(modern, instance_id)}

    local_only = _kubectl(modern, "get", "--raw", f"/api/v1/nodes/{node}:61679/proxy/v1/enis")
    assert local_only.returncode != 0 and "ServiceUnavailable" in local_only.stderr


@needs_kubectl
def test_v1_19_introspection_on_localhost_61679(modern: SandboxClients) -> None:
    pod, node, instance_id = _aws_node(modern)
    got = _kubectl(
        modern, "-n", "kube-system", "exec", pod, "--", "curl", "-s", "localhost:61679/v1/enis"
    )
    assert got.returncode == 0, got.stderr
    body: dict[str, Any] = json.loads(got.stdout)
    ec2 = _ec2_enis(modern, instance_id)
    assert set(body["ENIs"]) == set(ec2)
    assigned = {
        record["Address"]
        for eni in body["ENIs"].values()
        for cidr in eni["AvailableIPv4Cidrs"].values()
        for record in (cidr.get("IPAddresses") or {}).values()
        if record.get("IPAMKey", {}).get("containerID")
    }
    assert assigned == _pod_ips(modern, node)
    pods_gone = _kubectl(
        modern, "-n", "kube-system", "exec", pod, "--", "curl", "-sf", "localhost:61679/v1/pods"
    )
    assert json.loads(pods_gone.stdout)["AvailableCommands"]  # /v1/pods went in v1.7


@needs_kubectl
def test_kubectl_describe_and_rollout_status(staging: SandboxClients) -> None:
    pod, node, _ = _aws_node(staging)
    described = _kubectl(staging, "describe", "node", node)
    assert described.returncode == 0, described.stderr
    for heading in ("Conditions:", "Non-terminated Pods:", "Allocated resources:"):
        assert heading in described.stdout, heading
    assert pod in described.stdout
    of_pod = _kubectl(staging, "-n", "kube-system", "describe", "pod", pod)
    assert of_pod.returncode == 0 and "Status:           Running" in of_pod.stdout, of_pod

    daemonset = _kubectl(
        staging, "-n", "kube-system", "rollout", "status", "ds/aws-node", "--timeout=20s"
    )
    assert 'daemon set "aws-node" successfully rolled out' in daemonset.stdout, daemonset
    deployment = staging.apps.list_deployment_for_all_namespaces().items[0]
    name, namespace = deployment.metadata.name, deployment.metadata.namespace
    rolled = _kubectl(
        staging, "-n", namespace, "rollout", "status", f"deployment/{name}", "--timeout=20s"
    )
    assert f'deployment "{name}" successfully rolled out' in rolled.stdout, rolled
