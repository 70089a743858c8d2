"""Two public upgrade tools nobody here wrote, run unchanged against the Staging twin from
their own virtual environments (``.ci/run`` installs them into ``.venv-peers/``):

- hellofresh's ``eks-rolling-update`` 1.1.8 rolls the node group after the team pointed its
  Auto Scaling group at a new launch configuration. It stops at its drain, for its own
  reason: it passes ``--delete-local-data``, which kubectl 1.32 no longer knows. Re-run
  with that flag renamed (the fix its users apply, hellofresh/eks-rolling-update#134) it
  resumes from its own ASG tags and completes.
- aws-samples' ``eksupgrade`` 0.9.0 upgrades the control plane and rolls the self-managed
  group through a new launch configuration, one node at a time. Its fixed sleeps (45 s, 30 s,
  20 s, boto3 waiters' 30 s) are scaled by 1/15 here, since the twin's world runs 600x.

Where either fails, the twin must not be the reason: the state each leaves behind is
checked through boto3 and the kubernetes client. ``docs/clients.md`` has the table.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for

pytestmark = pytest.mark.integration

PEERS = Path(os.environ.get("UPGRADER_PEERS", REPO / ".venv-peers"))
ERU = PEERS / "eks-rolling-update" / "bin" / "eks_rolling_update.py"
EKSUPGRADE_PYTHON = PEERS / "eksupgrade" / "bin" / "python"
KUBECTL = shutil.which("kubectl")
SLEEP_SCALE = 15
# eksupgrade's own entry point, with its wall-clock sleeps scaled (nothing else changed)
EKSUPGRADE = f"""
import sys, time
_sleep = time.sleep
time.sleep = lambda seconds: _sleep(seconds / {SLEEP_SCALE})
from eksupgrade.cli import app
sys.argv[0] = "eksupgrade"
app()
"""
TARGET_AMI = "/aws/service/eks/optimized-ami/1.13/amazon-linux-2/recommended/image_id"
# kubectl with eks-rolling-update's removed drain flag renamed to its successor
KUBECTL_SHIM = """#!/usr/bin/env bash
exec {kubectl} "${{@/#--delete-local-data/--delete-emptydir-data}}"
"""


def _needs(path: Path, what: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not path.exists() or KUBECTL is None,
        reason=f"{what} is not installed in {path.parent} (.ci/run installs it), or no kubectl",
    )


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "staging")


def _run(
    live: SandboxClients, argv: list[str], cwd: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "UPGRADER_"))},
        **live.env,
        "HOME": str(cwd),
        "PYTHONWARNINGS": "ignore",
        **extra,
    }
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _group(live: SandboxClients) -> dict[str, Any]:
    (group,) = live.asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    return dict(group)


def _kubelets(live: SandboxClients) -> dict[str, str]:
    return {
        n.spec.provider_id.rsplit("/", 1)[1]: n.status.node_info.kubelet_version
        for n in live.core.list_node().items
    }


def _workloads_whole(live: SandboxClients) -> bool:
    deployments = live.apps.list_deployment_for_all_namespaces().items
    return all((d.status.available_replicas or 0) == d.spec.replicas for d in deployments)


@_needs(ERU, "eks-rolling-update 1.1.8")
def test_eks_rolling_update_rolls_staging(staging: SandboxClients, tmp_path: Path) -> None:
    live = staging
    group = _group(live)
    old = {i["InstanceId"] for i in group["Instances"]}
    image = live.ssm.get_parameter(Name=TARGET_AMI)["Parameter"]["Value"]
    live.asg.create_launch_configuration(
        LaunchConfigurationName="workers-1-13",
        InstanceId=sorted(old)[0],
        ImageId=image,
    )
    live.asg.update_auto_scaling_group(
        AutoScalingGroupName=group["AutoScalingGroupName"],
        LaunchConfigurationName="workers-1-13",
    )
    argv = [str(ERU), "--cluster_name", "staging"]
    waits = {"CLUSTER_HEALTH_WAIT": "1", "GLOBAL_HEALTH_WAIT": "1", "GLOBAL_MAX_RETRY": "60"}

    stock = _run(live, argv, tmp_path, **waits)
    assert stock.returncode != 0
    assert "unknown flag: --delete-local-data" in stock.stdout + stock.stderr
    # everything before its drain went as it meant: surge, all Ready, cordon, suspend
    group = _group(live)
    tags = {t["Key"]: t["Value"] for t in group["Tags"]}
    assert group["DesiredCapacity"] == 4 and tags["eks-rolling-update:original_capacity"] == "2"
    assert {p["ProcessName"] for p in group["SuspendedProcesses"]} >= {"Launch"}
    nodes = live.core.list_node().items
    assert len(nodes) == 4 and all(
        c.status == "True" for n in nodes for c in n.status.conditions if c.type == "Ready"
    )
    cordoned = {n.spec.provider_id.rsplit("/", 1)[1] for n in nodes if n.spec.unschedulable}
    assert cordoned == old

    shim = tmp_path / "bin" / "kubectl"
    shim.parent.mkdir()
    shim.write_text(KUBECTL_SHIM.format(kubectl=KUBECTL))
    shim.chmod(0o755)
    resumed = _run(live, argv, tmp_path, PATH=f"{shim.parent}:{os.environ['PATH']}", **waits)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "Rolling update of all asg is complete" in resumed.stdout + resumed.stderr

    group = _group(live)
    assert group["DesiredCapacity"] == 2 and not group["SuspendedProcesses"]
    assert not [t for t in group["Tags"] if t["Key"].startswith("eks-rolling-update:")]
    assert {i["LaunchConfigurationName"] for i in group["Instances"]} == {"workers-1-13"}
    kubelets = wait_for(lambda: (k := _kubelets(live)) and len(k) == 2 and k, "two nodes")
    assert not set(kubelets) & old
    assert all(v.startswith("v1.13.") for v in kubelets.values()), kubelets
    wait_for(lambda: _workloads_whole(live), "every Deployment available again")


@_needs(EKSUPGRADE_PYTHON, "eksupgrade 0.9.0")
def test_eksupgrade_upgrades_staging(staging: SandboxClients, tmp_path: Path) -> None:
    live = staging
    old = {i["InstanceId"] for i in _group(live)["Instances"]}
    argv = [str(EKSUPGRADE_PYTHON), "-c", EKSUPGRADE, "staging", "1.13", "ap-northeast-1"]
    done = _run(live, [*argv, "--no-interactive"], tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "UPDATED TO 1.13" in output

    assert live.eks.describe_cluster(name="staging")["cluster"]["version"] == "1.13"
    group = _group(live)
    configuration = group["LaunchConfigurationName"]
    assert configuration and {i["LaunchConfigurationName"] for i in group["Instances"]} == {
        configuration
    }
    assert not {i["InstanceId"] for i in group["Instances"]} & old
    kubelets = wait_for(lambda: (k := _kubelets(live)) and len(k) == 2 and k, "two nodes")
    assert all(v.startswith("v1.13.") for v in kubelets.values()), kubelets
    wait_for(lambda: _workloads_whole(live), "every Deployment available again")
