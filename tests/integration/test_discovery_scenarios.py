"""``discover`` on the modern (managed node groups, 1.31) and tight (nearly full subnet)
sandboxes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.adapters.discover import discover
from upgrader.config import load
from upgrader.model.state import ClusterState
from upgrader.sandbox import control

pytestmark = pytest.mark.integration


@dataclass
class Discovered:
    state: ClusterState
    free_by_boto3: dict[str, int]


def _discovered(running: control.Running) -> Discovered:
    live = SandboxClients(running)
    with live.environment():
        state = discover(load(running.config))
    subnets = live.ec2.describe_subnets(SubnetIds=[s.subnet_id for s in state.subnets])
    free = {s["SubnetId"]: s["AvailableIpAddressCount"] for s in subnets["Subnets"]}
    return Discovered(state, free)


@pytest.fixture(scope="module")
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Discovered]:
    yield from sandbox(tmp_path_factory, "modern", _discovered)


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Discovered]:
    yield from sandbox(tmp_path_factory, "tight", _discovered)


def test_modern_managed_node_group_and_its_asg(modern: Discovered) -> None:
    state = modern.state
    assert state.cluster.version == "1.31"
    (managed,) = state.managed_nodegroups
    assert (managed.name, managed.version, managed.status) == ("general", "1.31", "ACTIVE")
    assert managed.instance_types == ("m5.xlarge",)
    assert (managed.min_size, managed.desired, managed.max_size) == (1, 3, 6)
    assert len(managed.subnet_ids) == 3
    (asg_name,) = managed.asg_names
    asgs = {a.name: a for a in state.asgs}
    assert len(asgs) == 2  # the managed group's and the self-managed "memory" group's
    assert asgs[asg_name].desired == 3 and len(asgs[asg_name].instance_ids) == 3
    general_nodes = [n for n in state.nodes if n.nodegroup == "general"]
    assert sorted(n.instance_id for n in general_nodes) == sorted(asgs[asg_name].instance_ids)
    assert {n.instance_type for n in general_nodes} == {"m5.xlarge"}
    assert len(state.nodes) == len(state.instances) == 6
    assert sum(n.nodegroup is None for n in state.nodes) == 3


def test_modern_serves_policy_v1_and_ami_parameters_for_both_versions(modern: Discovered) -> None:
    state = modern.state
    assert {p.api_version for p in state.pdbs} == {"policy/v1"}
    assert sorted(p.name for p in state.pdbs) == ["cache", "cart", "frontend"]
    cart = next(p for p in state.pdbs if p.name == "cart")
    assert (cart.min_available, cart.expected_pods, cart.disruptions_allowed) == ("6", 9, 3)
    paths = dict(state.ami_parameters)
    assert "/aws/service/eks/optimized-ami/1.31/amazon-linux-2/recommended/image_id" in paths
    assert "/aws/service/eks/optimized-ami/1.32/amazon-linux-2/recommended/image_id" in paths
    assert all(value.startswith("ami-") for value in paths.values())
    aws_node = state.daemonset("kube-system", "aws-node")
    assert aws_node is not None
    assert dict(aws_node.containers[0].env)["WARM_PREFIX_TARGET"] == "1"
    assert sorted(s.name for s in state.subnets) == [
        "modern-private-a",
        "modern-private-b",
        "modern-private-c",
    ]


def test_tight_subnet_numbers_equal_boto3(tight: Discovered) -> None:
    state = tight.state
    assert {s.subnet_id: s.available_ips for s in state.subnets} == tight.free_by_boto3
    by_name = {s.name: s for s in state.subnets}
    # 251 usable, 161 held by other tenants, the rest by the node's ENIs (15 addresses each)
    node_a = next(i for i in state.instances if i.subnet_id == by_name["private-a"].subnet_id)
    held = sum(e.addresses for e in state.enis if e.instance_id == node_a.instance_id)
    assert held % 15 == 0 and held >= 45  # WARM_ENI_TARGET=1 with ~28 pods: 3 ENIs or more
    assert by_name["private-a"].available_ips == 251 - 161 - held
    assert len([p for p in state.pods if p.namespace in ("app", "api")]) == 56
