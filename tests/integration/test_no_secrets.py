"""No secret reaches an output: with marked AWS credentials (key ID, secret, session token)
in the environment, the kubeconfig's bearer token, and EKS tokens the product signs itself,
the plan file, runbooks, JSON events, stdout, stderr, error messages and the journal are
scanned for every one of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from tests.integration.apply_harness import Cluster, run_apply
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration

KEY_ID = "MARKERKEYIDQ7ZK3"  # not shaped like AKIA…, so no pattern scrubber could hide it
SECRET = "markerSecretKey/Zq9+WJ0aXbY2mT4vR8sL1nC6eD5"
SESSION = "markerSessionToken-Xy7-FwoGZXIvYXdzEJr"
EKS_TOKEN_PREFIX = "k8s-aws-v1."


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "staging", Cluster)


def test_no_credential_or_token_appears_in_any_output(staging: Cluster) -> None:
    c = staging
    work = c.workdir
    kube_token = yaml.safe_load(c.kubeconfig.read_text())["users"][0]["user"]["token"]
    secrets = {
        "access key ID": KEY_ID,
        "secret key": SECRET,
        "session token": SESSION,
        "kubeconfig token": kube_token,
        "EKS token": EKS_TOKEN_PREFIX,
    }
    marked = {
        **c.env,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": SESSION,
    }
    # without a kubeconfig upgrader signs EKS tokens from the marked credentials
    eks_config = work / "eks-token.yaml"
    config = yaml.safe_load(c.running.config.read_text())
    eks_config.write_text(yaml.safe_dump({**config, "kubeconfig": None}))
    eks_env = {k: v for k, v in marked.items() if k != "KUBECONFIG"}
    dead_kubeconfig = work / "dead-kubeconfig"
    dead = yaml.safe_load(c.kubeconfig.read_text())
    dead["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:1"
    dead_kubeconfig.write_text(yaml.safe_dump(dead))
    outputs: dict[str, str] = {}

    def upgrader(name: str, env: dict[str, str], *args: str) -> int:
        result = subprocess.run(
            [sys.executable, "-m", "upgrader", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=work,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env},
        )
        outputs[f"{name} stdout"], outputs[f"{name} stderr"] = result.stdout, result.stderr
        return result.returncode

    plan, runbook = work / "plan.json", work / "runbook.md"
    assert (
        upgrader(
            "plan",
            marked,
            *("plan", "-c", str(c.running.config), "--out", str(plan)),
            *("--runbook", str(runbook), "--format", "json"),
        )
        == 0
    ), outputs["plan stderr"]
    assert upgrader("runbook", marked, "runbook", str(plan), "-o", str(work / "again.md")) == 0
    assert upgrader("status", eks_env, "status", "-c", str(eks_config)) == 0
    bad = {**marked, "KUBECONFIG": str(dead_kubeconfig)}
    assert upgrader("unreachable", bad, "apply", str(plan), "--yes", "--format", "json") == 2
    c.fault(
        {"fail_stack_update": {"stack": "staging-eks", "resource": "Cluster", "reason": "boom"}}
    )
    for name, expected in (("failed apply", 4), ("apply", 0)):  # an error, then the re-run
        code, events, stderr = run_apply(eks_env, plan, work)
        assert code == expected, stderr
        outputs[f"{name} events"] = "\n".join(json.dumps(e) for e in events)
        outputs[f"{name} stderr"] = stderr
    assert events[-1]["kind"] == "done"
    signed = {r["credential"] for r in c.kube_requests() if "credential" in r}
    assert len(signed) >= 1  # the applies really sent EKS tokens signed with the marked keys
    outputs["plan file"] = plan.read_text()
    outputs["runbook"] = runbook.read_text()
    outputs["runbook again"] = (work / "again.md").read_text()
    outputs["journal"] = str(c.journal())
    assert "boom" in outputs["failed apply stderr"]  # the error case did report its cause
    leaks = [
        f"{what} in {where}"
        for where, text in outputs.items()
        for what, secret in secrets.items()
        if secret in text
    ]
    assert leaks == []
