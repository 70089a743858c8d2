"""``diagnose`` over a discovered state and ipamd's views: each finding from its cause."""

from __future__ import annotations

import json
from dataclasses import replace

from tests.unit import cluster_states
from upgrader.diagnosis import Severity, diagnose
from upgrader.diagnosis.render import markdown, text
from upgrader.model.aws import Eni
from upgrader.model.ipamd import IpamdView
from upgrader.model.kube import Pod
from upgrader.model.state import ClusterState

IP_EVENT = "Failed to create pod sandbox: add cmd: failed to assign an IP address to container"


def _views(state: ClusterState, *, free: int = 0) -> dict[str, IpamdView]:
    """Each node's ipamd holding exactly the addresses EC2 shows; ``free`` unassigned."""
    views = {}
    for node in state.nodes:
        enis = [e for e in state.enis if e.instance_id == node.instance_id]
        total = sum(e.addresses - 1 for e in enis)
        pools = {
            e.eni_id: {
                "IsPrimary": i == 0,
                "DeviceNumber": i,
                "IPv4Addresses": {
                    f"10.9.{i}.{k}": {"Assigned": k >= free or i > 0}
                    for k in range(e.addresses - 1)
                },
            }
            for i, e in enumerate(enis)
        }
        doc = {"TotalIPs": total, "AssignedIPs": total - free, "ENIIPPools": pools}
        aws_node = next(p.name for p in state.pods_on(node.name) if p.name.startswith("aws-node"))
        views[node.name] = IpamdView(
            node=node.name, aws_node_pod=aws_node, enis=json.dumps(doc), metrics=(("eni_max", 4),)
        )
    return views


def _waiting(state: ClusterState, count: int) -> ClusterState:
    node = state.nodes[0].name
    pods = tuple(
        Pod(
            namespace="app",
            name=f"web-new-{k}",
            node=node,
            phase="Pending",
            host_network=False,
            ip=None,
            owner_kind="ReplicaSet",
            owner_name="web-new",
            cpu_m=100,
            memory=0,
            waiting_reason="ContainerCreating",
            last_event=IP_EVENT,
        )
        for k in range(count)
    )
    return replace(state, pods=state.pods + pods)


def _codes(state: ClusterState, views: dict[str, IpamdView]) -> set[str]:
    return {f.code for f in diagnose(state, views).findings if f.severity is Severity.PROBLEM}


def test_staging_as_discovered_is_healthy() -> None:
    state = cluster_states.staging()
    result = diagnose(state, _views(state))
    assert result.healthy, [f.message for f in result.findings]
    assert result.cni == "v1.3.2" and len(result.nodes) == 2
    node = result.nodes[0]
    assert node.pod_ip_capacity == 56 and node.ipv4_per_eni == 15
    assert node.pool is not None and node.pool.total == sum(a - 1 for _, a in node.ec2_enis)
    assert all(s.free > s.next_need for s in result.subnets)


def test_pods_waiting_beside_free_addresses_is_the_59_pattern() -> None:
    state = _waiting(cluster_states.staging(), 3)
    result = diagnose(state, _views(state, free=4))
    (stuck,) = [f for f in result.findings if f.code == "IPAMD004"]
    node = state.nodes[0].name
    assert stuck.objects.nodes == (node,)
    assert "app/web-new-0" in stuck.objects.pods
    assert any(r.startswith("kubectl -n kube-system delete pod aws-node-") for r in stuck.remedy)
    assert not result.healthy


def _small_pods() -> ClusterState:
    """Staging with 10 pods per node: two ENIs attached, room for two more."""
    (group,) = cluster_states.STAGING_SPEC.groups
    return cluster_states.staging(groups=(replace(group, pods_per_node=10),))


def test_a_subnet_short_of_the_next_eni_names_subnet_node_and_pods() -> None:
    state = _waiting(_small_pods(), 3)
    node = state.nodes[0]
    instance = next(i for i in state.instances if i.instance_id == node.instance_id)
    subnets = tuple(
        replace(s, available_ips=6) if s.subnet_id == instance.subnet_id else s
        for s in state.subnets
    )
    leaked = Eni(
        eni_id="eni-0leaked",
        subnet_id=instance.subnet_id,
        status="available",
        description="aws-K8S-i-0gone",
        instance_id=None,
        addresses=15,
    )
    state = replace(state, subnets=subnets, enis=(*state.enis, leaked))
    result = diagnose(state, _views(state))
    (short,) = [f for f in result.findings if f.code == "IPAMD001"]
    assert instance.subnet_id in short.subject and short.objects.nodes == (node.name,)
    assert {f"app/web-new-{k}" for k in range(3)} <= set(short.objects.pods)
    assert short.objects.enis == ("eni-0leaked",)
    assert "6 free" in short.message and "takes 15" in short.message
    (leak,) = [f for f in result.findings if f.code == "IPAMD005"]
    assert leak.objects.enis == ("eni-0leaked",)
    assert _codes(state, _views(state)) == {"IPAMD001", "IPAMD005"}


def test_more_pods_than_the_type_gives_addresses_is_the_node_limit() -> None:
    state = _waiting(cluster_states.staging(), 40)
    assert "IPAMD002" in _codes(state, _views(state))


def test_aws_node_not_running_is_a_problem() -> None:
    state = cluster_states.staging()
    pods = tuple(
        replace(p, phase="Pending", waiting_reason="CrashLoopBackOff")
        if p.name.startswith("aws-node")
        else p
        for p in state.pods
    )
    state = replace(state, pods=pods)
    (finding,) = [f for f in diagnose(state, _views(state)).findings if f.code == "IPAMD008"]
    assert len(finding.objects.pods) == 2


def test_an_unreadable_ipamd_is_a_note_with_the_commands_to_run() -> None:
    state = cluster_states.staging()
    views = {
        n.name: IpamdView(node=n.name, aws_node_pod=None, problems=("HTTP 503",))
        for n in state.nodes
    }
    result = diagnose(state, views)
    assert result.healthy
    notes = [f for f in result.findings if f.code == "IPAMD010"]
    assert len(notes) == 2 and any("ip rule list" in r for r in notes[0].remedy)


def test_renderings_name_every_finding_and_node() -> None:
    state = _waiting(cluster_states.staging(), 3)
    result = diagnose(state, _views(state, free=4), only_node=state.nodes[0].name)
    assert len(result.nodes) == 1
    for rendered in (text(result), markdown(result)):
        assert "IPAMD004" in rendered and state.nodes[0].name in rendered
    assert "```sh" in markdown(result) and "ip route show table" in markdown(result)
    doc = json.loads(json.dumps(result.to_json()))
    assert doc["healthy"] is False and doc["findings"][0]["code"] == "IPAMD004"


def test_a_node_type_the_running_ipamd_does_not_know_names_the_release_that_does() -> None:
    state = cluster_states.staging()
    nodes = (replace(state.nodes[0], instance_type="g4dn.xlarge"), *state.nodes[1:])
    state = replace(state, nodes=nodes)
    (unknown,) = [f for f in diagnose(state, _views(state)).findings if f.code == "IPAMD003"]
    assert unknown.objects.nodes == (nodes[0].name,)
    assert "v1.3.2 does not know g4dn.xlarge" in unknown.message
    assert "v1.5.4 is the first release that knows it" in unknown.message
    assert "v1.5.5" in unknown.remedy[0]
