"""The Staging sandbox behaves like EKS where an upgrade depends on it: a full
subnet leaves pods ContainerCreating with the CNI's message, DaemonSets roll
within maxUnavailable, evictions honour PDBs, and a control-plane version
change through CloudFormation lands after a virtual delay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conftest import REPO
from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for
from upgrader.sandbox import control

pytestmark = pytest.mark.integration
NO_IP = "failed to assign an IP address to container"


class Staging(SandboxClients):
    def __init__(self, running: control.Running) -> None:
        super().__init__(running)
        self.version = client.VersionApi(self.api)

    def subnet(self, name: str) -> dict[str, Any]:
        subnets = self.ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [name]}])
        return subnets["Subnets"][0]  # type: ignore[no-any-return]

    def node_in(self, subnet_id: str) -> str:
        reservations = self.ec2.describe_instances(
            Filters=[
                {"Name": "subnet-id", "Values": [subnet_id]},
                {"Name": "instance-state-name", "Values": ["running"]},
            ]
        )["Reservations"]
        instance_id = reservations[0]["Instances"][0]["InstanceId"]
        for node in self.core.list_node().items:
            if node.spec.provider_id.endswith(instance_id):
                return str(node.metadata.name)
        raise AssertionError(f"no node for {instance_id}")

    def enis_of(self, node: str) -> int:
        instance_id = self.core.read_node(node).spec.provider_id.rsplit("/", 1)[1]
        found = self.ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
        )["NetworkInterfaces"]
        return len(found)

    def pods_on(self, node: str) -> list[Any]:
        return list(
            self.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
        )


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    yield from sandbox(tmp_path_factory, "staging", Staging)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    """Dev's nodes hold two ENIs each, so their pools still have room to grow."""
    yield from sandbox(tmp_path_factory, "dev", Staging)


def test_full_subnet_leaves_pods_container_creating_until_addresses_free(dev: Staging) -> None:
    staging = dev
    name = "dev-private-a"
    subnet = staging.subnet(name)
    node = staging.node_in(subnet["SubnetId"])
    attached = staging.enis_of(node)
    assert attached < 4  # r5.xlarge takes 4 ENIs at most
    subnet = staging.subnet(name)
    node = staging.node_in(subnet["SubnetId"])
    others = [n.metadata.name for n in staging.core.list_node().items if n.metadata.name != node]
    for other in others:  # every new pod lands on this node
        staging.core.patch_node(other, {"spec": {"unschedulable": True}})
    filler = staging.ec2.create_network_interface(
        SubnetId=subnet["SubnetId"],
        SecondaryPrivateIpAddressCount=subnet["AvailableIpAddressCount"] - 1,
        Description="another team",
    )["NetworkInterface"]["NetworkInterfaceId"]
    assert staging.subnet(name)["AvailableIpAddressCount"] == 0

    allocatable = int(staging.core.read_node(node).status.allocatable["pods"])
    extra = allocatable - len(staging.pods_on(node))  # CPU requests may bind fewer
    replicas = staging.apps.read_namespaced_deployment("api", "api").spec.replicas
    staging.apps.patch_namespaced_deployment_scale(
        "api", "api", {"spec": {"replicas": replicas + extra}}
    )

    def stuck() -> list[Any]:
        return [
            p
            for p in staging.pods_on(node)
            if p.status.phase == "Pending"
            and p.status.container_statuses
            and p.status.container_statuses[0].state.waiting
            and p.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
        ]

    def stuck_beyond_the_pool() -> list[Any]:
        needing_ip = [p for p in staging.pods_on(node) if not p.spec.host_network]
        waiting = stuck()
        # r5.xlarge: 14 secondary IPs per ENI; every pod beyond them waits.
        return waiting if len(waiting) == len(needing_ip) - attached * 14 else []

    waiting = wait_for(stuck_beyond_the_pool, "pods in ContainerCreating")
    events = staging.core.list_namespaced_event(
        "api", field_selector=f"involvedObject.name={waiting[0].metadata.name}"
    ).items
    assert any(e.reason == "FailedCreatePodSandBox" and NO_IP in e.message for e in events)

    staging.ec2.delete_network_interface(NetworkInterfaceId=filler)
    wait_for(lambda: not stuck(), "pods to start once addresses are free")
    assert all(p.status.phase == "Running" for p in staging.pods_on(node))
    assert staging.enis_of(node) > attached
    staging.apps.patch_namespaced_deployment_scale("api", "api", {"spec": {"replicas": replicas}})
    for other in others:
        staging.core.patch_node(other, {"spec": {"unschedulable": False}})


def test_eviction_blocked_by_pdb_names_the_budget(staging: Staging) -> None:
    nodes = [n.metadata.name for n in staging.core.list_node().items]
    for node in nodes:  # replacements cannot start, as in a drain of a full cluster
        staging.core.patch_node(node, {"spec": {"unschedulable": True}})
    pods = staging.core.list_namespaced_pod("auth", label_selector="app=auth").items
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name="x", namespace="auth"))
    evicted, refused = 0, None
    for pod in pods:  # auth: 6 replicas, minAvailable 3
        body.metadata.name = pod.metadata.name
        try:
            staging.core.create_namespaced_pod_eviction(pod.metadata.name, "auth", body)
            evicted += 1
        except ApiException as err:
            refused = err
            break
    assert evicted == 3
    assert refused is not None and refused.status == 429
    assert "disruption budget auth" in json.loads(refused.body)["details"]["causes"][0]["message"]
    for node in nodes:
        staging.core.patch_node(node, {"spec": {"unschedulable": False}})
    wait_for(
        lambda: (
            sum(
                p.status.phase == "Running"
                for p in staging.core.list_namespaced_pod("auth", label_selector="app=auth").items
            )
            == 6
        ),
        "the ReplicaSet to replace evicted pods",
    )


def test_daemonset_rolls_within_max_unavailable(staging: Staging) -> None:
    ds = staging.apps.read_namespaced_daemon_set("kube-proxy", "kube-system")
    nodes = len(staging.core.list_node().items)
    image = ds.spec.template.spec.containers[0].image.rsplit(":", 1)[0] + ":v1.13.12"
    staging.apps.patch_namespaced_daemon_set(
        "kube-proxy",
        "kube-system",
        {
            "spec": {
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "template": {"spec": {"containers": [{"name": "kube-proxy", "image": image}]}},
            }
        },
    )
    worst = 0

    def rolled() -> bool:
        nonlocal worst
        live = staging.apps.read_namespaced_daemon_set_status("kube-proxy", "kube-system")
        status = live.status
        worst = max(worst, status.number_unavailable or 0)
        return bool(
            status.observed_generation == live.metadata.generation
            and status.updated_number_scheduled == nodes
            and status.number_available == nodes
        )

    wait_for(rolled, "kube-proxy to roll out")
    assert worst <= 1
    pods = staging.core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-proxy")
    assert {p.spec.containers[0].image for p in pods.items} == {image}


def test_control_plane_version_update_through_cloudformation(staging: Staging) -> None:
    before = staging.version.get_code()
    assert (before.major, before.minor.rstrip("+")) == ("1", "12")
    staging.cfn.update_stack(
        StackName="staging-eks",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": "KubernetesVersion", "ParameterValue": "1.13"},
            {"ParameterKey": "SubnetIds", "UsePreviousValue": True},
            {"ParameterKey": "SecurityGroupIds", "UsePreviousValue": True},
        ],
    )
    status = staging.cfn.describe_stacks(StackName="staging-eks")["Stacks"][0]["StackStatus"]
    assert status == "UPDATE_IN_PROGRESS"
    wait_for(
        lambda: (
            staging.cfn.describe_stacks(StackName="staging-eks")["Stacks"][0]["StackStatus"]
            == "UPDATE_COMPLETE"
        ),
        "the 40-minute virtual update",
    )
    assert staging.eks.describe_cluster(name="staging")["cluster"]["version"] == "1.13"
    assert staging.version.get_code().minor.rstrip("+") == "13"


@pytest.fixture(scope="module")
def stuck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    """Dev with one node whose ipamd datastore gets stuck after aws-node restarts (#59)."""
    scenario = (REPO / "twin" / "ekstwin" / "scenarios" / "dev.yaml").read_text()
    path = tmp_path_factory.mktemp("stuck") / "stuck.yaml"
    path.write_text(scenario + "faults: {stuck_ipamd_nodes: 2}\n")
    yield from sandbox(tmp_path_factory, str(path), Staging)


def test_stuck_ipamd_after_aws_node_restart_heals_on_the_next_restart(stuck: Staging) -> None:
    node = stuck.core.list_node().items[0].metadata.name
    for other in stuck.core.list_node().items[1:]:
        stuck.core.patch_node(other.metadata.name, {"spec": {"unschedulable": True}})

    def aws_node_pod() -> Any:
        pods = stuck.core.list_namespaced_pod(
            "kube-system", label_selector="k8s-app=aws-node", field_selector=f"spec.nodeName={node}"
        ).items
        running = [
            p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp
        ]
        return running[0] if running else None

    def restart_aws_node() -> None:
        old = aws_node_pod()
        stuck.core.delete_namespaced_pod(old.metadata.name, "kube-system")
        wait_for(lambda: (p := aws_node_pod()) and p.metadata.uid != old.metadata.uid, "aws-node")

    def waiting(namespace: str) -> list[Any]:
        return [
            p
            for p in stuck.core.list_namespaced_pod(namespace).items
            if p.status.container_statuses
            and p.status.container_statuses[0].state.waiting
            and p.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
        ]

    restart_aws_node()  # the upgrade's restart: the datastore is now stuck
    stuck.apps.patch_namespaced_deployment_scale("web", "web", {"spec": {"replicas": 3}})
    wait_for(lambda: len(waiting("web")) == 2, "new pods to hang in ContainerCreating")
    restart_aws_node()  # the #59 remediation
    wait_for(lambda: not waiting("web"), "pods to start after the second restart")
    pods = stuck.core.list_namespaced_pod("web").items
    assert [p.status.phase for p in pods] == ["Running"] * 3
