"""Per-release ipamd behaviours of the Amazon VPC CNI, read from bundled data.

Flags and listen addresses come from ``data/cni_behaviours.yaml``; each release's default
aws-node env and container ports from the official manifest the jsonnet library renders
(``upgrader.jsonnet`` ``releases/<tag>.yaml``); metric names from ``cni_metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from upgrader.catalog import data_yaml
from upgrader.catalog.cni_metrics import METRICS_PORT, metric_names
from upgrader.semver import Version

MANIFESTS = ("upgrader.jsonnet", "releases")  # package and folder of the vendored manifests
AWS_NODE = "aws-node"
Env = tuple[tuple[str, str], ...]  # (name, value)
Ports = tuple[tuple[str, str, int], ...]  # (container, port name, containerPort)


@dataclass(frozen=True, slots=True)
class Feature:
    """One behaviour and the releases that have it (``until`` is exclusive; ``excluded``
    lists releases inside the range that lack it)."""

    name: str
    since: Version
    until: Version | None
    what: str
    source: str
    excluded: tuple[Version, ...] = ()

    def present_in(self, version: Version) -> bool:
        return (
            self.since <= version
            and (self.until is None or version < self.until)
            and version not in self.excluded
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CniBehaviour:
    """What ipamd of one CNI release does, as far as address math and diagnosis are concerned.

    ``manifest`` is the official manifest the release's defaults are read from (None outside
    the vendored minors); ``default_env`` holds the aws-node container's literal env values
    (``valueFrom`` entries left out); ``container_ports`` is (container, port name, port) of
    the DaemonSet; addresses are ``host:port`` with an empty host for all interfaces.
    """

    version: Version
    warm_ip_release: bool
    top_up_existing_enis: bool
    max_eni_env: bool
    minimum_ip_target: bool
    unknown_instance_type_falls_back_to_ec2: bool
    leaked_eni_cleanup: bool
    boot_full_eni_peak: bool
    prefix_delegation: bool
    ip_cooldown_env: bool
    max_pods_caps_pool: bool
    subnet_discovery: bool
    metrics_awscni_prefix: bool
    introspection_on_61679: bool
    pods_introspection_endpoint: bool
    manifest: Version | None
    default_env: Env
    container_ports: Ports
    metrics_address: str
    introspection_address: str
    metric_names: frozenset[str]

    @property
    def introspection_local_only(self) -> bool:
        """True where introspection binds 127.0.0.1: reach it by exec into aws-node, not
        through the node proxy."""
        return self.introspection_address.startswith("127.0.0.1:")

    def env_default(self, name: str) -> str | None:
        """The release manifest's value of aws-node env ``name`` (None when it sets none)."""
        return dict(self.default_env).get(name)


@cache
def _data() -> dict[str, Any]:
    text = resources.files("upgrader.catalog").joinpath("data/cni_behaviours.yaml").read_text()
    data: dict[str, Any] = data_yaml.load(text)
    return data


@cache
def features() -> dict[str, Feature]:
    """All behaviours from ``data/cni_behaviours.yaml``."""
    return {
        name: Feature(
            name=name,
            since=Version.parse(f["since"]),
            until=Version.parse(f["until"]) if f.get("until") else None,
            what=f["what"],
            source=f["source"],
            excluded=tuple(Version.parse(v) for v in f.get("except", ())),
        )
        for name, f in _data()["features"].items()
    }


@cache
def manifest_tags() -> tuple[Version, ...]:
    """Releases whose official aws-node manifest is vendored, oldest first."""
    folder = resources.files(MANIFESTS[0]).joinpath(MANIFESTS[1])
    names = [e.name for e in folder.iterdir() if e.name.endswith(".yaml")]
    return tuple(sorted(Version.parse(n.removesuffix(".yaml")) for n in names))


def manifest_for(version: Version) -> Version | None:
    """The vendored manifest release ``version`` is rendered from: its minor's newest at or
    before it, else its minor's oldest (the rule of ``jsonnet/lib/aws-node.libsonnet``)."""
    same = [t for t in manifest_tags() if t.minor_key == version.minor_key]
    before = [t for t in same if t <= version]
    return before[-1] if before else (same[0] if same else None)


@cache
def manifest_objects(tag: Version) -> tuple[dict[str, Any], ...]:
    """The objects of the vendored official manifest of release ``tag``."""
    path = resources.files(MANIFESTS[0]).joinpath(f"{MANIFESTS[1]}/{tag.tag}.yaml")
    return tuple(d for d in data_yaml.load_all(path.read_text()) if d)


def _pod_spec(tag: Version) -> dict[str, Any]:
    [ds] = [o for o in manifest_objects(tag) if o["kind"] == "DaemonSet"]
    spec: dict[str, Any] = ds["spec"]["template"]["spec"]
    return spec


def _defaults(version: Version, tag: Version | None) -> tuple[Env, Ports]:
    """Literal env of the aws-node container and every container port, from manifest ``tag``."""
    if tag is None:
        return (), ()
    pod = _pod_spec(tag)
    [node] = [c for c in pod["containers"] if c["name"] == AWS_NODE]
    own = {tag.tag: version.tag}  # VPC_CNI_VERSION names the release itself
    env = tuple((e["name"], own.get(e["value"], e["value"])) for e in node["env"] if "value" in e)
    ports = tuple(
        (c["name"], p.get("name", ""), int(p["containerPort"]))
        for c in pod["containers"]
        for p in c.get("ports", ())
    )
    return env, ports


@cache
def behaviour(version: Version) -> CniBehaviour:
    """The behaviour set of CNI ``version``."""
    flags = {name: f.present_in(version) for name, f in features().items()}
    listen = _data()["listen"]
    tag = manifest_for(version)
    env, ports = _defaults(version, tag)
    return CniBehaviour(
        version=version,
        **flags,
        manifest=tag,
        default_env=env,
        container_ports=ports,
        metrics_address=f":{METRICS_PORT}",
        introspection_address=listen[
            "introspection" if flags["introspection_on_61679"] else "introspection_legacy"
        ],
        metric_names=metric_names(version),
    )
