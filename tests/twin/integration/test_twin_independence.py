"""Issue 11, item 1: the twin's free addresses per subnet and its nodes' max pods come from
its own ipamd and kubelet, never from the product's capacity engine.

Each scenario's twin runs in a child process whose ``upgrader.capacity`` is poisoned first
(formulas answering nonsense, or the package unimportable); the twin's numbers must not move
and must still match what the capacity engine, unpoisoned here, predicts.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from ekstwin.scenario import load
from upgrader.capacity.node import max_pods, node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import bundled

pytestmark = pytest.mark.integration


def _twin(mode: str, scenario: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.twin.integration.twin_numbers", mode, scenario],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _predicted(scenario: str, nodes: dict[str, Any]) -> tuple[dict[str, int], set[int]]:
    """Free addresses per subnet and the max pods the capacity engine expects."""
    s = load(scenario)
    cni = CniSettings.from_env(s.cni_version, dict(s.cni_env))
    catalog = bundled()
    held: Counter[str] = Counter()
    pods = set()
    for node in nodes.values():
        inst = catalog.get(node["instance_type"])
        held[node["subnet"]] += node_addresses(inst, cni, node["pods"]).subnet_ips
        pods.add(max_pods(inst, cni).value)
    free = {}
    for sub in s.subnets:
        leaked = dict(s.faults.leaked_enis).get(sub.name, 0)
        leaked_ips = leaked * catalog.get(s.nodegroups[0].instance_type).ipv4_per_eni
        usable = ipaddress.ip_network(sub.cidr).num_addresses - 5
        free[sub.name] = usable - sub.used - leaked_ips - held[sub.name]
    return free, pods


@pytest.mark.parametrize("scenario", ["staging", "modern"])
def test_poisoning_the_capacity_engine_changes_nothing_in_the_twin(scenario: str) -> None:
    # The scheduler may place pods differently from one run to the next, so each run is
    # compared with what the (unpoisoned) capacity engine predicts for its own placement.
    for mode in ("nonsense", "unimportable"):
        run = _twin(mode, scenario)
        if mode == "unimportable":
            assert run["capacity_modules"] == []  # the twin ran without upgrader.capacity
        free, pods = _predicted(scenario, run["nodes"])
        assert run["free"] == free, mode  # two independent implementations agree
        assert {n["max_pods"] for n in run["nodes"].values()} == pods, mode
