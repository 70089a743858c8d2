"""The jsonnet manifest library: our goldens, env carry-over, the CRD apiVersion switch,
user manifests and errors (aws-node against the official manifests:
``test_aws_node_official.py``).

Regenerate our own goldens (tests/golden/manifests/) after an intended change with:
    UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_jsonnet.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from upgrader.adapters import jsonnet
from upgrader.catalog.versions import catalog
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.manifests import normalise, to_yaml
from upgrader.semver import Version

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "manifests"
REGEN = os.environ.get("UPGRADER_REGEN_GOLDEN") == "1"
REGION = "ap-northeast-1"
Obj = dict[str, Any]
Edit = Callable[[list[Obj]], None]


def _by_kind(objs: list[Obj], kind: str) -> Obj:
    [obj] = [o for o in objs if o["kind"] == kind]
    return obj


def _container(objs: list[Obj], name: str = "aws-node") -> Obj:
    pod = _by_kind(objs, "DaemonSet")["spec"]["template"]["spec"]
    [c] = [c for c in pod["containers"] if c["name"] == name]
    return dict(c)


def _env(objs: list[Obj]) -> dict[str, str]:
    return {e["name"]: e.get("value", "<ref>") for e in _container(objs)["env"]}


# --- our own output, every CNI minor on the path and add-ons per Kubernetes version ---


def _first_kubernetes(cni: Version) -> str:
    return next(r.version.minor_str for r in catalog().releases if r.supports_cni(cni))


def _golden_cases() -> dict[str, Callable[[], list[Obj]]]:
    cases: dict[str, Callable[[], list[Obj]]] = {}
    for minor in catalog().cni_minors:
        tag, k8s = minor.latest_patch, _first_kubernetes(minor.latest_patch)
        cases[f"aws-node-{tag.tag}-k8s-{k8s}.yaml"] = partial(
            jsonnet.aws_node, tag, region=REGION, kubernetes=k8s, env={"WARM_ENI_TARGET": "1"}
        )
    for k8s in ("1.12", "1.13", "1.16", "1.22", "1.25", "1.33", "1.35"):
        cases[f"kube-proxy-{k8s}.yaml"] = partial(jsonnet.kube_proxy, k8s, region=REGION)
        cases[f"coredns-{k8s}.yaml"] = partial(jsonnet.coredns, k8s, region=REGION)
    return cases


GOLDEN_CASES = _golden_cases()


@pytest.mark.parametrize("file_name", sorted(GOLDEN_CASES))
def test_rendering_matches_golden(file_name: str) -> None:
    body = to_yaml(GOLDEN_CASES[file_name]())
    path = GOLDEN / file_name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    assert path.read_text() == body, (
        f"{path} differs; if intended: UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_jsonnet.py"
    )


def test_every_cni_minor_on_the_path_renders() -> None:
    minors = {m.minor.minor for m in catalog().cni_minors}
    assert minors >= set(range(3, 24)), "golden set must cover v1.3 to the newest minor"
    assert len([f for f in GOLDEN_CASES if f.startswith("aws-node-")]) == len(minors)


def test_no_stray_golden_files() -> None:
    assert {p.name for p in GOLDEN.glob("*.yaml")} == set(GOLDEN_CASES)


# --- behaviour ---


def test_user_env_is_carried_over_on_top_of_release_defaults() -> None:
    env = {"WARM_ENI_TARGET": "3", "WARM_IP_TARGET": "5", "MINIMUM_IP_TARGET": "10"}
    for tag in ("v1.3.4", "v1.5.5", "v1.7.10", "v1.12.6", "v1.23.1"):
        objs = jsonnet.aws_node(tag, region=REGION, kubernetes="1.16", env=env)
        got = _env(objs)
        assert {k: got[k] for k in env} == env, tag
        assert got["AWS_VPC_K8S_CNI_LOGLEVEL"] == "DEBUG", tag  # release default kept
        names = [e["name"] for e in _container(objs)["env"]]
        assert len(names) == len(set(names)), f"{tag}: duplicate env names {names}"


def test_release_defaults_without_user_env() -> None:
    v15 = _env(jsonnet.aws_node("v1.5.7", region=REGION, kubernetes="1.13", env={}))
    assert "WARM_ENI_TARGET" not in v15
    v17 = _env(jsonnet.aws_node("v1.7.10", region=REGION, kubernetes="1.16", env={}))
    assert v17["WARM_ENI_TARGET"] == "1"
    v118 = _env(jsonnet.aws_node("v1.18.6", region=REGION, kubernetes="1.30", env={}))
    assert v118["ENABLE_SUBNET_DISCOVERY"] == "true"
    assert "ENABLE_SUBNET_DISCOVERY" not in _env(
        jsonnet.aws_node("v1.17.1", region=REGION, kubernetes="1.29", env={})
    )


@pytest.mark.parametrize(
    ("kubernetes", "api"),
    [
        ("1.15", "apiextensions.k8s.io/v1beta1"),
        ("1.16", "apiextensions.k8s.io/v1"),
        ("1.22", "apiextensions.k8s.io/v1"),
    ],
)
def test_crd_api_version_follows_the_cluster(kubernetes: str, api: str) -> None:
    crd = _by_kind(
        jsonnet.aws_node("v1.7.10", region=REGION, kubernetes=kubernetes, env={}),
        "CustomResourceDefinition",
    )
    assert crd["apiVersion"] == api
    [version] = crd["spec"]["versions"]
    assert ("schema" in version) == api.endswith("/v1")


def test_v1_3_crd_uses_the_single_version_field_on_v1beta1() -> None:
    crd = _by_kind(
        jsonnet.aws_node("v1.3.2", region=REGION, kubernetes="1.12", env={}),
        "CustomResourceDefinition",
    )
    assert crd["spec"]["version"] == "v1alpha1"
    assert "versions" not in crd["spec"]


def test_image_registry_follows_region() -> None:
    china = _container(jsonnet.aws_node("v1.5.5", region="cn-north-1", kubernetes="1.13", env={}))
    assert china["image"] == (
        "961992271922.dkr.ecr.cn-north-1.amazonaws.com.cn/amazon-k8s-cni:v1.5.5"
    )


def test_kube_proxy_and_coredns_tags_come_from_the_catalog() -> None:
    for k8s in ("1.12", "1.20", "1.35"):
        release = catalog().kubernetes(k8s)
        proxy = json.dumps(jsonnet.kube_proxy(k8s, region=REGION))
        dns = json.dumps(jsonnet.coredns(k8s, region=REGION))
        assert f'amazonaws.com/eks/kube-proxy:{release.kube_proxy}"' in proxy
        assert f'amazonaws.com/eks/coredns:{release.coredns}"' in dns


def test_coredns_keeps_its_empty_dir_volume_through_normalisation() -> None:
    deployment = normalise(jsonnet.coredns("1.13", region=REGION))[-1]
    assert {"name": "tmp", "emptyDir": {}} in deployment["spec"]["template"]["spec"]["volumes"]


# --- errors ---


def test_unknown_cni_minor_is_bad_input_naming_file_and_line() -> None:
    with pytest.raises(BadInputError) as caught:
        jsonnet.aws_node("v1.2.0", region=REGION, kubernetes="1.12", env={})
    assert caught.value.subject.startswith("upgrader/jsonnet/lib/aws-node.libsonnet:")
    assert "v1.3 and later" in caught.value.message
    assert "version=" in caught.value.hint


def test_bad_user_jsonnet_is_bad_input_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "staging.jsonnet"
    path.write_text('{\n  apiVersion: "v1",\n  kind: "ConfigMap",\n  metadata: { name: }\n}\n')
    with pytest.raises(BadInputError) as caught:
        jsonnet.user_manifests(path, cluster="staging", region=REGION, kubernetes="1.13")
    assert caught.value.subject == f"{path}:4"
    assert "fix the jsonnet" in caught.value.hint


def test_user_jsonnet_runtime_error_points_at_the_failing_line(tmp_path: Path) -> None:
    path = tmp_path / "apps.jsonnet"
    path.write_text("local x = {};\n[\n  x.missing,\n]\n")
    with pytest.raises(BadInputError) as caught:
        jsonnet.user_manifests(path, cluster="staging", region=REGION, kubernetes="1.13")
    assert caught.value.subject == f"{path}:3"
    assert "missing" in caught.value.message


def test_missing_import_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "apps.jsonnet"
    path.write_text('import "nowhere.libsonnet"\n')
    with pytest.raises(BadInputError, match=r"nowhere\.libsonnet"):
        jsonnet.user_manifests(path, cluster="staging", region=REGION, kubernetes="1.13")


def test_bad_yaml_is_bad_input_with_line(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text("apiVersion: v1\nkind: [unclosed\n")
    with pytest.raises(BadInputError) as caught:
        jsonnet.user_manifests(path, cluster="staging", region=REGION, kubernetes="1.13")
    assert caught.value.subject.startswith(f"{path}:")


# --- user manifests ---


def test_user_jsonnet_imports_relative_files_and_the_library(tmp_path: Path) -> None:
    (tmp_path / "lib.libsonnet").write_text(
        "{ deploy(name):: { apiVersion: 'extensions/v1beta1', kind: 'Deployment',"
        " metadata: { name: name, namespace: 'app' },"
        " spec: { selector: { matchLabels: {app: name} },"
        " template: { metadata: { labels: { app: name } },"
        " spec: { containers: [{ name: name, image: 'nginx' }] } } } } }\n"
    )
    path = tmp_path / "staging.jsonnet"
    path.write_text(
        "local lib = import 'lib.libsonnet';\n"
        "local util = import 'upgrader/lib/util.libsonnet';\n"
        "{ web: lib.deploy('web'), cm: { apiVersion: 'v1', kind: 'ConfigMap',"
        " metadata: { name: std.extVar('cluster') + '-' + std.extVar('kubernetes') },"
        " data: { image: util.image(std.extVar('region'), 'x', 'v1') } } }\n"
    )
    objs = jsonnet.user_manifests(path, cluster="staging", region=REGION, kubernetes="1.13")
    assert [o["kind"] for o in objs] == ["ConfigMap", "Deployment"]
    assert objs[0]["metadata"]["name"] == "staging-1.13"
    assert objs[0]["data"]["image"].startswith(f"602401143452.dkr.ecr.{REGION}.")


def test_user_yaml_list_and_documents(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
    )
    objs = jsonnet.user_manifests(path, cluster="c", region=REGION, kubernetes="1.13")
    assert [o["metadata"]["name"] for o in objs] == ["a", "b"]


# --- compile_all and write ---


def _config(tmp_path: Path, manifests: Path | None) -> Config:
    return Config(
        path=tmp_path / "upgrader.yaml",
        cluster="staging",
        region=REGION,
        control_plane_stack="staging-eks",
        nodegroup_stacks=("staging-workers",),
        target_kubernetes=Version.parse("1.13"),
        target_cni=Version.parse("v1.5.5"),
        cni_env=(("WARM_ENI_TARGET", "1"),),
        manifests=manifests,
    )


def test_compile_all_keys_and_write_is_deterministic(tmp_path: Path) -> None:
    user = tmp_path / "apps.yaml"
    user.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: app}\n")
    out = jsonnet.compile_all(
        region=REGION,
        kubernetes="1.13",
        cni=["v1.4.1", Version.parse("v1.5.5")],
        cni_env={"WARM_ENI_TARGET": "1"},
        manifests=user,
        cluster="staging",
    )
    assert list(out) == ["aws-node@v1.4.1", "aws-node@v1.5.5", "kube-proxy", "coredns", "user"]
    first = jsonnet.write(out, tmp_path / "a")
    second = jsonnet.write(out, tmp_path / "b")
    assert [p.name for p in first] == [
        "aws-node-v1.4.1.yaml",
        "aws-node-v1.5.5.yaml",
        "coredns.yaml",
        "kube-proxy.yaml",
        "user.yaml",
    ]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    docs = list(yaml.safe_load_all((tmp_path / "a" / "aws-node-v1.5.5.yaml").read_text()))
    assert docs[0]["kind"] == "CustomResourceDefinition"


def test_compile_config_uses_target_cni_and_env(tmp_path: Path) -> None:
    out = jsonnet.compile_config(_config(tmp_path, None))
    assert sorted(out) == ["aws-node@v1.5.5", "coredns", "kube-proxy"]
    assert _env(out["aws-node@v1.5.5"])["WARM_ENI_TARGET"] == "1"


def test_compile_all_rejects_invalid_user_manifests(tmp_path: Path) -> None:
    user = tmp_path / "apps.yaml"
    user.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n")
    with pytest.raises(BadInputError, match="containers is empty"):
        jsonnet.compile_all(region=REGION, kubernetes="1.13", cni=[], cni_env={}, manifests=user)
