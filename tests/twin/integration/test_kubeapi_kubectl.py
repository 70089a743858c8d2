"""The real ``kubectl`` against the in-process emulator: get, client- and server-side apply,
dry-run, explain, auth can-i and drain, on a cluster version without OpenAPI v3 (1.12:
kubectl reads the protobuf OpenAPI v2) and on ones with it (1.24, and 1.31 where kubectl
leaves field validation to the server)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ekstwin.kubeapi import KubeApiServer, Store

KUBECTL = shutil.which("kubectl")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(KUBECTL is None, reason="the kubectl binary is not on PATH"),
]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.15
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: blue}]
"""


@dataclass
class Kubectl:
    store: Store
    directory: Path
    env: dict[str, str]

    def run(
        self, *args: str, stdin: str | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        done = subprocess.run(
            [KUBECTL, "--cache-dir", str(self.directory / "cache"), *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if ok:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def manifest(self, text: str) -> str:
        path = self.directory / f"m{abs(hash(text))}.yaml"
        path.write_text(text)
        return str(path)


def _kubectl(version: str, tmp_path: Path) -> Iterator[Kubectl]:
    store = Store(kubernetes_version=version, seed=1)
    server = KubeApiServer(store)  # kubectl sends no bearer token over plain HTTP
    server.start()
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "twin", "cluster": {"server": server.url}}],
        "users": [{"name": "admin", "user": {}}],
        "contexts": [{"name": "twin", "context": {"cluster": "twin", "user": "admin"}}],
        "current-context": "twin",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    env = {**os.environ, "KUBECONFIG": str(path), "HOME": str(tmp_path)}
    try:
        yield Kubectl(store, tmp_path, env)
    finally:
        server.stop()


@pytest.fixture(params=["1.12", "1.24", "1.31"])
def kubectl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kubectl]:
    yield from _kubectl(request.param, tmp_path)


@pytest.fixture
def modern(tmp_path: Path) -> Iterator[Kubectl]:
    yield from _kubectl("1.24", tmp_path)


def test_get_and_client_side_apply(kubectl: Kubectl) -> None:
    assert (
        "deployment.apps/web created"
        in kubectl.run("apply", "-f", kubectl.manifest(DEPLOYMENT)).stdout
    )
    changed = DEPLOYMENT.replace("replicas: 2", "replicas: 3").replace("blue", "green")
    assert "configured" in kubectl.run("apply", "-f", kubectl.manifest(changed)).stdout
    live = kubectl.store.get("deployments.apps", "web", namespace="default")
    assert live["spec"]["replicas"] == 3
    (container,) = live["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "MODE", "value": "green"}]  # merged by key
    header = kubectl.run("get", "deployments").stdout.splitlines()[0].split()
    assert header[:2] == ["NAME", "READY"]
    typo = kubectl.run(
        "apply", "-f", kubectl.manifest(DEPLOYMENT.replace("image:", "imagee:")), ok=False
    )
    assert typo.returncode != 0 and 'unknown field "' in typo.stderr and "imagee" in typo.stderr
    invalid = DEPLOYMENT.replace("name: web, namespace", "name: Web, namespace")
    refused = kubectl.run("apply", "-f", kubectl.manifest(invalid), ok=False)
    assert "is invalid" in refused.stderr and "metadata.name" in refused.stderr


def test_explain_reads_the_served_openapi(kubectl: Kubectl) -> None:
    out = kubectl.run("explain", "deployment.spec.strategy").stdout
    assert "DeploymentStrategy" in out and "rollingUpdate" in out
    ports = kubectl.run("explain", "pods.spec.containers.ports").stdout
    assert "containerPort" in ports and "-required-" in ports


def test_auth_can_i(kubectl: Kubectl) -> None:
    assert (
        kubectl.run("auth", "can-i", "delete", "pods", "-n", "kube-system").stdout.strip() == "yes"
    )
    listing = kubectl.run("auth", "can-i", "--list").stdout
    assert "*.*" in listing


def test_server_side_apply_dry_run_and_diff(modern: Kubectl) -> None:
    path = modern.manifest(DEPLOYMENT)
    assert "serverside-applied" in modern.run("apply", "--server-side", "-f", path).stdout
    live = modern.store.get("deployments.apps", "web", namespace="default")
    assert [(e["manager"], e["operation"]) for e in live["metadata"]["managedFields"]] == [
        ("kubectl", "Apply")
    ]
    modern.run("scale", "deployment/web", "--replicas=5")
    conflict = modern.run("apply", "--server-side", "-f", path, ok=False)
    assert "Apply failed with 1 conflict" in conflict.stderr and ".spec.replicas" in conflict.stderr
    modern.run("apply", "--server-side", "--force-conflicts", "-f", path)
    assert modern.store.get("deployments.apps", "web", namespace="default")["spec"]["replicas"] == 2
    blue = modern.manifest(DEPLOYMENT.replace("blue", "red"))
    assert (
        "(server dry run)"
        in modern.run("apply", "--server-side", "--dry-run=server", "-f", blue).stdout
    )
    diff = modern.run("diff", "-f", blue, ok=False)
    assert diff.returncode == 1 and "+          value: red" in diff.stdout
    env = modern.store.get("deployments.apps", "web", namespace="default")["spec"]["template"]
    assert env["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "blue"}]


def test_server_side_apply_before_1_16_says_it_is_not_available(tmp_path: Path) -> None:
    for old in _kubectl("1.12", tmp_path):
        done = old.run("apply", "--server-side", "-f", old.manifest(DEPLOYMENT), ok=False)
        assert "Server-side apply not available on the server" in done.stderr
        dry = old.run("apply", "--dry-run=server", "-f", old.manifest(DEPLOYMENT), ok=False)
        assert "the dryRun alpha feature is disabled" in dry.stderr


def test_drain_evicts_through_the_protobuf_eviction(modern: Kubectl) -> None:
    node_and_pod = """\
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Pod
metadata: {name: lonely, namespace: default}
spec: {nodeName: n1, containers: [{name: c, image: nginx}]}
"""
    modern.run("create", "-f", modern.manifest(node_and_pod))
    done = modern.run("drain", "n1", "--force", "--grace-period=0", "--timeout=10s")
    assert "pod/lonely evicted" in done.stdout
    assert modern.store.get("nodes", "n1")["spec"]["unschedulable"] is True
    assert modern.store.find("pods", "lonely", namespace="default") is None
