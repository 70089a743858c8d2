"""Run a scenario's twin in this process and print, as JSON, what the twin itself shows:
each subnet's free addresses, each node's max pods, and the pods on each node.

``python -m tests.twin.integration.twin_numbers MODE SCENARIO``; MODE poisons the product's
capacity engine first: ``nonsense`` makes its formulas return absurd numbers, ``unimportable``
makes ``import upgrader.capacity`` fail, ``none`` leaves it alone.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
from collections.abc import Sequence
from types import ModuleType, SimpleNamespace
from typing import Any

POISONED = "upgrader.capacity"


class _Unimportable(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == POISONED or fullname.startswith(f"{POISONED}."):
            raise ImportError(f"{fullname} is unimportable in this twin run")
        return None


def _nonsense(*_: Any, **__: Any) -> Any:
    """Whatever the capacity engine is asked, an absurd answer."""
    return SimpleNamespace(
        value=3, uncapped=3, pod_enis=99, pod_ip_capacity=1, prefix_delegation=True,
        enis_attached=99, pool_ips=9999, subnet_ips=9999, node_subnet_ips=9999,
        pod_subnet_ips=9999, boot_peak_ips=9999, prefixes=77, pods_with_ip=0,
    )  # fmt: skip


def poison(mode: str) -> None:
    if mode == "unimportable":
        for name in [m for m in sys.modules if m == POISONED or m.startswith(f"{POISONED}.")]:
            del sys.modules[name]
        sys.meta_path.insert(0, _Unimportable())
    elif mode == "nonsense":
        from upgrader.capacity import node  # noqa: PLC0415 - poisoned before the twin loads

        node.node_addresses = _nonsense
        node.max_pods = _nonsense
        node._node_addresses = _nonsense  # type: ignore[assignment]
    elif mode != "none":
        raise SystemExit(f"unknown mode {mode!r}")


def numbers(name: str) -> dict[str, Any]:
    from ekstwin.runtime import Sandbox  # noqa: PLC0415 - after poisoning
    from ekstwin.scenario import load  # noqa: PLC0415

    sandbox = Sandbox(load(name))
    sandbox.start()
    try:
        assert sandbox.twin is not None and sandbox.world is not None
        with sandbox.twin.lock, sandbox.store.lock:
            free = {n: sandbox.twin.subnet_free(i) for n, i in sandbox.world.subnet_ids.items()}
            pods = [p for p in sandbox.store.list("pods") if not p["spec"].get("hostNetwork")]
            nodes = {
                n["metadata"]["name"]: {
                    "max_pods": int(n["status"]["capacity"]["pods"]),
                    "instance_type": n["metadata"]["labels"]["node.kubernetes.io/instance-type"],
                    "instance_id": n["spec"]["providerID"].rsplit("/", 1)[1],
                    "pods": sum(
                        1 for p in pods if p["spec"].get("nodeName") == n["metadata"]["name"]
                    ),
                }
                for n in sandbox.store.list("nodes")
            }
            subnet_of = {i.instance_id: i.subnet_id for i in sandbox.twin.instances()}
            ids = {i: n for n, i in sandbox.world.subnet_ids.items()}
            for node in nodes.values():
                node["subnet"] = ids[subnet_of[node["instance_id"]]]
        loaded = sorted(m for m in sys.modules if m == POISONED or m.startswith(f"{POISONED}."))
        return {"free": free, "nodes": nodes, "capacity_modules": loaded}
    finally:
        sandbox.stop()


def main() -> None:
    mode, name = sys.argv[1:3]
    poison(mode)
    print(json.dumps(numbers(name), sort_keys=True))


if __name__ == "__main__":
    main()
