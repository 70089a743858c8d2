"""ipamd's introspection server (``/v1/enis``, ``/v1/pods``, …) in each release's own JSON.

Shapes as ``encoding/json`` writes the datastore's exported structs at each tag
(pkg/ipamd/datastore/data_store.go; field order is struct order, map keys sorted):

- v1.0 … v1.4: ``ENIIPPools`` with ``IPv4Addresses: {ip: {"Assigned"}}`` for every address;
- v1.5 … v1.6: the address records gain ``Address`` and ``UnassignedTime``;
- v1.7 … v1.8: ``ENIs`` with ``IPv4Addresses: {ip: {IPAMKey, Address, UnassignedTime}}``
  (``IsEFA`` from v1.7.6);
- v1.9: ``AvailableIPv4Cidrs: {cidr: {Cidr, IPv4Addresses, IsPrefix}}``; a CIDR lists only
  the addresses assigned or cooling down (getUnusedIP forgets the others);
- v1.10: ``IPv6Cidrs``; ``IPv4Addresses`` becomes ``IPAddresses``, plus ``AddressFamily``;
- v1.11: address records ``{Address, IPAMKey, IPAMMetadata, AssignedTime, UnassignedTime}``;
- v1.20: one ``ENIInfos`` per network card, keyed by its index (``RouteTableID`` from
  v1.20.3, ``IsExcludedForPodIPs`` and ``SubnetID`` from v1.22);
- v1.23: ``containerID`` and ``ifName`` scrubbed from the answer.

``/v1/pods`` exists up to v1.6 (``name_namespace_container`` keys, ``…_sandbox`` in v1.6).
Go's ServeMux answers any unknown path with the root handler's list of commands.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ekstwin.controllers.ipamd.datastore import Datastore, EniEntry, prefix_addresses
from ekstwin.controllers.ipamd.node import NodePool
from upgrader.semver import Version

ZERO_TIME = "0001-01-01T00:00:00Z"
NETWORK_NAME = "aws-cni"
RT_TABLE_MAIN = 254
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class PodRef:
    """The pod behind an assigned address, as the CNI told ipamd (sandbox = pause container)."""

    namespace: str
    name: str
    sandbox: str


def _since(version: Version, tag: str) -> bool:
    return version >= Version.parse(tag)


def _go_time(t: float | None) -> str:
    if t is None or t == float("-inf"):
        return ZERO_TIME
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _mask(block: str) -> str:
    return base64.b64encode(ipaddress.ip_network(block).netmask.packed).decode()


def paths(version: Version) -> list[str]:
    """The introspection paths of ``version`` (sorted: Go's map order is random)."""
    found = [
        "/v1/enis",
        "/v1/eni-configs",
        "/v1/networkutils-env-settings",
        "/v1/ipamd-env-settings",
    ]
    if not _since(version, "v1.7.0"):
        found.append("/v1/pods")
    return sorted(found)


def answer(
    pool: NodePool, path: str, pods: Mapping[str, PodRef], now: float
) -> tuple[int, str, bytes]:
    """Status, content type and body of ``GET path`` on the node's introspection server."""
    assert pool.config is not None
    version = pool.config.version
    body: Any
    if path == "/v1/enis":
        body = _enis(pool, pods, now, version)
    elif path == "/v1/pods" and not _since(version, "v1.7.0"):
        body = _pods(pool, pods)
    elif path == "/v1/ipamd-env-settings":
        body = _ipamd_env(pool, version)
    elif path == "/v1/networkutils-env-settings":
        body = _network_env(pool)
    elif path == "/v1/eni-configs":
        body = {"securityGroups": None, "subnet": pool.eniconfig_subnet or ""}
    else:
        body = {"AvailableCommands": paths(version)}
    return 200, JSON, json.dumps(body, separators=(",", ":")).encode()


def _owner(ds: Datastore, ip: str) -> str | None:
    return next((uid for uid, held in ds.assigned.items() if held == ip), None)


def _enis(pool: NodePool, pods: Mapping[str, PodRef], now: float, v: Version) -> Any:
    ds = pool.datastore
    if not _since(v, "v1.7.0"):
        return {
            "TotalIPs": ds.total,
            "AssignedIPs": ds.assigned_count,
            "ENIIPPools": {e.eni_id: _pool_v13(ds, e, v) for e in _by_id(ds)},
        }
    info = {
        "TotalIPs": ds.total,
        "AssignedIPs": ds.assigned_count,
        "ENIs": {e.eni_id: _eni(pool, e, pods, now, v) for e in _by_id(ds)},
    }
    return {"0": info} if _since(v, "v1.20.0") else info


def _by_id(ds: Datastore) -> list[EniEntry]:
    return sorted(ds.enis.values(), key=lambda e: e.eni_id)


def _pool_v13(ds: Datastore, e: EniEntry, v: Version) -> dict[str, Any]:
    held = set(ds.assigned.values())
    addresses: dict[str, Any] = {}
    for ip in sorted(ds.addresses(e), key=ipaddress.ip_address):
        if _since(v, "v1.5.0"):
            freed = ds.freed.get(ip)
            addresses[ip] = {
                "Address": ip,
                "Assigned": ip in held,
                "UnassignedTime": _go_time(freed),
            }
        else:
            addresses[ip] = {"Assigned": ip in held}
    return {
        "IsPrimary": e.primary,
        "ID": e.eni_id,
        "DeviceNumber": e.device_index,
        "AssignedIPv4Addresses": ds.assigned_on(e),
        "IPv4Addresses": addresses,
    }


def _address(ds: Datastore, ip: str, pods: Mapping[str, PodRef], v: Version) -> dict[str, Any]:
    uid = _owner(ds, ip)
    ref = pods.get(uid) if uid is not None else None
    scrub = _since(v, "v1.23.0")
    key = {
        "networkName": NETWORK_NAME if uid is not None else "",
        "containerID": ref.sandbox if ref is not None and not scrub else "",
        "ifName": "eth0" if uid is not None and not scrub else "",
    }
    freed = ds.freed.get(ip)
    if not _since(v, "v1.11.0"):
        return {"IPAMKey": key, "Address": ip, "UnassignedTime": _go_time(freed)}
    metadata = {"k8sPodNamespace": ref.namespace, "k8sPodName": ref.name} if ref is not None else {}
    return {
        "Address": ip,
        "IPAMKey": key,
        "IPAMMetadata": metadata,
        "AssignedTime": _go_time(ds.assigned_at.get(ip)),
        "UnassignedTime": _go_time(freed),
    }


def _eni(
    pool: NodePool, e: EniEntry, pods: Mapping[str, PodRef], now: float, v: Version
) -> dict[str, Any]:
    ds = pool.datastore
    out: dict[str, Any] = {"ID": e.eni_id, "IsPrimary": e.primary, "IsTrunk": False}
    if _since(v, "v1.7.6"):
        out["IsEFA"] = False
    out["DeviceNumber"] = e.device_index
    if not _since(v, "v1.9.0"):
        out["IPv4Addresses"] = {
            ip: _address(ds, ip, pods, v)
            for ip in sorted(ds.addresses(e), key=ipaddress.ip_address)
        }
        return out
    held = set(ds.assigned.values())
    cidrs: dict[str, Any] = {}
    blocks = [(p, True) for p in e.prefixes] if ds.pd else [(f"{ip}/32", False) for ip in e.ips]
    for block, is_prefix in sorted(blocks):
        shown = [ip for ip in prefix_addresses(block) if ip in held or ds.in_cooldown(ip, now)]
        addresses = {ip: _address(ds, ip, pods, v) for ip in shown}
        cidr: dict[str, Any] = {
            "Cidr": {"IP": block.split("/")[0], "Mask": _mask(block)},
        }
        if _since(v, "v1.10.0"):
            cidr.update(IPAddresses=addresses, IsPrefix=is_prefix, AddressFamily="4")
        else:
            cidr.update(IPv4Addresses=addresses, IsPrefix=is_prefix)
        cidrs[block] = cidr
    out["AvailableIPv4Cidrs"] = cidrs
    if _since(v, "v1.10.0"):
        out["IPv6Cidrs"] = {}
    if _since(v, "v1.22.0"):
        out["IsExcludedForPodIPs"] = False
    if _since(v, "v1.20.3"):
        out["RouteTableID"] = route_table(e.device_index)
    if _since(v, "v1.22.0"):
        out["SubnetID"] = e.subnet_id
    return out


def route_table(device_index: int) -> int:
    """The host route table of an ENI on network card 0 (networkutils CalculateRouteTableId)."""
    return RT_TABLE_MAIN if device_index == 0 else device_index + 1


def _pods(pool: NodePool, pods: Mapping[str, PodRef]) -> dict[str, Any]:
    ds = pool.datastore
    device = {ip: e.device_index for e in ds.enis.values() for ip in ds.addresses(e)}
    out: dict[str, Any] = {}
    for uid, ip in sorted(ds.assigned.items(), key=lambda kv: kv[1]):
        ref = pods.get(uid)
        if ref is None:
            continue
        out[f"{ref.name}_{ref.namespace}_{ref.sandbox}"] = {
            "IP": ip,
            "DeviceNumber": device.get(ip, 0),
        }
    return dict(sorted(out.items()))


def _ipamd_env(pool: NodePool, v: Version) -> dict[str, Any]:
    """GetConfigForDebug: the effective targets, as ipamd parsed them."""
    c = pool.config
    assert c is not None
    out: dict[str, Any] = {
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": c.custom_networking,
        "WARM_ENI_TARGET": c.warm_eni_target,
        "WARM_IP_TARGET": c.warm_ip_target,
    }
    env = dict(c.env)
    if _since(v, "v1.12.6"):
        out["AWS_MANAGE_ENIS_NON_SCHEDULABLE"] = env.get("AWS_MANAGE_ENIS_NON_SCHEDULABLE") in {
            "true",
            "1",
        }
    if _since(v, "v1.18.0"):
        out["ENABLE_SUBNET_DISCOVERY"] = env.get("ENABLE_SUBNET_DISCOVERY", "true") != "false"
    return dict(sorted(out.items()))


def _network_env(pool: NodePool) -> dict[str, Any]:
    """networkutils' GetConfigForDebug (v1.6's set of keys) from aws-node's env."""
    assert pool.config is not None
    env = dict(pool.config.env)
    excluded = env.get("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS")
    return {
        "AWS_VPC_CNI_NODE_PORT_SUPPORT": env.get("AWS_VPC_CNI_NODE_PORT_SUPPORT") != "false",
        "AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER": env.get("AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER")
        != "false",
        "AWS_VPC_K8S_CNI_CONNMARK": 128,
        "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": excluded.split(",") if excluded else None,
        "AWS_VPC_K8S_CNI_EXTERNALSNAT": env.get("AWS_VPC_K8S_CNI_EXTERNALSNAT") == "true",
        "AWS_VPC_K8S_CNI_MTU": int(env.get("AWS_VPC_ENI_MTU", "9001") or 9001),
        "AWS_VPC_K8S_CNI_RANDOMIZESNAT": env.get("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "prng"),
    }
