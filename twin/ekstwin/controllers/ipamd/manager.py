"""Every node's ipamd behind one object the kubelet and node lifecycle drive; every method
is called with the twin's lock held (the sandbox's lock order: twin, then store)."""

from __future__ import annotations

from ekstwin.aws import AwsTwin
from ekstwin.clock import VirtualClock
from ekstwin.controllers.ipamd.awsutils import Ec2
from ekstwin.controllers.ipamd.config import IpamdConfig
from ekstwin.controllers.ipamd.counters import IpamdCounters
from ekstwin.controllers.ipamd.node import NodePool
from ekstwin.controllers.ipamd.pool import run_pass
from ekstwin.controllers.ipamd.release import POOL_PASS_SECONDS

NO_IP_MESSAGE = "failed to assign an IP address to container"
NO_IP_LOG = "DataStore has no available IP addresses"  # ipamd's log line (AssignPodIPv4Address)


class Ipamd:
    """All nodes' pools, each with its own release's rules."""

    def __init__(self, twin: AwsTwin, clock: VirtualClock) -> None:
        self._twin = twin
        self._clock = clock
        self.pools: dict[str, NodePool] = {}

    def add_node(self, node: str, pool: NodePool) -> None:
        self.pools[node] = pool

    def remove_node(self, node: str) -> None:
        self.pools.pop(node, None)

    def _ec2(self, pool: NodePool) -> Ec2:
        return Ec2(self._twin, pool.instance_id, pool.counters)

    def assign(self, node: str, pod_uid: str) -> str | None:
        """An IP for a pod, or None (the CNI's "failed to assign an IP address")."""
        pool = self.pools.get(node)
        if pool is None or not pool.running:
            return None
        if pod_uid in pool.datastore.assigned:
            return pool.datastore.assigned[pod_uid]
        pool.counters.add_ip += 1
        now = self._clock.now()
        ip = None if pool.stuck else pool.datastore.assign(pod_uid, now)
        if ip is None:
            pool.counters.no_available_ip += 1
            pool.say(now, NO_IP_LOG)
        return ip

    def release(self, node: str, pod_uid: str) -> None:
        """The pod's sandbox is gone: its IP cools down for 30 s (R§2.1)."""
        pool = self.pools.get(node)
        if pool is not None and pod_uid in pool.datastore.assigned:
            pool.counters.del_ip["PodDeleted"] += 1
            pool.datastore.unassign(pod_uid, self._clock.now())

    def cni_started(self, node: str, pod_uid: str, config: IpamdConfig) -> None:
        """aws-node pod ``pod_uid`` runs on ``node``: its ipamd goes through nodeInit."""
        pool = self.pools.get(node)
        if pool is None or pool.cni_pod == pod_uid:
            return
        if pool.cni_pod is not None:
            pool.restarts += 1
            # #59: after the upgrade restart the datastore is stuck; the next restart heals it.
            pool.stuck = pool.stuck_on_restart and pool.restarts == 1
        pool.cni_pod = pod_uid
        pool.counters = IpamdCounters(started_at=self._clock.now())  # a new ipamd process
        start(pool, self._ec2(pool), config, self._clock.now())

    def cni_stopped(self, node: str, pod_uid: str) -> None:
        """aws-node pod ``pod_uid`` stopped: no new pod gets an IP until one runs again."""
        pool = self.pools.get(node)
        if pool is not None and pool.cni_pod == pod_uid:
            pool.config = None

    def due(self, node: str, now: float) -> bool:
        """The node's pool manager has a pass due."""
        pool = self.pools.get(node)
        return pool is not None and pool.running and now >= pool.next_pass

    def reconcile(self, node: str) -> bool:
        """Run the node's pool manager if a pass is due; True when it changed something."""
        now = self._clock.now()
        if not self.due(node, now):
            return False
        pool = self.pools[node]
        pool.next_pass = now + POOL_PASS_SECONDS
        return run_pass(pool, self._ec2(pool), now)


def start(pool: NodePool, ec2: Ec2, config: IpamdConfig, now: float) -> None:
    """nodeInit: limits (compiled table, then EC2 from v1.6), prefix-delegation check,
    datastore rebuilt from EC2, first pass at once from v1.6.0 (#648) or after 5 s."""
    r = config.release
    pool.config, pool.init_error, pool.attach_refused_at = config, None, 0
    pool.limits = pool.resolve_limits(ec2.describe_type, now)
    if pool.limits is None:
        unknown = f"{r.unknown_type_error}: {pool.instance_type}"
        if r.init_fails_on_unknown_type:
            pool.init_error = f"Initialization failure: {unknown}"
            pool.error(now, "Failed to get ENI limit")
            pool.error(now, pool.init_error, "UnknownInstanceType")
        else:
            pool.error(
                now,
                f"Failed to get eni limit due to unknown instance type {pool.instance_type}",
                "UnknownInstanceType",
            )
    pool.pd = config.prefix_delegation and pool.limits is not None
    if pool.pd and pool.limits is not None and pool.limits.nitro is False:
        pool.pd = False
        pool.say(
            now,
            f"Prefix delegation is not supported on non-nitro instance {pool.instance_type} "
            "hence falling back to default (secondary IP) mode",
        )
    pool.rebuild(ec2.attached(), now)
    if pool.init_error is None or r.copies_cni_config_before_init:
        pool.cni_config_written = True
    pool.last_action = now
    pool.next_pass = now if r.prescale_at_init else now + POOL_PASS_SECONDS
