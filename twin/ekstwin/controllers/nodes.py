"""Node lifecycle bound to EC2 instances: a running instance of the cluster
registers as a Node after a virtual boot time (if its user data joins it, as its AMI
family needs: :mod:`ekstwin.controllers.node_join`), turns Ready once aws-node runs
on it, and its Node goes away when the instance stops running.

Each node's kubelet keeps its status as a real one does: the four node conditions
(``NetworkUnavailable`` is only set by cloud route controllers, which EKS with the VPC
CNI does not run), heartbeats in virtual time (``lastHeartbeatTime`` every
``nodeStatusUpdateFrequency``, 10 s, before the NodeLease feature; with it a Lease in
``kube-node-lease`` renewed every 10 s and the status re-posted every
``nodeStatusReportFrequency``: 1 min, 5 min from 1.17), ``lastTransitionTime`` only on
changes. The node lifecycle controller's part: the ``unschedulable`` taint follows cordon
(TaintNodesByCondition) and a NotReady node is tainted ``not-ready``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from ekstwin.aws import AwsTwin, InstanceView
from ekstwin.clock import VirtualClock
from ekstwin.controllers.conditions import find_condition
from ekstwin.controllers.ipamd import Ipamd, NodePool
from ekstwin.controllers.ipamd.config import ENICONFIG_KEY
from ekstwin.controllers.maxpods import kubelet_max_pods
from ekstwin.controllers.node_join import joins
from ekstwin.controllers.objects import iso
from ekstwin.kubeapi import NotFound, Store
from upgrader.catalog.instances import bundled as bundled_instances
from upgrader.catalog.timing import NODE_BOOT_SECONDS
from upgrader.catalog.versions import catalog

BOOT_SECONDS = NODE_BOOT_SECONDS
LEASES = "leases.coordination.k8s.io"
LEASE_NAMESPACE = "kube-node-lease"
STATUS_UPDATE_SECONDS = 10.0  # kubelet nodeStatusUpdateFrequency
LEASE_RENEW_SECONDS = 10.0  # a quarter of the lease's duration, as the kubelet renews
LEASE_DURATION_SECONDS = 40
NODE_LEASE_SINCE = (1, 14)  # NodeLease beta, on by default (GA 1.17)
# Heartbeats and lease renewals are store writes that wake every controller; at very high
# clock speeds (the runbooks script runs at 100000x) a 10-virtual-second renewal would be a
# write every 0.1 ms. They are spaced at least this much wall time apart instead.
MIN_WALL_SECONDS_BETWEEN_BEATS = 0.05
NOT_READY_NO_EXECUTE_SINCE = (1, 13)  # TaintBasedEvictions beta, on by default
UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"
NOT_READY_TAINT_KEY = "node.kubernetes.io/not-ready"
# Taints this controller owns; any others (kubectl taint, managed updates) are left alone.
_MANAGED_TAINTS = (UNSCHEDULABLE_TAINT_KEY, NOT_READY_TAINT_KEY)
_NOT_READY = (
    "runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:docker: network plugin is not ready: cni config uninitialized"
)
_SYSTEM_RESERVED_MIB = 1024


def status_report_seconds(minor: tuple[int, int]) -> float:
    """How often an unchanged node status is re-posted by a kubelet of ``minor``."""
    if minor < NODE_LEASE_SINCE:
        return STATUS_UPDATE_SECONDS
    return 60.0 if minor < (1, 17) else 300.0


AL2023 = "amazon-linux-2023"


def container_runtime(minor: tuple[int, int], family: str = "amazon-linux-2") -> str:
    """The container runtime of the EKS-optimised AMI of ``family`` for a minor."""
    if family == AL2023:
        return "containerd://1.7.27"
    if minor >= (1, 24):
        return "containerd://1.6.19"
    if minor >= (1, 21):
        return "docker://20.10.17"
    return "docker://19.3.6" if minor >= (1, 15) else "docker://18.6.1"


def kernel_version(minor: tuple[int, int], family: str = "amazon-linux-2") -> str:
    if family == AL2023:
        return "6.1.132-147.221.amzn2023.x86_64"
    if minor >= (1, 24):
        return "5.10.192-183.736.amzn2.x86_64"
    return "4.14.123-111.109.amzn2.x86_64"


def os_image(family: str) -> str:
    """``status.nodeInfo.osImage`` as the kubelet reads it from /etc/os-release."""
    return "Amazon Linux 2023.7.20250414" if family == AL2023 else "Amazon Linux 2"


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def _micro_time(ts: float) -> str:
    """A Lease's MicroTime: RFC 3339 with microseconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
        self._kubelet_minor: dict[str, tuple[int, int]] = {}
        self._next_status: dict[str, float] = {}  # node -> next heartbeat of its status
        self._next_lease: dict[str, float] = {}  # node -> next renewal of its Lease
        self._next_boot: float | None = None  # the next instance to finish booting

    def next_event(self) -> float | None:
        """The next boot to finish (a stepped clock's hint; the controller still runs every
        pass: instances change outside the store). Status reports and Lease renewals are
        left out: a few seconds late they change nothing, and 1,000 nodes' beats at their
        own instants would cost a pass each."""
        return self._next_boot

    def reconcile(self, now: float) -> bool:
        changed = False
        live: set[str] = set()
        boots: list[float] = []
        for inst in self._twin.instances(running=True):
            if not self._member(inst):
                continue
            live.add(inst.instance_id)
            if inst.instance_id in self.node_of_instance:
                continue
            if now - inst.launch_time < self._boot:
                boots.append(inst.launch_time + self._boot)
                continue
            if not self._joins(inst):
                continue
            self._register(inst)
            changed = True
        self._next_boot = min(boots, default=None)
        for instance_id, node in list(self.node_of_instance.items()):
            if instance_id not in live:
                del self.node_of_instance[instance_id]
                self.node_ip.pop(node, None)
                self._kubelet_minor.pop(node, None)
                self._next_status.pop(node, None)
                self._next_lease.pop(node, None)
                self._ipamd.remove_node(node)
                with contextlib.suppress(NotFound):
                    self._store.delete("nodes", node)
                with contextlib.suppress(NotFound):
                    self._store.delete(LEASES, node, namespace=LEASE_NAMESPACE)
                changed = True
        changed = self._update_status(now) or changed
        changed = self._renew_leases(now) or changed
        return self._update_taints(now) or changed

    def _member(self, inst: InstanceView) -> bool:
        tags = inst.tags
        return (
            tags.get(f"kubernetes.io/cluster/{self._cluster}") == "owned"
            or tags.get("eks:cluster-name") == self._cluster
        )

    def _joins(self, inst: InstanceView) -> bool:
        """Whether the instance's user data joins it, as its AMI needs (bootstrap.sh on
        AL2, a nodeadm NodeConfig on AL2023); EKS brings its own for managed groups."""
        if inst.tags.get("eks:nodegroup-name"):
            return True
        return joins(self._twin.ami_family_of(inst.image_id), inst.user_data, self._cluster)

    def _register(self, inst: InstanceView) -> None:
        itype = self._instances.get(inst.instance_type)
        minor = self._twin.kubernetes_minor_of_ami(inst.image_id) or self._store.kubernetes_version
        family = self._twin.ami_family_of(inst.image_id)
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
        # scenarios only use types whose vCPUs and memory the catalog knows (scenario.parse)
        assert itype.vcpus is not None and itype.memory_mib is not None, itype.name
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
            "spec": {
                "providerID": f"aws:///{inst.az}/{inst.instance_id}",
                "taints": self._not_ready_taints(self._clock.now()),
            },
            "status": {
                "capacity": dict(resources, memory=f"{itype.memory_mib}Mi"),
                "allocatable": resources,
                "addresses": [
                    {"type": "InternalIP", "address": inst.private_ip},
                    {"type": "Hostname", "address": name},
                    {"type": "InternalDNS", "address": name},
                ],
                "conditions": node_conditions(False, [], self._clock.now()),
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "kubeletVersion": kubelet_version(minor),
                    "kubeProxyVersion": kubelet_version(minor),
                    "containerRuntimeVersion": container_runtime(_minor(minor), family),
                    "kernelVersion": kernel_version(_minor(minor), family),
                    "osImage": os_image(family),
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "machineID": inst.instance_id,
                    "systemUUID": inst.instance_id,
                    "bootID": inst.instance_id,
                },
            },
        }
        self._store.create("nodes", node)
        now = self._clock.now()
        self._kubelet_minor[name] = _minor(minor)
        self._next_status[name] = now + self._every(status_report_seconds(_minor(minor)))
        self._next_lease[name] = now  # the kubelet creates its Lease at once
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

    def _update_status(self, now: float) -> bool:
        """Post each node's status when Ready changes or its heartbeat is due."""
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
            was = find_condition(conditions, "Ready") or {}
            due = now >= self._next_status.get(node, now)
            if (was.get("status") == "True") == ready and not due:
                continue
            self._store.patch(
                "nodes",
                node,
                {"status": {"conditions": node_conditions(ready, conditions, now)}},
                patch_type="strategic",
                subresource="status",
            )
            minor = self._kubelet_minor.get(node, NODE_LEASE_SINCE)
            self._next_status[node] = now + self._every(status_report_seconds(minor))
            changed = True
        return changed

    def _every(self, virtual_seconds: float) -> float:
        """A kubelet period in virtual seconds, floored at a few wall milliseconds."""
        return max(virtual_seconds, MIN_WALL_SECONDS_BETWEEN_BEATS * self._clock.speed)

    def _renew_leases(self, now: float) -> bool:
        """Each NodeLease kubelet renews its Lease in ``kube-node-lease``."""
        changed = False
        for node in self.node_of_instance.values():
            minor = self._kubelet_minor.get(node, (0, 0))
            due = self._next_lease.get(node)
            if minor < NODE_LEASE_SINCE or self._store.minor < NODE_LEASE_SINCE:
                continue
            if due is None or now < due:
                continue
            self._next_lease[node] = now + self._every(LEASE_RENEW_SECONDS)
            owner = self._store.find("nodes", node)
            if owner is None:
                continue
            lease = self._store.find(LEASES, node, namespace=LEASE_NAMESPACE)
            if lease is None:
                self._store.create(LEASES, self._lease(owner, now), namespace=LEASE_NAMESPACE)
            else:
                self._store.patch(
                    LEASES,
                    node,
                    {"spec": {"renewTime": _micro_time(now)}},
                    namespace=LEASE_NAMESPACE,
                )
            changed = True
        return changed

    def _lease(self, node: dict[str, Any], now: float) -> dict[str, Any]:
        name = node["metadata"]["name"]
        owner = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE, "ownerReferences": [owner]},
            "spec": {
                "holderIdentity": name,
                "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                "renewTime": _micro_time(now),
            },
        }

    def _not_ready_taints(self, now: float) -> list[dict[str, Any]]:
        """What the node lifecycle controller puts on a node whose kubelet says NotReady."""
        taints: list[dict[str, Any]] = [{"key": NOT_READY_TAINT_KEY, "effect": "NoSchedule"}]
        if self._store.minor >= NOT_READY_NO_EXECUTE_SINCE:
            taints.append(
                {"key": NOT_READY_TAINT_KEY, "effect": "NoExecute", "timeAdded": iso(now)}
            )
        return taints

    def _update_taints(self, now: float) -> bool:
        """The node lifecycle controller: ``unschedulable`` follows cordon, ``not-ready``
        follows the Ready condition; other taints are kept as they are."""
        changed = False
        for node in self.node_of_instance.values():
            current = self._store.find("nodes", node)
            if current is None:
                continue
            spec = current.get("spec", {})
            taints: list[dict[str, Any]] = list(spec.get("taints") or [])
            conditions = current.get("status", {}).get("conditions", [])
            ready = (find_condition(conditions, "Ready") or {}).get("status") == "True"
            want = [t for t in taints if t.get("key") not in _MANAGED_TAINTS]
            if spec.get("unschedulable"):
                kept = [t for t in taints if t.get("key") == UNSCHEDULABLE_TAINT_KEY]
                want.append(
                    kept[0] if kept else {"key": UNSCHEDULABLE_TAINT_KEY, "effect": "NoSchedule"}
                )
            if not ready:
                for new in self._not_ready_taints(now):
                    old = [t for t in taints if _same_taint(t, new)]
                    want.append(old[0] if old else new)
            if want == taints:
                continue
            self._store.patch("nodes", node, {"spec": {"taints": want or None}})
            changed = True
        return changed


def _same_taint(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("key") == b.get("key") and a.get("effect") == b.get("effect")


_CONDITIONS = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


def node_conditions(ready: bool, old: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """The kubelet's node conditions at ``now``: every heartbeat moves; a transition time
    only where the status changed since ``old``."""
    stamp = iso(now)
    conditions = [
        {"type": kind, "status": "False", "reason": reason, "message": message}
        for kind, reason, message in _CONDITIONS
    ]
    conditions.append(
        {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status" if ready else _NOT_READY,
        }
    )
    for c in conditions:
        was = find_condition(old, c["type"])
        same = was is not None and was.get("status") == c["status"]
        c["lastHeartbeatTime"] = stamp
        c["lastTransitionTime"] = was.get("lastTransitionTime", stamp) if was and same else stamp
    return conditions
