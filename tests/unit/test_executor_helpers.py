"""Pure helpers of apply: the plan's own config, kubelet minors, stale lock holders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from upgrader.executor.nodegroups import minor
from upgrader.executor.run import config_from_plan, stale_holder
from upgrader.model.context import CniContext, PlanContext, StackNames
from upgrader.model.plan import Plan, Versions
from upgrader.semver import Version


def _plan() -> Plan:
    return Plan(
        cluster="staging",
        region="ap-northeast-1",
        from_=Versions(kubernetes="1.12", cni="v1.3.2", kube_proxy="v1.12.10", coredns="v1.6.6"),
        to=Versions(kubernetes="1.13", cni="v1.5.5", kube_proxy="v1.13.12", coredns="v1.6.6"),
        fingerprint="sha256:x",
        findings=(),
        steps=(),
        context=PlanContext(
            stacks=StackNames(control_plane="staging-eks", nodegroups=("staging-workers",)),
            gates=(("max_wave_nodes", 1), ("subnet_reserve_ips", 12), ("unknown", 3)),
            cni=CniContext(
                version="v1.5.5", env=(("WARM_ENI_TARGET", "1"),), mode="WARM_ENI", notes=()
            ),
            subnets=(),
            nodegroups=(),
        ),
    )


def test_apply_builds_its_config_from_the_plan_and_kubeconfig(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECONFIG", f"/tmp/a{os.pathsep}/tmp/b")
    cfg = config_from_plan(_plan())
    assert cfg.cluster == "staging" and cfg.region == "ap-northeast-1"
    assert cfg.control_plane_stack == "staging-eks"
    assert cfg.nodegroup_stacks == ("staging-workers",)
    assert cfg.target_kubernetes == Version.parse("1.13")
    assert cfg.target_cni == Version.parse("v1.5.5")
    assert cfg.gate("subnet_reserve_ips") == 12 and cfg.gate("max_wave_nodes") == 1
    assert cfg.cni_env == (("WARM_ENI_TARGET", "1"),)
    assert str(cfg.kubeconfig) == "/tmp/a"
    monkeypatch.delenv("KUBECONFIG")
    assert config_from_plan(_plan()).kubeconfig is None


@pytest.mark.parametrize(
    ("version", "expected"),
    [("v1.12.10-eks-ffbd96", "1.12"), ("v1.32.0-eks", "1.32"), ("1.13.7", "1.13")],
)
def test_kubelet_minor(version: str, expected: str) -> None:
    assert minor(version) == expected


def test_only_a_dead_process_on_this_host_is_a_stale_lock_holder() -> None:
    host = socket.gethostname()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert stale_holder(f"{host}/{dead.stdout.strip()}/abcd")
    assert not stale_holder(f"{host}/{os.getpid()}/abcd")  # alive
    assert not stale_holder(f"another-host/{dead.stdout.strip()}/abcd")  # may be alive elsewhere
    assert not stale_holder("garbage")
