"""KubeActions over the Staging sandbox (Kubernetes 1.12): apply and rollouts, cordon,
evictions against PDBs, scale, the apply lock (a Lease) and the journal (a ConfigMap)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for
from upgrader.adapters import eks_auth, kube_actions
from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.errors import CloudError, CloudNotFoundError
from upgrader.adapters.kube_actions import KubeActions
from upgrader.adapters.kube_state import LAST_APPLIED
from upgrader.config import load
from upgrader.model.actions import Rollout

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "staging")


@pytest.fixture(scope="module")
def kube(staging: SandboxClients) -> Iterator[KubeActions]:
    actions = KubeActions.connect(load(staging.running.config))
    try:
        yield actions
    finally:
        actions.close()


def _if_done(rollout: Rollout) -> Rollout | None:
    return rollout if rollout.done else None


def _daemonset(image: str) -> dict[str, Any]:
    labels = {"k8s-app": "probe"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "probe", "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostNetwork": True,
                    "containers": [{"name": "probe", "image": image}],
                },
            },
        },
    }


def test_server_version_and_nodes(kube: KubeActions) -> None:
    assert kube.server_version().startswith("v1.12.")
    nodes = kube.nodes()
    assert len(nodes) == 2
    assert all(n.ready and not n.unschedulable and n.instance_id.startswith("i-") for n in nodes)


def test_apply_creates_then_updates_a_daemonset_that_rolls_out(kube: KubeActions) -> None:
    created = kube.apply(_daemonset("example.com/probe:v1"))
    assert created["metadata"]["generation"] == 1
    done = wait_for(lambda: _if_done(kube.daemonset_rollout("kube-system", "probe")), "rollout")
    assert done == Rollout(generation=1, observed=1, desired=2, updated=2, ready=2, available=2)

    updated = kube.apply(_daemonset("example.com/probe:v2"))
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["generation"] == 2
    assert '"example.com/probe:v2"' in updated["metadata"]["annotations"][LAST_APPLIED]
    rollout = kube.daemonset_rollout("kube-system", "probe")
    assert rollout.generation == 2 and not rollout.done  # the controller has work to do
    wait_for(lambda: kube.daemonset_rollout("kube-system", "probe").done, "second rollout")
    wait_for(
        lambda: (
            [
                p.phase
                for p in kube.pods(namespace="kube-system", label_selector="k8s-app=probe")
                if not p.terminating
            ]
            == ["Running", "Running"]
        ),
        "one probe pod per node",
    )
    unchanged = kube.apply(_daemonset("example.com/probe:v2"))
    assert unchanged["metadata"]["generation"] == 2  # same spec: no new rollout


def test_apply_takes_every_kind_of_the_add_on_manifests(kube: KubeActions) -> None:
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "probe", "namespace": "kube-system"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "probe"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "probe"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "probe",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "probe", "namespace": "kube-system"}],
        },
        {
            "apiVersion": "apiextensions.k8s.io/v1beta1",  # what a 1.12 cluster serves
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "eniconfigs.crd.k8s.amazonaws.com"},
            "spec": {
                "group": "crd.k8s.amazonaws.com",
                "version": "v1alpha1",
                "scope": "Cluster",
                "names": {"plural": "eniconfigs", "singular": "eniconfig", "kind": "ENIConfig"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "probe-dns", "namespace": "kube-system"},
            "spec": {"selector": {"k8s-app": "probe"}, "ports": [{"port": 53, "protocol": "UDP"}]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "probe", "namespace": "kube-system"},
            "data": {"Corefile": ".:53 {}"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "probe", "namespace": "kube-system"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "probe"}},
                "template": {
                    "metadata": {"labels": {"app": "probe"}},
                    "spec": {"containers": [{"name": "probe", "image": "example.com/p:1"}]},
                },
            },
        },
    ]
    first = [kube.apply(o) for o in objects]
    again = [kube.apply(o) for o in objects]  # the second apply replaces, never duplicates
    for one, two, sent in zip(first, again, objects, strict=True):
        assert one["kind"] == two["kind"] == sent["kind"]
        assert one["apiVersion"] == sent["apiVersion"]
        assert one["metadata"]["uid"] == two["metadata"]["uid"]
    service_ip = first[4]["spec"].get("clusterIP")
    assert again[4]["spec"].get("clusterIP") == service_ip


def _deployment(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }


def test_an_applied_deployment_rolls_out(kube: KubeActions) -> None:
    kube.apply(_deployment("rolled", "example.com/rolled:1"))
    done = wait_for(lambda: _if_done(kube.deployment_rollout("kube-system", "rolled")), "rollout")
    assert done is not None
    assert (done.generation, done.desired, done.updated, done.available) == (1, 2, 2, 2)


def test_a_replaced_deployment_rolls_out(kube: KubeActions) -> None:
    kube.apply(_deployment("replaced", "example.com/replaced:1"))
    wait_for(lambda: kube.deployment_rollout("kube-system", "replaced").done, "first rollout")
    kube.apply(_deployment("replaced", "example.com/replaced:2"))
    wait_for(lambda: kube.deployment_rollout("kube-system", "replaced").done, "rollout", timeout=3)


def test_apply_of_an_api_the_cluster_lacks_says_so(kube: KubeActions) -> None:
    pdb = {
        "apiVersion": "policy/v1",  # served from 1.21
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "x", "namespace": "app"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "x"}}},
    }
    with pytest.raises(CloudError) as caught:
        kube.apply(pdb)
    assert "policy/v1 PodDisruptionBudget is not served" in str(caught.value)
    assert "v1.12" in str(caught.value)


def test_cordon_and_uncordon(kube: KubeActions) -> None:
    node = kube.nodes()[0].name
    kube.cordon(node)
    assert {n.name: n.unschedulable for n in kube.nodes()}[node]
    kube.cordon(node)  # twice is fine
    kube.uncordon(node)
    assert not {n.name: n.unschedulable for n in kube.nodes()}[node]
    kube.uncordon("ip-10-9-9-9.ap-northeast-1.compute.internal")  # gone: nothing to do
    with pytest.raises(CloudNotFoundError):
        kube.cordon("ip-10-9-9-9.ap-northeast-1.compute.internal")


def test_pods_filter_by_node_and_labels(kube: KubeActions) -> None:
    node = kube.nodes()[0].name
    on_node = kube.pods(node=node)
    assert on_node and {p.node for p in on_node} == {node}
    web = kube.pods(namespace="app", label_selector="app=web")
    assert len(web) == 8 and {p.namespace for p in web} == {"app"}
    assert kube.pods(namespace="app", label_selector="app=nothing") == ()


def test_evict_a_free_pod_then_a_pod_its_budget_protects(kube: KubeActions) -> None:
    free = kube.pods(namespace="jobs")[0]
    outcome = kube.evict("jobs", free.name)
    assert outcome.evicted and not outcome.gone and outcome.blocked_by is None
    gone = kube.evict("jobs", "no-such-pod")
    assert gone.gone and not gone.evicted
    kube.delete_pod("jobs", "no-such-pod")  # already gone: nothing to do

    nodes = [n.name for n in kube.nodes()]
    for node in nodes:  # replacements cannot start, as in a drain of a full cluster
        kube.cordon(node)
    try:
        results = [kube.evict("auth", p.name) for p in kube.pods(namespace="auth")]
    finally:
        for node in nodes:
            kube.uncordon(node)
    assert [r.evicted for r in results] == [True] * 3 + [False] * 3  # auth: 6 pods, minAvailable 3
    blocked = results[3]
    assert blocked.blocked_by == "auth/auth"
    assert not blocked.gone
    assert "disruption budget" in blocked.message
    wait_for(
        lambda: sum(p.phase == "Running" for p in kube.pods(namespace="auth")) == 6,
        "the ReplicaSet to replace the evicted pods",
    )


def test_scale_returns_the_previous_count(kube: KubeActions) -> None:
    assert kube.replicas("app", "web") == 8
    assert kube.scale("app", "web", 10) == 8
    assert kube.replicas("app", "web") == 10
    assert kube.scale("app", "web", 8) == 10
    assert kube.replicas("app", "no-such-deployment") is None
    with pytest.raises(CloudNotFoundError):
        kube.scale("app", "no-such-deployment", 1)
    wait_for(lambda: kube.deployment_rollout("app", "web").done, "web to settle")


def test_lease_is_held_by_one_apply_at_a_time(kube: KubeActions) -> None:
    a = kube.acquire_lease("upgrader-lock", "kube-system", "apply-a", seconds=60)
    assert a.acquired and a.holder == "apply-a"
    assert a.expires_at == pytest.approx(time.time() + 60, abs=5)
    b = kube.acquire_lease("upgrader-lock", "kube-system", "apply-b", seconds=60)
    assert not b.acquired and b.holder == "apply-a"
    assert b.expires_at == pytest.approx(a.expires_at, abs=1)
    assert kube.acquire_lease("upgrader-lock", "kube-system", "apply-a", seconds=60).acquired
    renewed = kube.renew_lease("upgrader-lock", "kube-system", "apply-a", seconds=90)
    assert renewed.acquired and renewed.expires_at > a.expires_at
    assert not kube.renew_lease("upgrader-lock", "kube-system", "apply-b", seconds=60).acquired
    kube.release_lease("upgrader-lock", "kube-system", "apply-b")  # not ours: no effect
    assert not kube.acquire_lease("upgrader-lock", "kube-system", "apply-b", seconds=60).acquired
    kube.release_lease("upgrader-lock", "kube-system", "apply-a")
    b = kube.acquire_lease("upgrader-lock", "kube-system", "apply-b", seconds=60)
    assert b.acquired and b.holder == "apply-b"
    assert not kube.renew_lease("upgrader-lock", "kube-system", "apply-a", seconds=60).acquired


def test_an_expired_lease_can_be_taken_over(kube: KubeActions) -> None:
    assert kube.acquire_lease("short", "kube-system", "apply-a", seconds=1).acquired
    assert not kube.acquire_lease("short", "kube-system", "apply-b", seconds=1).acquired
    time.sleep(1.1)
    taken = kube.acquire_lease("short", "kube-system", "apply-b", seconds=30)
    assert taken.acquired and taken.holder == "apply-b"
    assert not kube.renew_lease("short", "kube-system", "apply-a", seconds=30).acquired


def test_config_map_round_trip(kube: KubeActions) -> None:
    assert kube.read_config_map("upgrader-journal", "kube-system") is None
    kube.write_config_map("upgrader-journal", "kube-system", {"journal.json": '{"steps": []}'})
    assert kube.read_config_map("upgrader-journal", "kube-system") == {
        "journal.json": '{"steps": []}'
    }
    kube.write_config_map("upgrader-journal", "kube-system", {"journal.json": '{"steps": [1]}'})
    assert kube.read_config_map("upgrader-journal", "kube-system") == {
        "journal.json": '{"steps": [1]}'
    }


def test_without_a_kubeconfig_uses_the_eks_endpoint_and_fresh_iam_tokens(
    staging: SandboxClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in staging.env.items():
        monkeypatch.setenv(key, value)
    config = replace(load(staging.running.config), kubeconfig=None)
    issued: list[str] = []
    real_token = eks_auth.token

    def counted(cluster: str, session: Any) -> str:
        issued.append(real_token(cluster, session))
        return issued[-1]

    monkeypatch.setattr(eks_auth, "token", counted)
    monkeypatch.setattr(kube_actions, "TOKEN_REFRESH_SECONDS", 0.0)  # a new token per request
    actions = KubeActions.connect(config, AwsActions.connect(config.region))
    try:
        assert len(issued) == 1
        assert actions.server_version().startswith("v1.12.")
        actions.write_config_map("eks-token", "kube-system", {"k": "v"})
        assert actions.read_config_map("eks-token", "kube-system") == {"k": "v"}
        assert len(issued) >= 4  # refreshed before the requests
        assert all(t.startswith("k8s-aws-v1.") for t in issued)
    finally:
        actions.close()
