"""The order a drain evicts a wave's pods in: nodes take turns, terminating pods wait."""

from __future__ import annotations

from dataclasses import replace

from upgrader.executor.nodegroups import eviction_order
from upgrader.model.kube import Pod


def _pod(name: str, node: str, *, terminating: bool = False) -> Pod:
    return Pod(
        namespace="team",
        name=name,
        node=node,
        phase="Running",
        host_network=False,
        ip=None,
        owner_kind="ReplicaSet",
        owner_name="web-1",
        cpu_m=50,
        memory=1,
        terminating=terminating,
    )


def test_the_nodes_of_a_wave_take_turns_so_a_tight_budget_spreads_over_them() -> None:
    a = [_pod("a1", "a"), _pod("a2", "a"), _pod("a3", "a")]
    b = [_pod("b1", "b")]
    c = [_pod("c1", "c"), _pod("c2", "c")]
    assert [p.name for p in eviction_order([a, b, c])] == ["a1", "b1", "c1", "a2", "c2", "a3"]


def test_terminating_pods_are_not_evicted_again() -> None:
    gone = replace(_pod("a1", "a"), terminating=True)
    assert [p.name for p in eviction_order([[gone, _pod("a2", "a")], []])] == ["a2"]
    assert eviction_order([]) == []
