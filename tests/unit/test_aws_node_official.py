"""aws-node from the jsonnet library against the official release manifests: every minor
v1.3 … v1.23 equals its official file (objects in any order, each exact) but for the user's
env, and the catalog's per-release defaults are read from the same files.

The official files are the team's copies in ``../shared/upstream/amazon-vpc-cni-k8s``
(required, like every golden reference: see ``tests/conftest.py``); the library renders
its vendored copies in ``jsonnet/releases/``, checked byte for byte against them.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from upgrader.adapters import jsonnet
from upgrader.catalog.cni import behaviour, manifest_for, manifest_tags
from upgrader.catalog.versions import catalog
from upgrader.semver import Version

VENDORED = Path(__file__).resolve().parents[2] / "jsonnet" / "releases"
UPSTREAM_REGION = "us-west-2"  # every official file pulls from 602401143452.dkr.ecr.us-west-2
CRD = "CustomResourceDefinition"
Obj = dict[str, Any]


def _sources() -> dict[str, tuple[str, str]]:
    """file -> (copy in ../shared/upstream/amazon-vpc-cni-k8s, sha256) from SOURCES.md."""
    text = (VENDORED / "SOURCES.md").read_text()
    shared = dict(
        re.findall(r"^\| (v[\d.]+\.yaml) \| [^|]+ \| [0-9a-f]{40} \| (\S+) \|$", text, re.M)
    )
    sums = {f: h for h, f in re.findall(r"^([0-9a-f]{64})  (v[\d.]+\.yaml)$", text, re.M)}
    assert shared.keys() == sums.keys()
    return {f: (shared[f], sums[f]) for f in shared}


SOURCES = _sources()
TAGS = [t.tag for t in manifest_tags()]


def _docs(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _official(upstream: Path, tag: str) -> list[Obj]:
    return _docs(upstream / "amazon-vpc-cni-k8s" / SOURCES[f"{tag}.yaml"][0])


def _keyed(objs: list[Obj]) -> dict[str, Obj]:
    keyed = {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}
    assert len(keyed) == len(objs), "two objects with the same kind and name"
    return keyed


def _crd_api(objs: list[Obj]) -> str:
    [api] = {o["apiVersion"] for o in objs if o["kind"] == CRD}
    return str(api)


def _render(tag: str, crd_api: str, env: dict[str, str], region: str = UPSTREAM_REGION) -> Any:
    tla = {"version": tag, "region": region, "env": env, "crd_api": crd_api}
    return jsonnet.evaluate("aws-node.jsonnet", tla=tla)


def _aws_node_env(objs: list[Obj]) -> list[Obj]:
    [ds] = [o for o in objs if o["kind"] == "DaemonSet"]
    [node] = [c for c in ds["spec"]["template"]["spec"]["containers"] if c["name"] == "aws-node"]
    env: list[Obj] = node["env"]
    return env


# --- the vendored copies are the official files ---


def test_sources_list_every_vendored_file() -> None:
    assert set(SOURCES) == {p.name for p in VENDORED.glob("*.yaml")}
    index = (VENDORED.parent / "lib" / "aws-node-releases.libsonnet").read_text()
    assert re.findall(r"'(v[\d.]+)': importstr '\.\./releases/\1\.yaml'", index) == TAGS


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_vendored_file_is_byte_identical_to_the_official_copy(upstream: Path, name: str) -> None:
    shared, sha = SOURCES[name]
    assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == sha
    assert (upstream / "amazon-vpc-cni-k8s" / shared).read_bytes() == (VENDORED / name).read_bytes()


def test_every_official_release_is_vendored(upstream: Path) -> None:
    releases = upstream / "amazon-vpc-cni-k8s" / "releases"
    shipped = {str(p.relative_to(releases.parent)) for p in releases.glob("*/aws-k8s-cni.yaml")}
    assert shipped <= {shared for shared, _ in SOURCES.values()}


def test_every_catalog_minor_has_an_official_manifest() -> None:
    minors = {m.minor.minor_key for m in catalog().cni_minors}
    assert minors >= {(1, m) for m in range(3, 24)}
    assert {t.minor_key for t in manifest_tags()} == minors
    for minor in catalog().cni_minors:
        newest = max(t for t in manifest_tags() if t.minor_key == minor.minor.minor_key)
        assert newest <= minor.latest_patch, f"catalog lacks {newest.tag} of {minor.minor}"


# --- the library renders them exactly ---


@pytest.mark.parametrize("tag", TAGS)
def test_aws_node_equals_the_official_manifest(upstream: Path, tag: str) -> None:
    official = _official(upstream, tag)
    ours = _render(tag, _crd_api(official), {})
    assert _keyed(ours) == _keyed(official)


@pytest.mark.parametrize("tag", TAGS)
def test_user_env_overrides_defaults_in_place_and_adds_the_rest(upstream: Path, tag: str) -> None:
    official = _official(upstream, tag)
    env = {"AWS_VPC_K8S_CNI_LOGLEVEL": "INFO", "WARM_IP_TARGET": "5", "MINIMUM_IP_TARGET": "10"}
    expected = _official(upstream, tag)
    defaults = _aws_node_env(expected)
    known = {e["name"] for e in defaults}
    assert "AWS_VPC_K8S_CNI_LOGLEVEL" in known
    defaults[:] = [
        {"name": e["name"], "value": env[e["name"]]} if e["name"] in env else e for e in defaults
    ]
    defaults += [{"name": k, "value": env[k]} for k in sorted(env) if k not in known]
    ours = _render(tag, _crd_api(official), env)
    assert _keyed(ours) == _keyed(expected)


def test_region_changes_only_the_image_registry(upstream: Path) -> None:
    official = json.dumps(_official(upstream, "v1.23.1"))
    ours = _render("v1.23.1", "apiextensions.k8s.io/v1", {}, region="cn-north-1")
    old, new = (
        "602401143452.dkr.ecr.us-west-2.amazonaws.com/",
        "961992271922.dkr.ecr.cn-north-1.amazonaws.com.cn/",
    )
    assert official.count(old) == 3
    assert _keyed(ours) == _keyed(json.loads(official.replace(old, new)))


@pytest.mark.parametrize(
    ("tag", "base"), [("v1.23.3", "v1.23.1"), ("v1.11.4", "v1.11.5"), ("v1.5.5", "v1.5.7")]
)
def test_other_patches_are_their_minors_manifest_retagged(
    upstream: Path, tag: str, base: str
) -> None:
    official = _official(upstream, base)
    expected = json.loads(
        json.dumps(official)
        .replace(f'"{base}"', f'"{tag}"')
        .replace(f"-cni:{base}", f"-cni:{tag}")
        .replace(f"-cni-init:{base}", f"-cni-init:{tag}")
    )
    assert _keyed(_render(tag, _crd_api(official), {})) == _keyed(expected)


@pytest.mark.parametrize(
    ("tag", "api", "source"),
    [
        ("v1.9.3", "apiextensions.k8s.io/v1", "v1.23.1"),
        ("v1.10.4", "apiextensions.k8s.io/v1beta1", "v1.9.3"),
    ],
)
def test_crd_in_the_clusters_api_comes_from_the_newest_release_shipping_it(
    upstream: Path, tag: str, api: str, source: str
) -> None:
    ours = _keyed(_render(tag, api, {}))
    theirs = _keyed(_official(upstream, source))
    name = f"{CRD}/eniconfigs.crd.k8s.amazonaws.com"
    assert ours[name] == theirs[name]
    newest = [t for t in TAGS if _crd_api(_docs(VENDORED / f"{t}.yaml")) == api][-1]
    assert newest == source


def test_objects_come_out_in_apply_order() -> None:
    kinds = [o["kind"] for o in _render("v1.21.2", "apiextensions.k8s.io/v1", {})]
    assert kinds == [
        CRD,
        CRD,
        "ServiceAccount",
        "ConfigMap",
        "ClusterRole",
        "ClusterRoleBinding",
        "DaemonSet",
    ]


# --- the catalog reads the same files ---


@pytest.mark.parametrize("minor", list(catalog().cni_minors), ids=lambda m: str(m.minor))
def test_catalog_defaults_are_what_the_library_renders(minor: Any) -> None:
    for patch in minor.patches:
        b = behaviour(patch)
        rendered = _render(patch.tag, "apiextensions.k8s.io/v1", {})
        env = _aws_node_env(rendered)
        assert b.default_env == tuple((e["name"], e["value"]) for e in env if "value" in e), patch
        assert b.manifest == manifest_for(patch)
        [ds] = [o for o in rendered if o["kind"] == "DaemonSet"]
        ports = [
            (c["name"], p["name"], p["containerPort"])
            for c in ds["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", ())
        ]
        assert list(b.container_ports) == ports, patch


@pytest.mark.parametrize(
    ("tag", "introspection", "local_only"),
    [
        ("v1.3.3", ":61678", False),
        ("v1.3.4", "127.0.0.1:61679", True),
        ("v1.4.0", ":61678", False),
        ("v1.4.1", "127.0.0.1:61679", True),
        ("v1.23.3", "127.0.0.1:61679", True),
    ],
)
def test_listen_addresses_per_release(tag: str, introspection: str, local_only: bool) -> None:
    b = behaviour(Version.parse(tag))
    assert (b.introspection_address, b.introspection_local_only) == (introspection, local_only)
    assert b.metrics_address == ":61678"
    assert ("aws-node", "metrics", 61678) in b.container_ports


def test_behaviour_carries_defaults_and_metric_names() -> None:
    v15 = behaviour(Version.parse("v1.5.7"))
    assert (
        v15.env_default("WARM_ENI_TARGET") is None and v15.env_default("AWS_VPC_ENI_MTU") == "9001"
    )
    v123 = behaviour(Version.parse("v1.23.3"))
    assert v123.env_default("VPC_CNI_VERSION") == "v1.23.3"
    assert v123.env_default("ENABLE_SUBNET_DISCOVERY") == "true"
    assert ("aws-eks-nodeagent", "agentmetrics", 8162) in v123.container_ports
    assert "awscni_no_available_ip_addresses" in v123.metric_names
    assert "eni_max" in behaviour(Version.parse("v1.3.4")).metric_names
    old = behaviour(Version.parse("v1.2.0"))
    assert (old.manifest, old.default_env, old.container_ports) == (None, (), ())
