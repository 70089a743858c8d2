"""Eviction against PodDisruptionBudgets, computed live from the pods."""

from __future__ import annotations

from typing import Any

import pytest

from ekstwin.kubeapi import InternalError, Store, TooManyRequests
from ekstwin.kubeapi.eviction import evaluate


def web_pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "web:1"}]},
    }


def make_ready(store: Store, name: str, *, ready: bool = True) -> None:
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    store.patch(
        "pods",
        name,
        {"status": {"phase": "Running", "conditions": [condition]}},
        namespace="default",
        subresource="status",
    )


def pdb(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec},
    }


@pytest.fixture
def store() -> Store:
    s = Store()
    for i in range(4):
        s.create("pods", web_pod(f"web-{i}"), namespace="default")
        make_ready(s, f"web-{i}")
    return s


@pytest.mark.parametrize(
    ("spec", "desired"),
    [
        ({"maxUnavailable": 1}, 3),
        ({"maxUnavailable": "30%"}, 2),  # 1.2 unavailable rounds up to 2
        ({"minAvailable": 2}, 2),
        ({"minAvailable": "60%"}, 3),  # 2.4 rounds up to 3
    ],
)
def test_desired_healthy(store: Store, spec: dict[str, Any], desired: int) -> None:
    budget = evaluate(
        pdb("b", **spec), store.list("pods", namespace="default"), empty_matches_all=False
    )
    assert (budget.expected, budget.healthy, budget.desired_healthy) == (4, 4, desired)


def test_eviction_until_the_budget_is_spent(store: Store) -> None:
    store.create("poddisruptionbudgets.policy", pdb("web", maxUnavailable=1), namespace="default")
    store.evict("web-0", namespace="default")
    evicted = store.get("pods", "web-0", namespace="default")
    assert evicted["metadata"]["deletionGracePeriodSeconds"] == 30  # graceful, kubelet finishes
    with pytest.raises(TooManyRequests) as blocked:
        store.evict("web-1", namespace="default")
    status = blocked.value.status()
    assert status["code"] == 429 and status["reason"] == "TooManyRequests"
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [
        {
            "reason": "DisruptionBudget",
            "message": "The disruption budget web needs 3 healthy pods and has 3 currently",
        }
    ]


def test_unhealthy_pod_may_always_be_evicted(store: Store) -> None:
    store.create("poddisruptionbudgets.policy", pdb("web", minAvailable=4), namespace="default")
    with pytest.raises(TooManyRequests):
        store.evict("web-0", namespace="default")
    make_ready(store, "web-3", ready=False)
    store.evict("web-3", namespace="default")


def test_two_budgets_are_an_internal_error(store: Store) -> None:
    store.create("poddisruptionbudgets.policy", pdb("a", maxUnavailable=1), namespace="default")
    store.create("poddisruptionbudgets.policy", pdb("b", maxUnavailable=1), namespace="default")
    with pytest.raises(InternalError) as error:
        store.evict("web-0", namespace="default")
    assert error.value.code == 500


def test_no_budget_evicts(store: Store) -> None:
    store.evict("web-0", namespace="default", grace_period_seconds=0)
    assert store.find("pods", "web-0", namespace="default") is None
