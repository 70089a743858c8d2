"""Node lifecycle bound to EC2 instances: a running instance of the cluster
registers as a Node after a virtual boot time, turns Ready once aws-node runs
on it, and its Node goes away when the instance stops running.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ekstwin.aws import AwsTwin, InstanceView
from ekstwin.clock import VirtualClock
from ekstwin.controllers.ipamd import Ipamd, NodePool
from ekstwin.controllers.ipamd.config import ENICONFIG_KEY
from ekstwin.controllers.maxpods import kubelet_max_pods
from ekstwin.kubeapi import NotFound, Store
from upgrader.catalog.instances import bundled as bundled_instances
from upgrader.catalog.versions import catalog

BOOT_SECONDS = 60.0
_NOT_READY = (
    "runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:docker: network plugin is not ready: cni config uninitialized"
)
_SYSTEM_RESERVED_MIB = 1024


def kubelet_version(minor: str) -> str:
    """The gitVersion an EKS-optimised AMI's kubelet reports for a Kubernetes minor."""
    tag = catalog().kubernetes(minor).kube_proxy
    return f"{tag}-eks" if tag.startswith(f"v{minor}.") else f"v{minor}.0-eks"


class NodeLifecycle:
    """Registers, readies and removes Nodes after the twin's instances."""

    name = "node-lifecycle"

    def __init__(
        self,
        store: Store,
        twin: AwsTwin,
        clock: VirtualClock,
        ipamd: Ipamd,
        *,
        cluster: str,
        eniconfig_by_az: bool = False,
        stuck_instances: frozenset[str] = frozenset(),
        boot_seconds: float = BOOT_SECONDS,
    ) -> None:
        self._store = store
        self._twin = twin
        self._clock = clock
        self._ipamd = ipamd
        self._cluster = cluster
        self._eniconfig_by_az = eniconfig_by_az
        self._stuck = stuck_instances
        self._boot = boot_seconds
        self._instances = bundled_instances()
        self.node_of_instance: dict[str, str] = {}
        self.node_ip: dict[str, str] = {}

    def reconcile(self, now: float) -> bool:
        changed = False
        live: set[str] = set()
        for inst in self._twin.instances():
            if not self._member(inst):
                continue
            if inst.state != "running":
                continue
            live.add(inst.instance_id)
            if inst.instance_id in self.node_of_instance:
                continue
            if now - inst.launch_time < self._boot:
                continue
            self._register(inst)
            changed = True
        for instance_id, node in list(self.node_of_instance.items()):
            if instance_id not in live:
                del self.node_of_instance[instance_id]
                self.node_ip.pop(node, None)
                self._ipamd.remove_node(node)
                with contextlib.suppress(NotFound):
                    self._store.delete("nodes", node)
                changed = True
        return self._update_ready() or changed

    def _member(self, inst: InstanceView) -> bool:
        tags = inst.tags
        return (
            tags.get(f"kubernetes.io/cluster/{self._cluster}") == "owned"
            or tags.get("eks:cluster-name") == self._cluster
        )

    def _register(self, inst: InstanceView) -> None:
        itype = self._instances.get(inst.instance_type)
        minor = self._twin.kubernetes_minor_of_ami(inst.image_id) or self._store.kubernetes_version
        name = inst.private_dns_name
        region = inst.az[:-1]
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux",
            "kubernetes.io/hostname": name,
            "beta.kubernetes.io/instance-type": inst.instance_type,
            "node.kubernetes.io/instance-type": inst.instance_type,
            "failure-domain.beta.kubernetes.io/region": region,
            "failure-domain.beta.kubernetes.io/zone": inst.az,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": inst.az,
        }
        nodegroup = inst.tags.get("eks:nodegroup-name")
        if nodegroup:
            labels["eks.amazonaws.com/nodegroup"] = nodegroup
        pods = kubelet_max_pods(itype)
        resources = {
            "cpu": str(itype.vcpus),
            "memory": f"{itype.memory_mib - _SYSTEM_RESERVED_MIB}Mi",
            "pods": str(pods),
            "ephemeral-storage": "18242267924",
        }
        node: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels, **self._annotations(inst.az)},
            "spec": {"providerID": f"aws:///{inst.az}/{inst.instance_id}"},
            "status": {
                "capacity": dict(resources, memory=f"{itype.memory_mib}Mi"),
                "allocatable": resources,
                "addresses": [
                    {"type": "InternalIP", "address": inst.private_ip},
                    {"type": "Hostname", "address": name},
                    {"type": "InternalDNS", "address": name},
                ],
                "conditions": [self._ready_condition(False)],
                "nodeInfo": {
                    "kubeletVersion": kubelet_version(minor),
                    "kubeProxyVersion": kubelet_version(minor),
                    "containerRuntimeVersion": "docker://18.6.1",
                    "kernelVersion": "4.14.123-111.109.amzn2.x86_64",
                    "osImage": "Amazon Linux 2",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "machineID": inst.instance_id,
                    "systemUUID": inst.instance_id,
                    "bootID": inst.instance_id,
                },
            },
        }
        self._store.create("nodes", node)
        self.node_of_instance[inst.instance_id] = name
        self.node_ip[name] = inst.private_ip
        self._ipamd.add_node(
            name,
            NodePool(
                instance_id=inst.instance_id,
                instance_type=inst.instance_type,
                subnet_id=inst.subnet_id,
                az=inst.az,
                max_pods=pods,
                stuck_on_restart=inst.instance_id in self._stuck,
            ),
        )

    def _annotations(self, az: str) -> dict[str, dict[str, str]]:
        """One ENIConfig per AZ, chosen by the node annotation every CNI release reads (R§2.5)."""
        return {"annotations": {ENICONFIG_KEY: az}} if self._eniconfig_by_az else {}

    def _ready_condition(self, ready: bool) -> dict[str, str]:
        at = self._clock.iso()
        return {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status" if ready else _NOT_READY,
            "lastHeartbeatTime": at,
            "lastTransitionTime": at,
        }

    def _update_ready(self) -> bool:
        changed = False
        cni_expected = bool(
            self._store.list(
                "daemonsets.apps", namespace="kube-system", field_selector="metadata.name=aws-node"
            )
        )
        for node in self.node_of_instance.values():
            pool = self._ipamd.pools.get(node)
            ready = pool is not None and (pool.cni_ready or not cni_expected)
            current = self._store.find("nodes", node)
            if current is None:
                continue
            conditions = current.get("status", {}).get("conditions", [])
            was: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
            if (was.get("status") == "True") == ready:
                continue
            self._store.patch(
                "nodes",
                node,
                {"status": {"conditions": [self._ready_condition(ready)]}},
                patch_type="strategic",
                subresource="status",
            )
            changed = True
        return changed
