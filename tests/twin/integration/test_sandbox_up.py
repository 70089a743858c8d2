"""`upgrader sandbox up` on every shipped scenario, seen through boto3 and the
official kubernetes client exactly as production code would see it."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ekstwin.scenario import Scenario, load, shipped
from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.capacity.node import node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import bundled as bundled_instances
from upgrader.sandbox import control

pytestmark = pytest.mark.integration


class Live(SandboxClients):
    """A running sandbox and real clients configured from its files only."""

    def __init__(self, running: control.Running, scenario: Scenario) -> None:
        super().__init__(running)
        self.scenario = scenario


@pytest.fixture(scope="module", params=shipped())
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    yield from sandbox(
        tmp_path_factory, request.param, lambda running: Live(running, load(request.param))
    )


def _instances(live: Live) -> list[dict[str, Any]]:
    pages = live.ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def test_aws_sees_cluster_stacks_instances_subnets(live: Live) -> None:
    s = live.scenario
    cluster = live.eks.describe_cluster(name=s.name)["cluster"]
    assert cluster["version"] == s.kubernetes.minor_str
    assert cluster["status"] == "ACTIVE"
    stacks = {st["StackName"]: st["StackStatus"] for st in live.cfn.describe_stacks()["Stacks"]}
    assert stacks[f"{s.name}-eks"] == "CREATE_COMPLETE"
    for ng in s.nodegroups:
        assert stacks[f"{s.name}-{ng.name}"] == "CREATE_COMPLETE"
    assert len(_instances(live)) == sum(ng.desired for ng in s.nodegroups)
    names = {
        t["Value"]
        for sub in live.ec2.describe_subnets()["Subnets"]
        for t in sub.get("Tags", [])
        if t["Key"] == "Name"
    }
    assert {sub.name for sub in s.subnets} <= names


def test_one_ready_node_per_instance_and_every_pod_running_on_an_eni_address(live: Live) -> None:
    instances = {i["InstanceId"]: i for i in _instances(live)}
    nodes = live.core.list_node().items
    assert sorted(n.spec.provider_id.rsplit("/", 1)[1] for n in nodes) == sorted(instances)
    for node in nodes:  # named by private DNS name, as EKS nodes are
        instance = instances[node.spec.provider_id.rsplit("/", 1)[1]]
        assert node.metadata.name == instance["PrivateDnsName"]
        assert node.metadata.name.endswith(f".{live.scenario.region}.compute.internal")
        zone = instance["Placement"]["AvailabilityZone"]
        assert node.metadata.labels["topology.kubernetes.io/zone"] == zone
    for node in nodes:
        ready = next(c for c in node.status.conditions if c.type == "Ready")
        assert ready.status == "True", node.metadata.name
    secondary = {
        a["PrivateIpAddress"]
        for eni in live.ec2.describe_network_interfaces()["NetworkInterfaces"]
        if eni.get("Attachment", {}).get("InstanceId") in instances
        for a in eni["PrivateIpAddresses"]
        if not a["Primary"]
    }
    pods = live.core.list_pod_for_all_namespaces().items
    expected = live.scenario.pods + live.scenario.coredns_replicas + 2 * len(nodes)
    assert len(pods) == expected
    for pod in pods:
        assert pod.status.phase == "Running", pod.metadata.name
        if not pod.spec.host_network:
            assert pod.status.pod_ip in secondary, pod.metadata.name


def test_free_addresses_per_subnet_equal_the_capacity_engine(live: Live) -> None:
    """A cross-check of two implementations: the twin's own ipamd allocated these addresses
    (test_twin_independence proves it never asks the capacity engine)."""
    s = live.scenario
    cni = CniSettings.from_env(s.cni_version, dict(s.cni_env))
    catalog = bundled_instances()
    by_node = Counter(
        p.spec.node_name
        for p in live.core.list_pod_for_all_namespaces().items
        if not p.spec.host_network
    )
    instance_of = {
        n.metadata.name: n.spec.provider_id.rsplit("/", 1)[1] for n in live.core.list_node().items
    }
    held: Counter[str] = Counter()
    ec2 = {i["InstanceId"]: i for i in _instances(live)}
    for node, instance_id in instance_of.items():
        inst = ec2[instance_id]
        na = node_addresses(catalog.get(inst["InstanceType"]), cni, by_node[node])
        held[inst["SubnetId"]] += na.subnet_ips
    subnets = live.ec2.describe_subnets()["Subnets"]
    for scenario_subnet in s.subnets:
        sub = next(
            x for x in subnets if {"Key": "Name", "Value": scenario_subnet.name} in x["Tags"]
        )
        leaked = dict(s.faults.leaked_enis).get(scenario_subnet.name, 0)
        leaked_ips = leaked * catalog.get(s.nodegroups[0].instance_type).ipv4_per_eni
        usable = ipaddress.ip_network(scenario_subnet.cidr).num_addresses - 5
        predicted = usable - scenario_subnet.used - leaked_ips - held[sub["SubnetId"]]
        assert sub["AvailableIpAddressCount"] == predicted, scenario_subnet.name


def test_second_up_on_a_live_dir_exits_2(live: Live) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "upgrader",
            "sandbox",
            "up",
            live.scenario.name,
            "--dir",
            str(live.running.directory),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert "already running" in result.stderr
    assert "sandbox down" in result.stderr


def test_files_point_at_loopback_only(live: Live) -> None:
    assert live.env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert live.running.kubernetes_endpoint.startswith("http://127.0.0.1:")
    cfg = Path(live.running.config).read_text()
    assert f"cluster: {live.scenario.name}" in cfg
