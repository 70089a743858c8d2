"""One node's ipamd: its settings, limits, datastore, timers and log.

Started by :meth:`NodePool.start` whenever an aws-node pod starts on the node (nodeInit):
the datastore is rebuilt from the ENIs EC2 shows, pods keep their addresses (recovered
from the runtime), cooldowns are forgotten (they live in memory).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ekstwin.controllers.ipamd.awsutils import Attached
from ekstwin.controllers.ipamd.config import IpamdConfig
from ekstwin.controllers.ipamd.counters import IpamdCounters
from ekstwin.controllers.ipamd.datastore import NEVER, Datastore, EniEntry
from ekstwin.controllers.ipamd.limits import Limits, compiled
from ekstwin.controllers.ipamd.release import Release

LOG_LINES = 200
# DescribeInstanceTypes: (MaximumNetworkInterfaces, IPv4 per ENI, Nitro) or None
DescribeTypeFn = Callable[[str], tuple[int, int, bool] | None]


@dataclass(slots=True)
class NodePool:
    """ipamd on one node; the ENIs and addresses themselves live in the EC2 twin.

    ``max_pods`` is the node's ``capacity.pods`` (v1.17.1+ caps the pool at it);
    ``eniconfig_subnet`` is the subnet of the node's ENIConfig (custom networking).
    """

    instance_id: str
    instance_type: str
    subnet_id: str
    az: str = ""
    max_pods: int = 110
    stuck_on_restart: bool = False  # fault: the first aws-node restart leaves the datastore stuck
    config: IpamdConfig | None = None  # None while no aws-node pod runs on the node
    cni_pod: str | None = None
    restarts: int = 0
    stuck: bool = False  # aws/amazon-vpc-cni-k8s#59: no IPs handed out until aws-node restarts
    cni_config_written: bool = False  # /etc/cni/net.d/10-aws.conflist is on the node
    eniconfig_name: str = "default"
    eniconfig_subnet: str | None = None
    datastore: Datastore = field(default_factory=Datastore)
    limits: Limits | None = None
    pd: bool = False
    init_error: str | None = None
    attach_refused_at: int = 0  # v1.3/v1.4: ENI count when EC2 refused an attachment
    next_pass: float = NEVER
    last_action: float = NEVER  # lastNodeIPPoolAction: the 60 s reconcile waits for quiet
    last_decrease: float = NEVER
    last_insufficient: float = NEVER
    last_error: str | None = None
    log: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    events: list[tuple[str, str]] = field(default_factory=list)  # (reason, message) to record
    counters: IpamdCounters = field(default_factory=IpamdCounters)

    @property
    def release(self) -> Release:
        assert self.config is not None
        return self.config.release

    @property
    def running(self) -> bool:
        """aws-node runs and its ipamd got through nodeInit."""
        return self.config is not None and self.init_error is None

    @property
    def cni_ready(self) -> bool:
        """The kubelet sees a CNI config: NetworkReady (the node can turn Ready)."""
        return self.config is not None and self.cni_config_written

    @property
    def slots(self) -> int:
        """Secondary IPs or prefixes per ENI (GetENIipLimit)."""
        return self.limits.slots if self.limits is not None else 0

    @property
    def unit(self) -> int:
        """Addresses one slot gives: 16 for a prefix, 1 for a secondary IP."""
        return 16 if self.pd else 1

    @property
    def max_enis(self) -> int:
        """getMaxENI: the type's limit, lowered by MAX_ENI (v1.4+)."""
        if self.limits is None:
            return 0
        assert self.config is not None
        limit = self.limits.enis
        return min(limit, self.config.max_eni) if self.config.max_eni else limit

    def say(self, now: float, line: str) -> None:
        """One ipamd log line (the twin's stand-in for /var/log/aws-routed-eni/ipamd.log)."""
        self.log.append((now, line))

    def error(self, now: float, line: str, reason: str = "", fn: str = "") -> None:
        """An error ipamd logs (and counts in ipamd_error_count under ``fn``, if given)."""
        self.last_error = line
        self.say(now, line)
        if fn:
            self.counters.ipamd_errors[(fn, line)] += 1
        if reason:
            self.events.append((reason, line))

    def resolve_limits(self, describe: DescribeTypeFn, now: float) -> Limits | None:
        """GetENILimit/GetENIipLimit: the compiled table, then EC2 from v1.6.0."""
        assert self.config is not None
        found = compiled(self.config.version, self.instance_type)
        if found is not None or not self.release.ec2_fallback:
            return found
        api = describe(self.instance_type)
        if api is None:
            return None
        enis, ipv4, nitro = api
        self.say(now, f"instance type {self.instance_type} not compiled in: DescribeInstanceTypes")
        return Limits(enis=enis, ipv4_per_eni=ipv4, nitro=nitro, source="DescribeInstanceTypes")

    def rebuild(self, attached: list[Attached], now: float) -> None:
        """nodeInit: the datastore from the ENIs attached now; pods keep their addresses."""
        assert self.config is not None
        old = self.datastore
        ds = Datastore(pd=self.pd, cooldown=float(self.config.ip_cooldown))
        for a in attached:
            ds.enis[a.eni_id] = EniEntry(
                eni_id=a.eni_id,
                device_index=a.device_index,
                primary=a.device_index == 0,
                subnet_id=a.subnet_id,
                created=now,
                ips=list(a.ips),
                prefixes=list(a.prefixes),
            )
        present = {ip for e in ds.enis.values() for ip in ds.addresses(e)}
        ds.assigned = {uid: ip for uid, ip in old.assigned.items() if ip in present}
        ds.assigned_at = {ip: t for ip, t in old.assigned_at.items() if ip in present}
        self.datastore = ds
