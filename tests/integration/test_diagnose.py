"""`upgrader diagnose` on the twin: healthy Staging exits 0; then one subnet is filled
below a node's next ENI, a leaked `aws-K8S-` ENI sits beside it and pods pinned to the
node wait for addresses: exit 3 naming the subnet, the node, the pods and the ENI. Only
`--delete-leaked-enis --yes` writes, and it deletes only the leaked ENI. The exec path
(127.0.0.1:61679 from v1.3.4) is read on Modern."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for

pytestmark = pytest.mark.integration
READS = ("Describe", "List", "Get")


SHIPPED = Path(__file__).resolve().parents[2] / "twin" / "ekstwin" / "scenarios" / "staging.yaml"


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    """Staging with a third of its pods: every node holds two ENIs and can attach more
    (with all of them, where the scheduler puts the pods decides which node is full)."""
    scenario = yaml.safe_load(SHIPPED.read_text())
    for workload in scenario["workloads"]:
        workload["replicas"] = max(workload["replicas"] // 3, 1)
        workload.pop("pdb", None)
    path = tmp_path_factory.mktemp("scenario") / "staging-small.yaml"
    path.write_text(yaml.safe_dump(scenario))
    yield from sandbox(tmp_path_factory, str(path))


def _diagnose(live: SandboxClients, *args: str) -> tuple[int, dict[str, Any], str]:
    workdir = live.running.directory.parent
    done = live.upgrader("diagnose", "-c", str(live.running.config), *args, cwd=workdir)
    assert "Traceback" not in done.stderr
    if "--format" in args and "json" in args:
        return done.returncode, json.loads(done.stdout), done.stderr
    return done.returncode, {}, done.stdout + done.stderr


def _writes(live: SandboxClients, since: int) -> list[str]:
    return [r["action"] for r in live.aws_requests()[since:] if not r["action"].startswith(READS)]


def _subnet(live: SandboxClients, name: str) -> dict[str, Any]:
    subnets = live.ec2.describe_subnets()["Subnets"]
    return next(s for s in subnets if {"Key": "Name", "Value": name} in s.get("Tags", []))


def _burst(live: SandboxClients, node: str, replicas: int) -> None:
    live.apps.create_namespaced_deployment(
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "burst"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "burst"}},
                "template": {
                    "metadata": {"labels": {"app": "burst"}},
                    "spec": {
                        "nodeSelector": {"kubernetes.io/hostname": node},
                        "containers": [{"name": "c", "image": "nginx"}],
                    },
                },
            },
        },
    )


def test_healthy_then_a_dry_subnet_a_leak_and_waiting_pods(staging: SandboxClients) -> None:
    live = staging
    before = len(live.aws_requests())
    code, healthy, _ = _diagnose(live, "--format", "json")
    assert code == 0 and healthy["healthy"], healthy["findings"]
    assert all(n["ipamd"]["total"] for n in healthy["nodes"])  # read through the node proxy
    assert _writes(live, before) == []

    growing = next(s for s in healthy["subnets"] if s["next_need"] > 0)
    subnet_id, name = growing["subnet_id"], growing["name"]
    node = next(n["name"] for n in healthy["nodes"] if n["subnet"].startswith(subnet_id))
    leaked = live.ec2.create_network_interface(
        SubnetId=subnet_id,
        Description="aws-K8S-i-0123456789abcdef0",
        SecondaryPrivateIpAddressCount=9,
    )["NetworkInterface"]["NetworkInterfaceId"]
    free = _subnet(live, name)["AvailableIpAddressCount"]
    tenant = live.ec2.create_network_interface(
        SubnetId=subnet_id, Description="another team", SecondaryPrivateIpAddressCount=free - 7
    )["NetworkInterface"]["NetworkInterfaceId"]
    _burst(live, node, 30)  # more pods than its two ENIs hold: ipamd needs a third

    def failing() -> set[str] | None:
        events = live.core.list_namespaced_event(
            "default", field_selector="reason=FailedCreatePodSandBox"
        ).items
        pods = {e.involved_object.name for e in events if "burst" in e.involved_object.name}
        return pods if len(pods) >= 3 else None

    wait_for(failing, "pods failing to get an address", timeout=30)
    before = len(live.aws_requests())
    started = time.monotonic()
    code, found, _ = _diagnose(live, "--format", "json")
    assert time.monotonic() - started < 30
    assert code == 3 and not found["healthy"]
    assert _writes(live, before) == []
    by_code = {f["code"]: f for f in found["findings"]}
    short = by_code["IPAMD001"]
    assert subnet_id in short["subject"] and name in short["subject"]
    assert short["objects"]["nodes"] == [node]
    pending = {
        f"default/{p.metadata.name}"
        for p in live.core.list_namespaced_pod("default", label_selector="app=burst").items
        if p.status.phase == "Pending"
    }
    assert len(short["objects"]["pods"]) >= 3 and set(short["objects"]["pods"]) <= pending
    assert short["objects"]["enis"] == [leaked]
    assert by_code["IPAMD005"]["objects"]["enis"] == [leaked]
    (report,) = [n for n in found["nodes"] if n["name"] == node]
    assert report["ipamd"]["free"] == 0 and len(report["pods_waiting"]) >= 3

    code, _, markdown = _diagnose(live, "--format", "markdown", "--node", node)
    assert code == 3 and "### IPAMD001" in markdown and "ip rule list" in markdown

    code, _, refused = _diagnose(live, "--delete-leaked-enis")
    assert code == 2 and "--yes" in refused
    code, cleaned, _ = _diagnose(live, "--delete-leaked-enis", "--yes", "--format", "json")
    assert cleaned["deleted_enis"] == [leaked]
    left = {
        e["NetworkInterfaceId"] for e in live.ec2.describe_network_interfaces()["NetworkInterfaces"]
    }
    assert leaked not in left and tenant in left


def test_a_node_that_does_not_exist_is_bad_input(staging: SandboxClients) -> None:
    code, _, output = _diagnose(staging, "--node", "ip-10-9-9-9.nowhere")
    assert code == 2 and "is not a node of staging" in output


def test_modern_reads_introspection_through_exec(tmp_path_factory: pytest.TempPathFactory) -> None:
    for live in sandbox(tmp_path_factory, "modern"):
        code, found, _ = _diagnose(live, "--format", "json")
        assert code == 0, found["findings"]
        assert found["cni"].startswith("v1.19.")
        for node in found["nodes"]:
            assert any(s.startswith("exec aws-node-") for s in node["ipamd"]["sources"])
            assert node["ipamd"]["problems"] == []
            assert node["ipamd"]["total"] == sum(e["addresses"] - 1 for e in node["ec2_enis"])
            assert "awscni_assigned_ip_addresses" in node["ipamd"]["metrics"]
