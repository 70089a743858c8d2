"""ipamd's endpoints in the twin: introspection JSON per release, the Prometheus exposition,
the node shell the troubleshooting guide uses, and the pieces of ``pods/log``,
``pods/exec`` (WebSocket channels) and ``nodes/proxy`` the API server emulator relies on."""

from __future__ import annotations

import io
import json
import re
import struct

import pytest

from ekstwin.controllers.ipamd.introspect import PodRef, answer, paths
from ekstwin.controllers.ipamd.metrics import exposition
from ekstwin.controllers.node_shell import Host, HttpAnswer, run
from ekstwin.kubeapi import BadRequest
from ekstwin.kubeapi import websocket as ws
from ekstwin.kubeapi.node_access import (
    ExecResult,
    NodeProxyRoute,
    PodRoute,
    container_of,
    parse,
    render_log,
)
from tests.twin.unit.ipamd_support import Ec2World, Node, world  # noqa: F401 - fixture
from upgrader.catalog.cni_metrics import metric_names
from upgrader.semver import Version

# --- introspection and metrics of a real pool ---------------------------------------------


def _node(world: Ec2World, version: str, pods: int = 3) -> Node:  # noqa: F811
    node = Node(world, "m5.large", world.subnet()).start(version, WARM_ENI_TARGET="1")
    node.pods(pods)
    return node


def _refs(node: Node) -> dict[str, PodRef]:
    return {uid: PodRef("default", uid, f"sandbox-{uid}") for uid in node.pool.datastore.assigned}


def _enis(node: Node, version: str) -> dict[str, object]:
    status, _, body = answer(node.pool, "/v1/enis", _refs(node), node.world.clock.now())
    assert status == 200
    found: dict[str, object] = json.loads(body)
    return found


def test_v1_3_enis_list_every_address_with_assigned(world: Ec2World) -> None:  # noqa: F811
    node = _node(world, "v1.3.2")
    enis = _enis(node, "v1.3.2")
    pools = enis["ENIIPPools"]
    assert isinstance(pools, dict)
    assert set(pools) == {e.eni_id for e in node.enis()}
    for eni in node.enis():
        addresses = pools[eni.eni_id]["IPv4Addresses"]
        assert set(addresses) == set(eni.secondary_ips)
        assert all(set(a) == {"Assigned"} for a in addresses.values())
    assigned = [ip for p in pools.values() for ip, a in p["IPv4Addresses"].items() if a["Assigned"]]
    assert sorted(assigned) == sorted(node.pool.datastore.assigned.values())
    assert enis["AssignedIPs"] == len(assigned) >= 2  # v1.3: the first pod may find no IP yet


def test_v1_5_address_records_gain_address_and_unassigned_time(world: Ec2World) -> None:  # noqa: F811
    node = _node(world, "v1.5.5")
    pools = _enis(node, "v1.5.5")["ENIIPPools"]
    assert isinstance(pools, dict)
    record = next(iter(next(iter(pools.values()))["IPv4Addresses"].values()))
    assert set(record) == {"Address", "Assigned", "UnassignedTime"}


def test_v1_20_keys_the_answer_by_network_card(world: Ec2World) -> None:  # noqa: F811
    node = _node(world, "v1.20.1")
    enis = _enis(node, "v1.20.1")
    assert set(enis) == {"0"}
    card = enis["0"]
    assert isinstance(card, dict)
    assert set(card["ENIs"]) == {e.eni_id for e in node.enis()}
    keys = [
        r["IPAMKey"]
        for eni in card["ENIs"].values()
        for cidr in eni["AvailableIPv4Cidrs"].values()
        for r in (cidr["IPAddresses"] or {}).values()
    ]
    assert len([k for k in keys if k["containerID"]]) == len(node.pool.datastore.assigned) > 0


def test_pods_endpoint_until_v1_7_and_the_command_list_otherwise() -> None:
    assert "/v1/pods" in paths(Version.parse("v1.6.4"))
    assert "/v1/pods" not in paths(Version.parse("v1.7.0"))


def test_metrics_use_the_release_names_and_the_pool_values(world: Ec2World) -> None:  # noqa: F811
    for version in ("v1.3.2", "v1.5.5", "v1.19.2"):
        node = _node(world, version)
        text = exposition(node.pool, node.pool.counters)
        names = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
        ipamd = {n for n in names if not n.startswith(("go_", "process_"))}
        assert ipamd <= metric_names(Version.parse(version)), version
        prefix = "" if version == "v1.3.2" else "awscni_"
        allocated = re.search(rf"^{prefix}eni_allocated (\d+)$", text, re.MULTILINE)
        assert allocated and int(allocated[1]) == len(node.enis()), version
        assigned = re.search(rf"^{prefix}assigned_ip_addresses (\d+)$", text, re.MULTILINE)
        held = len(node.pool.datastore.assigned)
        assert assigned and int(assigned[1]) == held > 0, version


def test_a_refused_address_counts_as_no_available_ip(world: Ec2World) -> None:  # noqa: F811
    node = Node(world, "t3.nano", world.subnet()).start("v1.19.2", WARM_ENI_TARGET="0")
    got = [world.ipamd.assign(node.name, f"p{i}") for i in range(10)]
    assert None in got
    text = exposition(node.pool, node.pool.counters)
    refused = re.search(r"^awscni_no_available_ip_addresses (\d+)$", text, re.MULTILINE)
    assert refused and int(refused[1]) == got.count(None)


# --- the node shell ---------------------------------------------------------------------


def _host(*, host_network: bool = True, answers: dict[int, HttpAnswer] | None = None) -> Host:
    known = answers or {}
    return Host(
        hostname="node-1",
        node_ip="10.0.0.4",
        host_network=host_network,
        http=lambda host, port, path: known.get(port),
        ip_rules=lambda: ["0:\tfrom all lookup local"],
        routes=lambda table: [f"default via 10.0.0.1 dev eth0 table {table}"],
        files=lambda path: "line\n" if path == "/var/log/x" else None,
    )


def test_curl_reaches_the_node_ports_only_from_the_host_network() -> None:
    answers: dict[int, HttpAnswer] = {61679: (200, "application/json", b"{}")}
    assert run(["curl", "-s", "localhost:61679/v1/enis"], _host(answers=answers)).stdout == b"{}"
    pod_net = run(["curl", "localhost:61679/v1/enis"], _host(host_network=False, answers=answers))
    assert pod_net.exit_code == 7 and b"Couldn't connect" in pod_net.stderr
    silent = run(["curl", "-s", "localhost:61678/metrics"], _host())
    assert silent.exit_code == 7 and silent.stderr == b""


def test_curl_fail_flag_and_shell_wrapping() -> None:
    answers: dict[int, HttpAnswer] = {61678: (404, "text/plain", b"404 page not found\n")}
    failed = run(["sh", "-c", "curl -sSf http://127.0.0.1:61678/nope"], _host(answers=answers))
    assert failed.exit_code == 22 and b"returned error: 404" in failed.stderr
    assert run(["curl", "http://127.0.0.1:61678/nope"], _host(answers=answers)).exit_code == 0


def test_unknown_commands_fail_as_the_runtime_does() -> None:
    missing = run(["dig", "kubernetes"], _host())
    assert missing.exit_code == 127 and b"executable file not found in $PATH" in missing.stderr
    assert run([], _host()).exit_code == 1
    assert run(["ip", "route", "show", "table", "x"], _host()).exit_code == 255
    assert run(["ip", "route", "show", "table", "2"], _host()).stdout.endswith(b"table 2\n")
    assert run(["cat", "/var/log/x"], _host()).stdout == b"line\n"
    assert run(["cat", "/nope"], _host()).exit_code == 1


# --- node-bound routes, logs, WebSocket channels -----------------------------------------


def test_parse_node_bound_paths() -> None:
    assert parse(["api", "v1", "namespaces", "kube-system", "pods", "aws-node-x", "exec"]) == (
        PodRoute("kube-system", "aws-node-x", "exec")
    )
    assert parse(["api", "v1", "nodes", "n1:61678", "proxy", "metrics"]) == NodeProxyRoute(
        "n1", 61678, "/metrics"
    )
    assert parse(["api", "v1", "nodes", "https:n1:10250", "proxy"]) == NodeProxyRoute(
        "n1", 10250, "/"
    )
    assert parse(["api", "v1", "nodes", "n1", "proxy", "healthz"]) == NodeProxyRoute(
        "n1", 10250, "/healthz"
    )
    assert parse(["api", "v1", "namespaces", "a", "pods", "b", "status"]) is None
    with pytest.raises(BadRequest):
        parse(["api", "v1", "nodes", "n1:http", "proxy"])


def test_container_choice_as_the_apiserver_words_it() -> None:
    two = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
    }
    with pytest.raises(BadRequest, match=r"choose one of: \[a b\]"):
        container_of(two, None)
    with pytest.raises(BadRequest, match="container c is not valid for pod p"):
        container_of(two, "c")
    assert container_of(two, "b") == "b"


def test_log_options_apply_in_the_kubelets_order() -> None:
    lines = [(100.0, "one"), (200.0, "two"), (300.0, "three")]
    assert render_log(lines, {}, 300.0) == b"one\ntwo\nthree\n"
    assert render_log(lines, {"tailLines": "2"}, 300.0) == b"two\nthree\n"
    assert render_log(lines, {"sinceSeconds": "150"}, 300.0) == b"two\nthree\n"
    assert render_log(lines, {"limitBytes": "5"}, 300.0) == b"one\nt"
    stamped = render_log(lines[:1], {"timestamps": "true"}, 300.0)
    assert stamped == b"1970-01-01T00:01:40.000000000Z one\n"
    with pytest.raises(BadRequest):
        render_log(lines, {"tailLines": "-1"}, 300.0)


def test_websocket_accept_key_and_frames() -> None:
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455
    mask = b"\x01\x02\x03\x04"
    payload = b"\x00hello"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    client_frame = bytes([0x82, 0x80 | len(payload)]) + mask + masked
    assert ws.read_frame(io.BytesIO(client_frame)) == (ws.OP_BINARY, payload)
    big = ws.channel_message(ws.STDOUT, b"x" * 70000)
    assert big[1] == 127 and struct.unpack("!Q", big[2:10])[0] == 70001
    assert ws.read_frame(io.BytesIO(b"\x82")) is None


def test_channel_protocol_negotiation_and_error_channel() -> None:
    assert ws.choose_protocol("v5.channel.k8s.io, v4.channel.k8s.io") == "v5.channel.k8s.io"
    assert ws.choose_protocol("") == ""
    assert ws.choose_protocol("base64.channel.k8s.io") is None
    ok = ws.error_message("v4.channel.k8s.io", ["true"], ExecResult())
    assert json.loads(ok) == {"metadata": {}, "status": "Success"}
    failed = json.loads(ws.error_message("v5.channel.k8s.io", ["false"], ExecResult(exit_code=1)))
    assert failed["reason"] == "NonZeroExitCode"
    assert failed["details"]["causes"] == [{"reason": "ExitCode", "message": "1"}]
    assert ws.error_message("channel.k8s.io", ["true"], ExecResult()) == b""
    assert b"exit code 2" in ws.error_message("channel.k8s.io", ["x"], ExecResult(exit_code=2))
