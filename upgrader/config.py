"""The config file (DESIGN §4, contract keys): loaded, validated, frozen.

Every problem is collected and reported at once, as a bad-input error (exit 2)
naming the file, the key and the fix, before any call to AWS or Kubernetes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from upgrader.catalog.versions import catalog
from upgrader.errors import ConfigError, UpgraderError
from upgrader.semver import Version

KNOWN_KEYS = frozenset(
    {"cluster", "region", "stacks", "target", "cni", "manifests", "kubeconfig", "gates"}
)
GATE_DEFAULTS: dict[str, int] = {
    "subnet_reserve_ips": 8,  # CAP001: free addresses every subnet keeps at a wave's peak
    "control_plane_min_free_ips": 5,  # CAP002: per subnet, in at least two AZs
    "control_plane_min_azs": 2,
    "stuck_pod_seconds": 300,  # POD001: ContainerCreating longer than this is stuck
    # apply's CNI step: how long a node's pods may stay ContainerCreating after its
    # aws-node restarted before the #59 remediation (then the stop) kicks in
    "cni_restart_grace_seconds": 60,
    # apply's node roll: at most this many nodes per wave (0: as many as capacity allows)
    "max_wave_nodes": 0,
}
# Thresholds that would switch their gate off below this (CAP002 with 0 AZs or 0 addresses).
GATE_MINIMUMS: dict[str, int] = {"control_plane_min_free_ips": 1, "control_plane_min_azs": 1}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    path: Path
    cluster: str
    region: str
    control_plane_stack: str
    nodegroup_stacks: tuple[str, ...]
    target_kubernetes: Version
    target_cni: Version | None
    cni_env: tuple[tuple[str, str], ...] = ()
    manifests: Path | None = None
    kubeconfig: Path | None = None
    gates: tuple[tuple[str, int], ...] = field(default=tuple(sorted(GATE_DEFAULTS.items())))

    def gate(self, name: str) -> int:
        return dict(self.gates)[name]


def load(path: Path, *, target: str | None = None) -> Config:
    """Read and validate ``path``; ``target`` (``--to``) overrides ``target.kubernetes``."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            str(path), "does not exist", "pass the path of your upgrader.yaml with -c"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"is not valid YAML: {err}", "fix the YAML syntax") from None
    return parse(raw, path, target=target)


class _Problems(list[str]):
    def __call__(self, key: str, problem: str) -> None:
        self.append(f"{key}: {problem}")


def parse(raw: Any, path: Path, *, target: str | None = None) -> Config:
    """Validate a loaded config; every problem is listed in one error."""
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "is not a YAML mapping", "see DESIGN §4 for the keys")
    bad = _Problems()
    for key in sorted(set(raw) - KNOWN_KEYS):
        bad(key, f"unknown key (known: {', '.join(sorted(KNOWN_KEYS))})")
    cluster = raw.get("cluster")
    if not isinstance(cluster, str) or not _NAME.match(cluster):
        bad("cluster", "must be the EKS cluster name")
    region = raw.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        bad("region", "must be an AWS region such as ap-northeast-1")
    control_plane, nodegroups = _stacks(bad, raw.get("stacks"))
    k8s, cni = _target(bad, raw.get("target") or {}, target)
    env = _cni_env(bad, raw.get("cni") or {})
    gates = _gates(bad, raw.get("gates") or {})
    manifests = _path(path, raw.get("manifests"))
    kubeconfig = _path(path, raw.get("kubeconfig"))
    for key, p in (("manifests", manifests), ("kubeconfig", kubeconfig)):
        if p is not None and not p.exists():
            bad(key, f"{p} does not exist")
    if bad or k8s is None:
        raise ConfigError(
            str(path),
            "has problems:\n    " + "\n    ".join(bad),
            "fix the keys listed (DESIGN §4 lists every key)",
        )
    return Config(
        path=path,
        cluster=str(cluster),
        region=str(region),
        control_plane_stack=control_plane,
        nodegroup_stacks=nodegroups,
        target_kubernetes=k8s,
        target_cni=cni,
        cni_env=tuple(sorted(env.items())),
        manifests=manifests,
        kubeconfig=kubeconfig,
        gates=tuple(sorted(gates.items())),
    )


def _stacks(bad: _Problems, stacks: Any) -> tuple[str, tuple[str, ...]]:
    if not isinstance(stacks, dict):
        bad("stacks", "must hold control_plane and nodegroups")
        return "", ()
    control_plane = stacks.get("control_plane")
    if not isinstance(control_plane, str) or not control_plane:
        bad("stacks.control_plane", "must name the stack holding AWS::EKS::Cluster")
        control_plane = ""
    nodegroups = stacks.get("nodegroups", [])
    if not isinstance(nodegroups, list) or not all(isinstance(n, str) and n for n in nodegroups):
        bad("stacks.nodegroups", "must be a list of stack names")
        return control_plane, ()
    return control_plane, tuple(nodegroups)


def _target(
    bad: _Problems, raw: Any, override: str | None
) -> tuple[Version | None, Version | None]:
    if not isinstance(raw, dict):
        bad("target", "must hold kubernetes (and optionally cni)")
        raw = {}
    k8s = _version(
        bad, "target.kubernetes", override if override is not None else raw.get("kubernetes")
    )
    if k8s is not None:
        try:
            catalog().kubernetes(k8s)
        except UpgraderError as err:
            bad("target.kubernetes", err.message)
    cni = _version(bad, "target.cni", raw["cni"]) if raw.get("cni") is not None else None
    if cni is not None:
        try:
            catalog().check_cni_release(cni, "target.cni")
        except UpgraderError as err:
            bad("target.cni", f"{err.message}; {err.hint}")
            cni = None
    return k8s, cni


def _cni_env(bad: _Problems, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("env") or {}, dict):
        bad("cni.env", "must be a mapping of aws-node environment variables")
        return {}
    return {str(k): str(v) for k, v in (raw.get("env") or {}).items()}


def _gates(bad: _Problems, raw: Any) -> dict[str, int]:
    gates = dict(GATE_DEFAULTS)
    if not isinstance(raw, dict):
        bad("gates", "must be a mapping of thresholds")
        return gates
    for key, value in raw.items():
        if key not in GATE_DEFAULTS:
            bad(f"gates.{key}", f"unknown threshold (known: {', '.join(sorted(GATE_DEFAULTS))})")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            bad(
                f"gates.{key}",
                f"must be a whole number >= {GATE_MINIMUMS.get(key, 0)}, not {value!r}",
            )
        elif value < GATE_MINIMUMS.get(key, 0):
            bad(
                f"gates.{key}",
                f"{value} would switch CAP002 off; it must be at least {GATE_MINIMUMS[key]}",
            )
        else:
            gates[key] = value
    return gates


def _version(bad: _Problems, key: str, value: Any) -> Version | None:
    if value is None:
        bad(key, "is missing")
        return None
    try:
        return Version.parse(str(value))
    except UpgraderError as err:
        bad(key, err.message)
    except ValueError as err:
        bad(key, str(err))
    return None


def _path(config_path: Path, value: Any) -> Path | None:
    if value in (None, ""):
        return None
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else (config_path.parent / p)
