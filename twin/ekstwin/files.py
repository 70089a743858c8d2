"""What ``sandbox up`` writes into its directory: standard AWS variables, a
kubeconfig and an upgrader config. Nothing in the production path knows about
the sandbox; these files only set what a real account would set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ekstwin.scenario import Scenario
from upgrader.sandbox.directory import CONFIG, ENV, KUBECONFIG, STATE

# moto accepts any credentials; these are the values its docs use, not secrets.
FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"


def env_text(directory: Path, aws_endpoint: str, region: str) -> str:
    values = {
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "KUBECONFIG": str(directory / KUBECONFIG),
    }
    return "".join(f"export {k}={v}\n" for k, v in values.items())


def kubeconfig(cluster: str, server: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "users": [{"name": f"{cluster}-admin", "user": {"token": token}}],
        "contexts": [
            {"name": cluster, "context": {"cluster": cluster, "user": f"{cluster}-admin"}}
        ],
        "current-context": cluster,
    }


def upgrader_config(scenario: Scenario, directory: Path, stacks: dict[str, Any]) -> dict[str, Any]:
    """DESIGN §4 config for the scenario's cluster and its upgrade target."""
    target: dict[str, Any] = {"kubernetes": scenario.target_kubernetes.minor_str}
    if scenario.target_cni is not None:
        target["cni"] = scenario.target_cni.tag
    config: dict[str, Any] = {
        "cluster": scenario.name,
        "region": scenario.region,
        "stacks": stacks,
        "target": target,
        "kubeconfig": str(directory / KUBECONFIG),
    }
    if scenario.cni_env:
        config["cni"] = {"env": dict(scenario.cni_env)}
    # Pods start within wall milliseconds here: a few seconds is plenty before the
    # #59 remediation (production keeps the 60 s default).
    config["gates"] = {"cni_restart_grace_seconds": 5}
    return config


def write_all(
    directory: Path,
    scenario: Scenario,
    *,
    aws_endpoint: str,
    kube_endpoint: str,
    token: str,
    stacks: dict[str, Any],
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ENV).write_text(env_text(directory, aws_endpoint, scenario.region))
    kube = directory / KUBECONFIG
    kube.write_text(yaml.safe_dump(kubeconfig(scenario.name, kube_endpoint, token)))
    kube.chmod(0o600)
    config = upgrader_config(scenario, directory, stacks)
    (directory / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))


def write_state(directory: Path, state: dict[str, Any]) -> None:
    tmp = directory / (STATE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(directory / STATE)
