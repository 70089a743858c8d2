"""The nodes' answers to ``pods/log``, ``pods/exec`` and ``nodes/proxy`` (the API server's
:class:`~ekstwin.kubeapi.node_access.NodeAgent`): the kubelet on :10250, ipamd's metrics on
:61678 (all interfaces) and its introspection server where its release binds it (with the
metrics on :61678 before v1.3.4 and in v1.4.0, on 127.0.0.1:61679 after, or at
INTROSPECTION_BIND_ADDRESS), the node's policy routes, and ipamd's log.

The twin writes ipamd's log lines to ``/host/var/log/aws-routed-eni/ipamd.log`` in the
aws-node container and to the aws-node pod's log alike.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ekstwin.clock import VirtualClock
from ekstwin.controllers.ipamd import Ipamd, NodePool
from ekstwin.controllers.ipamd.introspect import PodRef, answer, route_table
from ekstwin.controllers.ipamd.metrics import exposition
from ekstwin.controllers.kubelet import container_id
from ekstwin.controllers.node_shell import Host, HttpAnswer, run
from ekstwin.kubeapi import Store
from ekstwin.kubeapi.node_access import KUBELET_PORT, ExecResult, ProxyAnswer, node_address
from upgrader.catalog.cni_metrics import METRICS_PORT
from upgrader.semver import Version

IPAMD_LOG = "/host/var/log/aws-routed-eni/ipamd.log"
TEXT = "text/plain; charset=utf-8"
NOT_FOUND = (404, TEXT, b"404 page not found\n")
JSON_LOGS_SINCE = Version.parse("v1.6.0")  # zap's JSON lines replace seelog's text


class NodeEndpoints:
    """Every node's ports, containers and files; thread-safe (takes the twin's lock)."""

    def __init__(
        self,
        store: Store,
        clock: VirtualClock,
        ipamd: Ipamd,
        lock: threading.RLock,
        subnet_cidrs: Mapping[str, str],
    ) -> None:
        self._store = store
        self._clock = clock
        self._ipamd = ipamd
        self._lock = lock
        self._subnet_cidrs = dict(subnet_cidrs)

    # --- NodeAgent --------------------------------------------------------------------

    def pod_log(
        self, pod: Mapping[str, Any], container: str, *, previous: bool
    ) -> list[tuple[float, str]]:
        with self._lock:
            pool = self._cni_pool(pod)
            return [] if pool is None or previous else list(pool.log)

    def exec(
        self, pod: Mapping[str, Any], container: str, command: Sequence[str], *, tty: bool
    ) -> ExecResult:
        node = str(pod["spec"]["nodeName"])
        with self._lock:
            host = Host(
                hostname=node if pod["spec"].get("hostNetwork") else pod["metadata"]["name"],
                node_ip=self._node_ip(node),
                host_network=bool(pod["spec"].get("hostNetwork")),
                http=lambda h, port, path: self._http(
                    node, port, path, local=h != self._node_ip(node)
                ),
                ip_rules=lambda: self._ip_rules(node),
                routes=lambda table: self._routes(node, table),
                files=lambda path: self._file(pod, path),
            )
            return run(command, host)

    def proxy(self, node: Mapping[str, Any], port: int, path: str, query: str) -> ProxyAnswer:
        name = str(node["metadata"]["name"])
        with self._lock:
            found = self._http(name, port, path, local=False)
        if found is None:
            return ProxyAnswer(refused=True)
        status, content_type, body = found
        return ProxyAnswer(status=status, content_type=content_type, body=body)

    # --- ports ------------------------------------------------------------------------

    def _http(self, node: str, port: int, path: str, *, local: bool) -> HttpAnswer:
        """``GET path`` on the node's ``port`` from the node itself (``local``) or from
        the control plane; None when nothing listens there for that caller."""
        if port == KUBELET_PORT:
            return self._kubelet(node, path)
        pool = self._ipamd.pools.get(node)
        if pool is None or not pool.running or pool.config is None:
            return None
        config = pool.config
        serves_introspection = self._introspection_reachable(pool, port, node, local=local)
        if port == METRICS_PORT and config.metrics and path == "/metrics":
            return (
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                exposition(pool, pool.counters).encode(),
            )
        if serves_introspection:
            return answer(pool, path, self._pod_refs(node), self._clock.now())
        if port == METRICS_PORT and config.metrics:
            return NOT_FOUND
        return None

    def _introspection_reachable(
        self, pool: NodePool, port: int, node: str, *, local: bool
    ) -> bool:
        address = pool.config.introspection_address if pool.config is not None else None
        if address is None:
            return False
        host, _, bound_port = address.rpartition(":")
        if not bound_port.isdigit() or int(bound_port) != port:
            return False
        host = host.strip("[]")
        if host in {"", "0.0.0.0", "::"}:
            return True
        if host in {"127.0.0.1", "localhost", "::1"}:
            return local
        return not local and host == self._node_ip(node)

    def _kubelet(self, node: str, path: str) -> HttpAnswer:
        """The kubelet's read-only paths the troubleshooting guide and kubectl use."""
        if path == "/healthz":
            return 200, TEXT, b"ok"
        if path == "/pods":
            pods = self._store.list("pods", field_selector=f"spec.nodeName={node}")
            body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods}
            return 200, "application/json", json.dumps(body).encode()
        if path == "/configz":
            found = self._store.find("nodes", node)
            max_pods = int((found or {}).get("status", {}).get("capacity", {}).get("pods", 110))
            config = {"kubeletconfig": {"maxPods": max_pods, "clusterDomain": "cluster.local"}}
            return 200, "application/json", json.dumps(config).encode()
        return NOT_FOUND

    # --- the node's network and files -------------------------------------------------

    def _node_ip(self, node: str) -> str:
        found = self._store.find("nodes", node)
        return node_address(found) if found is not None else ""

    def _pod_refs(self, node: str) -> dict[str, PodRef]:
        return {
            p["metadata"]["uid"]: PodRef(
                p["metadata"]["namespace"],
                p["metadata"]["name"],
                container_id(p["metadata"]["uid"]),
            )
            for p in self._store.list("pods", field_selector=f"spec.nodeName={node}")
        }

    def _pod_ips(self, node: str) -> list[tuple[str, int]]:
        """(pod IP, ENI device index) of every pod ipamd gave an address on ``node``."""
        pool = self._ipamd.pools.get(node)
        if pool is None:
            return []
        ds = pool.datastore
        device = {ip: e.device_index for e in ds.enis.values() for ip in ds.addresses(e)}
        return sorted(
            ((ip, device.get(ip, 0)) for ip in ds.assigned.values()),
            key=lambda t: ipaddress.ip_address(t[0]),
        )

    def _ip_rules(self, node: str) -> list[str]:
        """``ip rule list``: ipamd's to-pod and from-pod rules between the kernel's own."""
        pods = self._pod_ips(node)
        rules = ["0:\tfrom all lookup local"]
        rules += [f"512:\tfrom all to {ip} lookup main" for ip, _ in pods]
        rules.append("1024:\tfrom all fwmark 0x80/0x80 lookup main")
        rules += [
            f"1536:\tfrom {ip} lookup {route_table(device)}" for ip, device in pods if device > 0
        ]
        rules += ["32766:\tfrom all lookup main", "32767:\tfrom all lookup default"]
        return rules

    def _routes(self, node: str, table: str) -> list[str]:
        pool = self._ipamd.pools.get(node)
        if pool is None:
            return []
        enis = {route_table(e.device_index): e for e in pool.datastore.enis.values()}
        wanted = 254 if table == "main" else int(table) if table.isdigit() else -1
        eni = enis.get(wanted)
        if eni is None:
            return []
        cidr = self._subnet_cidrs.get(eni.subnet_id, "")
        gateway = str(ipaddress.ip_network(cidr).network_address + 1) if cidr else ""
        dev = f"eth{eni.device_index}"
        if wanted != 254:
            return [f"default via {gateway} dev {dev}", f"{gateway} dev {dev} scope link"]
        lines = [
            f"default via {gateway} dev {dev}",
            f"{cidr} dev {dev} proto kernel scope link src {self._node_ip(node)}",
        ]
        lines += [f"{ip} dev eni{_veth(ip)} scope link" for ip, _ in self._pod_ips(node)]
        return lines

    def _file(self, pod: Mapping[str, Any], path: str) -> str | None:
        if path != IPAMD_LOG:
            return None
        pool = self._cni_pool(pod)
        if pool is None or pool.config is None:
            return None
        json_lines = pool.config.version >= JSON_LOGS_SINCE
        return "".join(_log_line(t, line, json_lines=json_lines) + "\n" for t, line in pool.log)

    def _cni_pool(self, pod: Mapping[str, Any]) -> NodePool | None:
        """The ipamd running in this aws-node pod, if it is one."""
        pool = self._ipamd.pools.get(str(pod.get("spec", {}).get("nodeName", "")))
        if pool is None or pool.cni_pod != pod["metadata"]["uid"]:
            return None
        return pool


def _veth(ip: str) -> str:
    """A stable host-side veth suffix (ipamd names them ``eni`` + a hash of the pod)."""
    return format(int(ipaddress.ip_address(ip)) * 2654435761 % (1 << 44), "011x")


def _log_line(t: float, line: str, *, json_lines: bool) -> str:
    stamp = datetime.fromtimestamp(t, UTC)
    if json_lines:
        ts = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return json.dumps({"level": "info", "ts": ts, "caller": "ipamd/ipamd.go", "msg": line})
    return f"{stamp.strftime('%Y-%m-%dT%H:%M:%SZ')} [INFO] {line}"
