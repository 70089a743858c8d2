"""Pure manifest logic: canonical form, removed-API detection (API001), structural checks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upgrader.adapters import jsonnet
from upgrader.catalog.versions import catalog
from upgrader.manifests import (
    api_problems,
    file_name,
    normalise,
    ref,
    removed_apis,
    to_yaml,
    unknown_apis,
    validate,
)

Obj = dict[str, Any]


def deployment(api: str = "apps/v1", name: str = "web", **spec: Any) -> Obj:
    body: Obj = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
        },
    }
    body.update(spec)
    return {
        "apiVersion": api,
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "app"},
        "spec": body,
    }


# --- normalise ---


def test_normalise_drops_null_and_empty_but_keeps_empty_dir_and_empty_strings() -> None:
    obj = deployment()
    pod = obj["spec"]["template"]["spec"]
    pod["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    pod["securityContext"] = {}
    pod["nodeSelector"] = None
    obj["metadata"]["annotations"] = {"critical": ""}
    obj["metadata"]["labels"] = {}
    [out] = normalise([obj])
    assert out["spec"]["template"]["spec"]["volumes"] == [{"emptyDir": {}, "name": "tmp"}]
    assert "securityContext" not in out["spec"]["template"]["spec"]
    assert "nodeSelector" not in out["spec"]["template"]["spec"]
    assert "labels" not in out["metadata"]
    assert out["metadata"]["annotations"] == {"critical": ""}


def test_normalise_sorts_env_volumes_mounts_but_not_containers_or_args() -> None:
    obj = deployment()
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    container["args"] = ["--z", "--a"]
    container["volumeMounts"] = [
        {"name": "y", "mountPath": "/y"},
        {"name": "x", "mountPath": "/x"},
    ]
    obj["spec"]["template"]["spec"]["containers"].append({"name": "a-sidecar", "image": "x"})
    [out] = normalise([obj])
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["web", "a-sidecar"]
    assert [e["name"] for e in containers[0]["env"]] == ["A", "B"]
    assert containers[0]["args"] == ["--z", "--a"]
    assert [m["mountPath"] for m in containers[0]["volumeMounts"]] == ["/x", "/y"]


def test_normalise_orders_objects_for_apply() -> None:
    objs = [
        deployment(),
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "s"}},
        {"apiVersion": "x/v1", "kind": "Widget", "metadata": {"name": "w"}},
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "c"},
        },
    ]
    kinds = [o["kind"] for o in normalise(objs)]
    assert kinds == [
        "CustomResourceDefinition",
        "ServiceAccount",
        "DaemonSet",
        "Deployment",
        "Widget",
    ]


def test_normalise_does_not_mutate_its_input() -> None:
    obj = deployment()
    obj["metadata"]["labels"] = {}
    before = copy.deepcopy(obj)
    normalise([obj])
    assert obj == before


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["env", "name", "a", "emptyDir", "kind"]), inner, max_size=4
        )
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(["kind", "metadata", "spec"]), _json), max_size=3))
def test_normalise_is_idempotent(objs: list[Obj]) -> None:
    once = normalise(objs)
    assert normalise(once) == once


def test_to_yaml_is_independent_of_key_and_env_order() -> None:
    a = deployment()
    b = {k: a[k] for k in reversed(list(a))}
    assert to_yaml([a]) == to_yaml([b])
    assert to_yaml([a]).startswith("---\napiVersion: apps/v1\n")


def test_file_name_and_ref() -> None:
    assert file_name("aws-node@v1.4.1") == "aws-node-v1.4.1.yaml"
    assert ref(deployment()) == "Deployment app/web"
    assert ref({"kind": "ClusterRole", "metadata": {"name": "aws-node"}}) == "ClusterRole aws-node"


# --- removed APIs (gate API001) ---


def test_extensions_deployment_is_removed_in_1_16_not_before() -> None:
    objs = [deployment("extensions/v1beta1")]
    assert removed_apis(objs, "1.15") == []
    [use] = removed_apis(objs, "1.16")
    assert use.ref == "Deployment app/web"
    assert use.api == "extensions/v1beta1"
    assert use.replacement == "apps/v1"
    assert use.removed_in == "1.16"
    ref_, api, replacement, _ = use
    assert (ref_, api, replacement) == ("Deployment app/web", "extensions/v1beta1", "apps/v1")


def test_removal_stays_removed_in_later_versions_and_matches_kind() -> None:
    objs = [
        deployment("extensions/v1beta1"),
        {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "i"}},
        {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}},
    ]
    assert [u.ref for u in removed_apis(objs, "1.21")] == ["Deployment app/web"]
    found = {u.ref: u.removed_in for u in removed_apis(objs, "1.25")}
    assert found == {
        "Deployment app/web": "1.16",
        "Ingress i": "1.22",
        "PodDisruptionBudget p": "1.25",
    }


def test_compiled_aws_node_crd_for_1_15_is_flagged_for_1_22() -> None:
    objs = jsonnet.aws_node("v1.7.10", region="us-west-2", kubernetes="1.15", env={})
    assert removed_apis(objs, "1.21") == []
    [use] = removed_apis(objs, "1.22")
    assert use.ref == "CustomResourceDefinition eniconfigs.crd.k8s.amazonaws.com"
    assert use.replacement == "apiextensions.k8s.io/v1"


def test_compiled_add_ons_use_no_removed_api_on_their_own_version() -> None:
    for k8s in ("1.16", "1.22", "1.25", "1.35"):
        objs = [
            *jsonnet.kube_proxy(k8s, region="us-west-2"),
            *jsonnet.coredns(k8s, region="us-west-2"),
            *jsonnet.aws_node(
                "v1.7.10" if k8s == "1.16" else "v1.20.5",
                region="us-west-2",
                kubernetes=k8s,
                env={},
            ),
        ]
        assert removed_apis(objs, k8s) == [], k8s


# --- validate ---


def test_compiled_manifests_are_valid() -> None:
    for tag, k8s in (("v1.3.4", "1.12"), ("v1.7.10", "1.16"), ("v1.23.1", "1.33")):
        assert validate(jsonnet.aws_node(tag, region="us-west-2", kubernetes=k8s, env={})) == []
    assert validate(jsonnet.coredns("1.13", region="us-west-2")) == []
    assert validate(jsonnet.kube_proxy("1.13", region="us-west-2")) == []


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        ({"kind": "ConfigMap", "metadata": {"name": "a"}}, "ConfigMap a: apiVersion is missing"),
        ({"apiVersion": "v1", "metadata": {"name": "a"}}, "kind is missing"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "object #1: metadata.name"),
        ("not a mapping", "object #1: is not a mapping"),
        (
            deployment(selector={"matchLabels": {"app": "other"}}),
            "Deployment app/web: selector app=other does not match the pod template labels",
        ),
        (deployment(selector={}), "spec.selector.matchLabels is empty"),
        (
            deployment(
                template={
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web"}]},
                }
            ),
            "container 'web' has no image",
        ),
        (
            deployment(template={"metadata": {"labels": {"app": "web"}}, "spec": {}}),
            "containers is empty",
        ),
    ],
)
def test_validate_reports_structural_problems(obj: Any, problem: str) -> None:
    problems = validate([obj])
    assert any(problem in p for p in problems), problems


def test_validate_reports_duplicates_and_accepts_the_same_name_in_other_namespaces() -> None:
    other = deployment()
    other["metadata"]["namespace"] = "other"
    assert validate([deployment(), other]) == []
    assert validate([deployment(), deployment()]) == ["Deployment app/web: defined more than once"]


def test_an_extensions_daemonset_at_1_16_and_a_version_that_never_existed() -> None:
    ds = {"apiVersion": "extensions/v1beta1", "kind": "DaemonSet", "metadata": {"name": "x"}}
    typo = deployment("apps/v1beta9")
    assert api_problems([ds, typo, deployment()], "1.15") == [
        "Deployment app/web uses apps/v1beta9, which no release serves (known: apps/v1, "
        "apps/v1beta1, apps/v1beta2, extensions/v1beta1)"
    ]
    problems = api_problems([ds, typo], "1.16")
    assert problems[0] == "DaemonSet x uses extensions/v1beta1, removed in 1.16: use apps/v1"
    assert len(problems) == 2
    assert unknown_apis([{"apiVersion": "acme.io/v7", "kind": "Widget", "metadata": {}}]) == []


def test_every_removed_api_and_its_replacement_is_known() -> None:
    cat = catalog()
    for release in cat.releases:
        for api in release.removed_apis:
            known = cat.known_api_versions(api.kind)
            assert api.api_version in known, (api.kind, api.api_version)
            for replacement in api.replacement.split(" or "):
                if "/" in replacement and " " not in replacement:
                    assert replacement in known, (api.kind, replacement)
