"""ipamd simulation: each node's warm pool of ENIs and secondary IPs, really
allocated in the EC2 twin under its aws-node release's rules.

The pool converges on what :func:`upgrader.capacity.node.node_addresses`
predicts for the node's pods, so a subnet's AvailableIpAddressCount in the twin
is what the capacity engine says it should be. Growing is immediate; shrinking
waits for the 30 s IP cooldown, and releases single IPs only on releases that
do (v1.5+), otherwise whole idle ENIs. Prefix delegation and custom networking
are not simulated (their pods take addresses from the node subnet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ekstwin.aws import AwsError, AwsTwin, EniView
from ekstwin.clock import VirtualClock
from upgrader.capacity.node import max_pods, node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import InstanceType

IP_COOLDOWN_SECONDS = 30.0
RETRY_SECONDS = 10.0
NO_IP_MESSAGE = "failed to assign an IP address to container"


@dataclass
class NodePool:
    """ipamd's datastore for one node (the ENIs themselves live in the twin)."""

    instance_id: str
    instance_type: InstanceType
    subnet_id: str
    settings: CniSettings | None = None  # None while aws-node is not running on the node
    assigned: dict[str, str] = field(default_factory=dict)  # pod uid -> IP
    cooldown: dict[str, float] = field(default_factory=dict)  # IP -> virtual time it was freed
    demand: int = 0
    cni_pod: str | None = None  # uid of the aws-node pod serving this node
    restarts: int = 0
    stuck_on_restart: bool = False  # fault: the first aws-node restart leaves the datastore stuck
    stuck: bool = False  # aws/amazon-vpc-cni-k8s#59: no IPs handed out until aws-node restarts
    retry_at: float = 0.0
    last_error: str | None = None


class Ipamd:
    """All nodes' pools; every method is called with the twin's lock held."""

    def __init__(self, twin: AwsTwin, clock: VirtualClock) -> None:
        self._twin = twin
        self._clock = clock
        self.pools: dict[str, NodePool] = {}

    def add_node(self, node: str, pool: NodePool) -> None:
        self.pools[node] = pool

    def remove_node(self, node: str) -> None:
        self.pools.pop(node, None)

    def assign(self, node: str, pod_uid: str) -> str | None:
        """An IP for a pod, or None (the CNI's "failed to assign an IP address")."""
        pool = self.pools.get(node)
        if pool is None or pool.settings is None:
            return None
        if pod_uid in pool.assigned:
            return pool.assigned[pod_uid]
        if pool.stuck:
            return None
        now = self._clock.now()
        taken = set(pool.assigned.values())
        for eni in self._enis(pool):
            for ip in eni.secondary_ips:
                if ip in taken or now - pool.cooldown.get(ip, -1e18) < IP_COOLDOWN_SECONDS:
                    continue
                pool.assigned[pod_uid] = ip
                pool.cooldown.pop(ip, None)
                return ip
        return None

    def cni_started(self, node: str, pod_uid: str, settings: CniSettings) -> None:
        """aws-node pod ``pod_uid`` is running on ``node``: ipamd (re)starts with its settings."""
        pool = self.pools.get(node)
        if pool is None or pool.cni_pod == pod_uid:
            return
        if pool.cni_pod is not None:
            pool.restarts += 1
            # #59: after the upgrade restart the datastore is stuck; the next restart heals it.
            pool.stuck = pool.stuck_on_restart and pool.restarts == 1
        pool.cni_pod = pod_uid
        pool.settings = settings
        pool.retry_at = 0.0

    def cni_stopped(self, node: str, pod_uid: str) -> None:
        """aws-node pod ``pod_uid`` stopped: no new pod gets an IP until one runs again."""
        pool = self.pools.get(node)
        if pool is not None and pool.cni_pod == pod_uid:
            pool.settings = None

    def release(self, node: str, pod_uid: str) -> None:
        pool = self.pools.get(node)
        if pool is None:
            return
        ip = pool.assigned.pop(pod_uid, None)
        if ip is not None:
            pool.cooldown[ip] = self._clock.now()

    def reconcile(self, node: str) -> bool:
        """Grow or shrink the node's pool towards its target; True when it changed."""
        pool = self.pools.get(node)
        if pool is None or pool.settings is None:
            return False
        now = self._clock.now()
        if now < pool.retry_at:
            return False
        try:
            changed = self._grow(pool) or self._shrink(pool, now)
        except AwsError as err:
            pool.last_error = f"{err.code}: {err.message}"
            pool.retry_at = now + RETRY_SECONDS
            return False
        pool.last_error = None
        return changed

    def _enis(self, pool: NodePool) -> list[EniView]:
        return sorted(self._twin.enis_of(pool.instance_id), key=lambda e: e.device_index)

    def _target(self, pool: NodePool) -> tuple[int, int]:
        assert pool.settings is not None
        na = node_addresses(pool.instance_type, pool.settings, pool.demand)
        return na.enis_attached, na.pool_ips

    def _grow(self, pool: NodePool) -> bool:
        assert pool.settings is not None
        target_enis, target_ips = self._target(pool)
        slots = pool.instance_type.secondary_ips_per_eni
        limit = max(1, max_pods(pool.instance_type, pool.settings).pod_enis)
        enis = self._enis(pool)
        changed = False
        have = sum(len(e.secondary_ips) for e in enis)
        for eni in enis:
            room = slots - len(eni.secondary_ips)
            want = min(room, target_ips - have)
            if want > 0:
                self._twin.assign_ips(eni.eni_id, want)
                have += want
                changed = True
        while (len(enis) < target_enis or have < target_ips) and len(enis) < limit:
            eni_id = self._twin.create_eni(pool.subnet_id, f"aws-K8S-{pool.instance_id}")
            index = max(e.device_index for e in enis) + 1 if enis else 0
            self._twin.attach_eni(eni_id, pool.instance_id, index)
            want = min(slots, max(target_ips - have, 0))
            if want:
                self._twin.assign_ips(eni_id, want)
                have += want
            enis = self._enis(pool)
            changed = True
        return changed

    def _shrink(self, pool: NodePool, now: float) -> bool:
        assert pool.settings is not None
        target_enis, target_ips = self._target(pool)
        taken = set(pool.assigned.values())
        cooling = {ip for ip, t in pool.cooldown.items() if now - t < IP_COOLDOWN_SECONDS}
        for ip in [ip for ip in pool.cooldown if ip not in cooling]:
            del pool.cooldown[ip]
        enis = self._enis(pool)
        have = sum(len(e.secondary_ips) for e in enis)
        changed = False
        # Newest ENIs first: ipamd frees whole idle ENIs beyond the target ...
        for eni in reversed(enis[1:]):
            busy = any(ip in taken or ip in cooling for ip in eni.secondary_ips)
            if len(enis) > target_enis and not busy and have - len(eni.secondary_ips) >= target_ips:
                self._twin.detach_eni(eni.eni_id)
                self._twin.delete_eni(eni.eni_id)
                enis = [e for e in enis if e.eni_id != eni.eni_id]
                have -= len(eni.secondary_ips)
                changed = True
        # ... and, from v1.5, single surplus IPs (WARM_IP_TARGET / MINIMUM_IP_TARGET).
        if pool.settings.behaviour.warm_ip_release and pool.settings.ip_target_mode:
            for eni in reversed(enis):
                spare = [ip for ip in eni.secondary_ips if ip not in taken and ip not in cooling]
                surplus = min(len(spare), have - target_ips)
                if surplus > 0:
                    self._twin.unassign_ips(eni.eni_id, spare[-surplus:])
                    have -= surplus
                    changed = True
        return changed
