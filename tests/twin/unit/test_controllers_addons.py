"""ManagedAddonObjects: a completed managed add-on create or update sets the image (and the
configured env) of the object the add-on owns, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin import system
from ekstwin.aws import TwinHooks
from ekstwin.controllers.addons import ManagedAddonObjects, configured_env, with_tag
from ekstwin.kubeapi import Store
from ekstwin.scenario import load
from ekstwin.world import create_all

REPO = "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (f"{REPO}:v1.19.2", f"{REPO}:v1.20.1-eksbuild.1"),
        (REPO, f"{REPO}:v1.20.1-eksbuild.1"),
        (f"{REPO}@sha256:abc", f"{REPO}:v1.20.1-eksbuild.1"),
        ("localhost:5000/cni:v1", "localhost:5000/cni:v1.20.1-eksbuild.1"),
        ("localhost:5000/cni", "localhost:5000/cni:v1.20.1-eksbuild.1"),
    ],
)
def test_with_tag_keeps_the_repository(image: str, expected: str) -> None:
    assert with_tag(image, "v1.20.1-eksbuild.1") == expected


def test_configured_env_reads_json_or_yaml_and_ignores_the_rest() -> None:
    assert configured_env('{"env": {"WARM_IP_TARGET": "5"}, "enableNetworkPolicy": "true"}') == {
        "WARM_IP_TARGET": "5"
    }
    assert configured_env("env:\n  WARM_ENI_TARGET: '2'\n") == {"WARM_ENI_TARGET": "2"}
    assert configured_env("replicaCount: 3\n") == {}
    assert configured_env(None) == {}
    assert configured_env("[not: {valid") == {}


@pytest.fixture
def cluster() -> tuple[Store, TwinHooks, ManagedAddonObjects]:
    store = Store(kubernetes_version="1.31", seed=1)
    create_all(store, system.add_ons(load("modern")))
    hooks = TwinHooks()
    return store, hooks, ManagedAddonObjects(store, hooks, cluster="modern")


def _container(obj: dict[str, Any], name: str, key: str = "containers") -> dict[str, Any]:
    return next(c for c in obj["spec"]["template"]["spec"][key] if c["name"] == name)


def _fire(hooks: TwinHooks, *args: Any) -> None:
    for hook in hooks.addon_applied:
        hook(*args)


def test_vpc_cni_sets_the_images_and_the_configured_env(
    cluster: tuple[Store, TwinHooks, ManagedAddonObjects],
) -> None:
    store, hooks, controller = cluster
    before = store.get("daemonsets.apps", "aws-node", namespace="kube-system")
    assert controller.next_wakeup() is None
    _fire(hooks, "modern", "vpc-cni", "v1.20.1-eksbuild.1", '{"env": {"WARM_ENI_TARGET": "2"}}')
    assert controller.next_wakeup() == 0.0
    assert controller.reconcile(0.0)
    assert controller.next_wakeup() is None
    after = store.get("daemonsets.apps", "aws-node", namespace="kube-system")
    node = _container(after, "aws-node")
    assert node["image"] == f"{REPO}:v1.20.1-eksbuild.1"
    init = _container(after, "aws-vpc-cni-init", "initContainers")
    assert init["image"].endswith("/amazon-k8s-cni-init:v1.20.1-eksbuild.1")
    agent = _container(after, "aws-eks-nodeagent")
    assert agent == _container(before, "aws-eks-nodeagent")
    env = {e["name"]: e.get("value") for e in node["env"]}
    assert env["WARM_ENI_TARGET"] == "2"
    assert env["WARM_PREFIX_TARGET"] == "1"  # the scenario's other settings stay
    assert [e["name"] for e in node["env"]] == [
        e["name"] for e in _container(before, "aws-node")["env"]
    ]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    assert "eks" in {f["manager"] for f in after["metadata"]["managedFields"]}
    # the same version again writes nothing
    _fire(hooks, "modern", "vpc-cni", "v1.20.1-eksbuild.1", '{"env": {"WARM_ENI_TARGET": "2"}}')
    assert not controller.reconcile(0.0)


@pytest.mark.parametrize(
    ("addon", "resource", "name"),
    [
        ("kube-proxy", "daemonsets.apps", "kube-proxy"),
        ("coredns", "deployments.apps", "coredns"),
    ],
)
def test_kube_proxy_and_coredns_own_their_objects(
    cluster: tuple[Store, TwinHooks, ManagedAddonObjects], addon: str, resource: str, name: str
) -> None:
    store, hooks, controller = cluster
    before = store.get(resource, name, namespace="kube-system")
    _fire(hooks, "modern", addon, "v9.9.9-eksbuild.1", None)
    assert controller.reconcile(0.0)
    after = store.get(resource, name, namespace="kube-system")
    image = _container(after, name)["image"]
    assert image == _container(before, name)["image"].rsplit(":", 1)[0] + ":v9.9.9-eksbuild.1"


def test_nothing_for_a_missing_object_another_cluster_or_an_unowned_addon(
    cluster: tuple[Store, TwinHooks, ManagedAddonObjects],
) -> None:
    store, hooks, controller = cluster
    store.delete("deployments.apps", "coredns", namespace="kube-system")
    rv = store.resource_version
    _fire(hooks, "modern", "coredns", "v1.11.4-eksbuild.33", None)
    _fire(hooks, "other", "vpc-cni", "v1.20.1-eksbuild.1", None)
    _fire(hooks, "modern", "aws-ebs-csi-driver", "v1.35.0-eksbuild.1", None)
    assert not controller.reconcile(0.0)
    assert store.resource_version == rv
