"""A live sandbox as the integration tests drive it: started for a fixture, seen through
boto3 and the official kubernetes client configured from its files only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import yaml
from kubernetes import client, config

from upgrader.sandbox import control
from upgrader.sandbox import directory as files
from upgrader.sandbox.directory import CLOCK_ENV, SPEED_ENV

T = TypeVar("T")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def kube_request(
    kubeconfig: Path, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    """A raw API call with the kubeconfig's server and token (any API version)."""
    doc = yaml.safe_load(kubeconfig.read_text())
    server = doc["clusters"][0]["cluster"]["server"]
    token = doc["users"][0]["user"]["token"]
    request = urllib.request.Request(
        server + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_for(predicate: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll until ``predicate`` returns something true; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class SandboxClients:
    """boto3 and kubernetes clients of a running sandbox, from its env file only."""

    def __init__(self, running: control.Running) -> None:
        self.running = running
        self.env = files.parse_env(running.env.read_text())
        self.kubeconfig = Path(self.env["KUBECONFIG"])
        self.session = boto3.session.Session(
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_REGION"],
        )
        self.ec2 = self.client("ec2")
        self.eks = self.client("eks")
        self.cfn = self.client("cloudformation")
        self.asg = self.client("autoscaling")
        self.ssm = self.client("ssm")
        self.api = config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.env["AWS_ENDPOINT_URL"])  # type: ignore[call-overload]

    def aws_requests(self) -> list[dict[str, Any]]:
        """The AWS twin's request log."""
        return list(get_json(self.env["AWS_ENDPOINT_URL"] + "/_sandbox/requests"))

    def kube_requests(self) -> list[dict[str, Any]]:
        """The Kubernetes API's request log."""
        return list(get_json(self.running.kubernetes_endpoint + "/_sandbox/requests"))

    def kube_request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return kube_request(self.kubeconfig, method, path, body)

    def upgrader(
        self, *args: str, cwd: Path, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """``python -m upgrader`` with the env file's variables."""
        return subprocess.run(
            [sys.executable, "-m", "upgrader", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env={**os.environ, **self.env},
        )

    @contextmanager
    def environment(self) -> Iterator[None]:
        """The env file's variables set in this process."""
        with pytest.MonkeyPatch.context() as patch:
            for key, value in self.env.items():
                patch.setenv(key, value)
            yield

    def settled_stack(self, name: str, timeout: float = 20.0) -> dict[str, Any]:
        """Wait until stack ``name`` is no longer in progress; its DescribeStacks entry."""

        def settled() -> dict[str, Any] | None:
            stack: dict[str, Any] = self.cfn.describe_stacks(StackName=name)["Stacks"][0]
            return None if stack["StackStatus"].endswith("_IN_PROGRESS") else stack

        return wait_for(settled, f"stack {name} to settle", timeout)


def sandbox(
    tmp_path_factory: pytest.TempPathFactory,
    scenario: str,
    make: Callable[[control.Running], T] = SandboxClients,  # type: ignore[assignment]
    *,
    speed: str | None = None,
    stepped: bool = False,
) -> Iterator[T]:
    """For a fixture: ``scenario`` up in a fresh directory (at ``speed``, or on a stepped
    clock), ``make`` of it yielded, then down (also when ``make`` fails)."""
    directory = tmp_path_factory.mktemp(Path(scenario).stem) / "sandbox"
    with pytest.MonkeyPatch.context() as patch:
        if speed is not None:
            patch.setenv(SPEED_ENV, speed)
        if stepped:
            patch.setenv(CLOCK_ENV, "stepped")
        running = control.up(scenario, directory)
    try:
        yield make(running)
    finally:
        control.down(running.directory)
