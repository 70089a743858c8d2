"""``discover`` over the staging sandbox: values against the scenario and boto3, read-only,
with or without a kubeconfig, and clear errors for missing objects."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from ekstwin import files
from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.adapters.discover import discover
from upgrader.adapters.errors import CloudNotFoundError, CloudUnreachableError
from upgrader.config import Config, load
from upgrader.errors import ExitCode
from upgrader.model.state import ClusterState
from upgrader.sandbox import control

pytestmark = pytest.mark.integration


class Sandbox(SandboxClients):
    """A running sandbox seen only through its env file, kubeconfig and config."""

    def __init__(self, running: control.Running) -> None:
        super().__init__(running)
        self.config = load(running.config)

    def discover(self, config: Config | None = None) -> ClusterState:
        with self.environment():
            return discover(config or self.config)


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    yield from sandbox(tmp_path_factory, "staging", Sandbox)


@pytest.fixture(scope="module")
def state(staging: Sandbox) -> ClusterState:
    return staging.discover()


def test_discover_makes_no_mutating_call(staging: Sandbox) -> None:
    aws_before, kube_before = len(staging.aws_requests()), len(staging.kube_requests())
    staging.discover()
    aws_calls = staging.aws_requests()[aws_before:]
    kube_calls = staging.kube_requests()[kube_before:]
    assert aws_calls, "discover made no AWS call"
    assert [c["action"] for c in aws_calls if c["mutating"]] == []
    assert {c["method"] for c in kube_calls} == {"GET"}
    assert all(c["status"] < 400 or c["path"].endswith("/ingresses") for c in kube_calls)


def test_cluster_stacks_and_versions(state: ClusterState) -> None:
    assert state.region == "ap-northeast-1"
    assert (state.cluster.name, state.cluster.version, state.cluster.status) == (
        "staging",
        "1.12",
        "ACTIVE",
    )
    assert len(state.cluster.subnet_ids) == 2
    assert state.cluster.updates_in_progress == ()
    assert state.server_version.startswith("v1.12.")
    control_plane = state.stack("staging-eks")
    workers = state.stack("staging-workers")
    assert control_plane is not None and workers is not None
    assert control_plane.status == "CREATE_COMPLETE"
    assert control_plane.parameter("KubernetesVersion") == "1.12"
    assert [r.logical_id for r in control_plane.resources_of("AWS::EKS::Cluster")] == ["Cluster"]
    assert "AWS::EKS::Cluster" in control_plane.template_body
    assert workers.parameter("NodeInstanceType") == "r5.xlarge"
    assert control_plane.change_sets == workers.change_sets == ()
    assert dict(state.ami_parameters) == {
        "/aws/service/eks/optimized-ami/1.12/amazon-linux-2/recommended/image_id": (
            "ami-0011200eeeeeeeeee"
        ),
        "/aws/service/eks/optimized-ami/1.13/amazon-linux-2/recommended/image_id": (
            "ami-0011300eeeeeeeeee"
        ),
    }


def test_node_group_asg_instances_and_nodes_agree(state: ClusterState) -> None:
    workers = state.stack("staging-workers")
    assert workers is not None
    (asg_resource,) = workers.resources_of("AWS::AutoScaling::AutoScalingGroup")
    (asg,) = state.asgs
    assert asg.name == asg_resource.physical_id
    assert (asg.min_size, asg.desired, asg.max_size) == (1, 2, 4)
    # Staging's group comes from AWS's 2019 template: a launch configuration, no template.
    assert asg.launch_configuration is not None
    assert asg.launch_template_id is None
    assert asg.suspended_processes == ()
    assert sorted(i.instance_id for i in state.instances) == sorted(asg.instance_ids)
    assert {i.asg_name for i in state.instances} == {asg.name}
    assert {i.instance_type for i in state.instances} == {"r5.xlarge"}
    assert state.managed_nodegroups == ()
    assert len(state.nodes) == 2
    by_id = {i.instance_id: i for i in state.instances}
    for node in state.nodes:
        instance = by_id[node.instance_id]
        assert node.name == instance.private_dns_name
        assert node.az == instance.az
        assert node.instance_type == "r5.xlarge"
        assert node.kubelet_version.startswith("v1.12.")
        assert node.ready and not node.unschedulable
        assert node.allocatable_pods == 58  # r5.xlarge: 4 ENIs x (15 - 1) + 2
        assert node.allocatable_cpu_m == 4000
        assert node.nodegroup is None
    assert {n.az for n in state.nodes} == {"ap-northeast-1a", "ap-northeast-1c"}


def test_pods_workloads_and_pdbs_match_the_scenario(state: ClusterState) -> None:
    workload_pods = [p for p in state.pods if p.namespace != "kube-system"]
    assert len(workload_pods) == 56
    system = [p for p in state.pods if p.namespace == "kube-system"]
    assert len(system) == 6  # aws-node and kube-proxy per node, two CoreDNS
    assert all(p.phase == "Running" and not p.stuck_creating for p in state.pods)
    web = [p for p in workload_pods if p.namespace == "app"]
    assert len(web) == 8
    assert {(p.owner_kind, p.cpu_m, p.memory) for p in web} == {("ReplicaSet", 100, 128 << 20)}
    assert all(p.ip and p.node and p.created for p in web)
    aws_node = state.daemonset("kube-system", "aws-node")
    assert aws_node is not None
    (container,) = aws_node.containers
    assert container.tag == "v1.3.2"
    assert dict(container.env)["WARM_ENI_TARGET"] == "1"
    assert (aws_node.desired, aws_node.ready, aws_node.updated) == (2, 2, 2)
    assert aws_node.update_strategy == "RollingUpdate"
    assert aws_node.api_version == "apps/v1"
    search = state.workload("Deployment", "search", "search")
    assert search is not None and (search.replicas, search.ready) == (6, 6)
    assert search.selector == (("app", "search"),)
    pdbs = {p.name: p for p in state.pdbs}
    assert sorted(pdbs) == ["api", "auth", "billing", "web"]
    assert {p.api_version for p in pdbs.values()} == {"policy/v1beta1"}  # 1.12 has no policy/v1
    assert (pdbs["web"].max_unavailable, pdbs["web"].min_available) == ("1", None)
    assert (pdbs["web"].expected_pods, pdbs["web"].disruptions_allowed) == (8, 1)
    assert (pdbs["auth"].min_available, pdbs["auth"].desired_healthy) == ("3", 3)
    assert pdbs["auth"].disruptions_allowed == 3


def test_subnets_and_enis_equal_what_boto3_reports(staging: Sandbox, state: ClusterState) -> None:
    raw = staging.ec2.describe_subnets(SubnetIds=list(state.cluster.subnet_ids))["Subnets"]
    assert {s["SubnetId"]: s["AvailableIpAddressCount"] for s in raw} == {
        s.subnet_id: s.available_ips for s in state.subnets
    }
    assert sorted(s.name for s in state.subnets) == ["private-a", "private-c"]
    assert {s.cidr for s in state.subnets} == {"10.0.0.0/24", "10.0.1.0/24"}
    instances = {i.instance_id for i in state.instances}
    assert {e.instance_id for e in state.enis} == instances
    assert all(e.status == "in-use" and e.addresses == 15 for e in state.enis)
    raw_enis = staging.ec2.describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": list(state.cluster.subnet_ids)}]
    )["NetworkInterfaces"]
    assert sorted(e.eni_id for e in state.enis) == sorted(e["NetworkInterfaceId"] for e in raw_enis)
    assert len(state.enis) >= 2 * 3  # primary + 2 more per node for 28 pods under WARM_ENI_TARGET=1
    held = sum(e.addresses for e in state.enis)
    assert sum(s.available_ips for s in state.subnets) == 2 * 251 - held


def test_without_kubeconfig_uses_the_eks_endpoint_and_an_iam_token(
    staging: Sandbox, state: ClusterState
) -> None:
    before = len(staging.kube_requests())
    again = staging.discover(replace(staging.config, kubeconfig=None))
    assert again.fingerprint() == state.fingerprint()
    assert len(again.nodes) == 2
    assert len(staging.kube_requests()) > before


def test_missing_stack_is_bad_input_naming_the_stack(staging: Sandbox) -> None:
    config = replace(staging.config, nodegroup_stacks=("staging-workers", "staging-nope"))
    with pytest.raises(CloudNotFoundError) as caught:
        staging.discover(config)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert "staging-nope" in caught.value.subject
    assert "staging-nope" in caught.value.hint and "stacks" in caught.value.hint


def test_missing_cluster_is_bad_input(staging: Sandbox) -> None:
    with pytest.raises(CloudNotFoundError) as caught:
        staging.discover(replace(staging.config, cluster="prod"))
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert caught.value.subject == "EKS cluster prod"


def test_unreachable_kubernetes_is_an_error_without_the_token(
    staging: Sandbox, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secret = "s3cr3t-token-value"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(files.kubeconfig("staging", f"http://127.0.0.1:{port}", secret))
    )
    with pytest.raises(CloudUnreachableError) as caught:
        staging.discover(replace(staging.config, kubeconfig=kubeconfig))
    assert caught.value.exit_code == ExitCode.BAD_INPUT  # an environment problem (issue 14)
    assert f"127.0.0.1:{port}" in caught.value.subject
    assert secret not in caught.value.render()
    assert "reachable" in caught.value.hint
