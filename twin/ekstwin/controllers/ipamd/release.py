"""What ipamd of one VPC CNI release does with its pool, as flags the twin's ipamd obeys.

The twin's own reading of aws/amazon-vpc-cni-k8s per tag (``tag:path`` below) and of
research/vpc-cni.md §2 (cited as R§): never the product's catalog, so the two can disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from upgrader.semver import Version

POOL_PASS_SECONDS = 5.0  # ipPoolMonitorInterval (R§2.1)
RECONCILE_SECONDS = 60.0  # nodeIPPoolReconcileInterval: attached ENIs re-read from EC2 (R§2.1)
ENI_MIN_LIFETIME = 60.0  # minLifeTime: a younger ENI is never freed (R§2.1)
ENI_COOLING_SECONDS = 60.0  # addressENICoolingPeriod, v1.3-v1.6 (R§2.1)
DECREASE_INTERVAL = 30.0  # decreaseIPPoolInterval, v1.5+ (R§2.1)
INSUFFICIENT_BACKOFF = 120.0  # after InsufficientCidrBlocks/FreeAddresses, v1.10+ (R§2.1)
IP_COOLDOWN_SECONDS = 30  # addressCoolingPeriod; IP_COOLDOWN_PERIOD from v1.15 (R§2.1, #2492)
PREFIX_SIZE = 16  # addresses in one /28 prefix


def _v(tag: str) -> Version:
    return Version.parse(tag)


@dataclass(frozen=True, slots=True)
class Release:
    """Pool rules of CNI ``version``; each flag names the release that changed it."""

    version: Version

    def _since(self, tag: str) -> bool:
        return self.version >= _v(tag)

    @property
    def ec2_fallback(self) -> bool:
        """Unknown types are looked up with DescribeInstanceTypes (v1.6.0, #782;
        v1.6.0:pkg/awsutils/awsutils.go GetENILimit)."""
        return self._since("v1.6.0")

    @property
    def init_fails_on_unknown_type(self) -> bool:
        """nodeInit returns getMaxENI's error (v1.5.0; v1.5.5:ipamd/ipamd.go nodeInit).
        Before it, v1.3/v1.4 ignore the error and keep attaching empty ENIs."""
        return self._since("v1.5.0")

    @property
    def copies_cni_config_before_init(self) -> bool:
        """The CNI config lands on the node before ipamd is healthy (until v1.5.3, #576)."""
        return not self._since("v1.5.3")

    @property
    def max_eni_env(self) -> bool:
        """MAX_ENI caps the ENIs ipamd attaches (v1.4.0, #251)."""
        return self._since("v1.4.0")

    @property
    def eniconfig_label_env(self) -> bool:
        """ENI_CONFIG_LABEL_DEF / ENI_CONFIG_ANNOTATION_DEF (v1.4.0, #280)."""
        return self._since("v1.4.0")

    @property
    def minimum_ip_target(self) -> bool:
        """MINIMUM_IP_TARGET is read (v1.6.0, #612)."""
        return self._since("v1.6.0")

    @property
    def per_ip_release(self) -> bool:
        """Surplus IPs over WARM_IP_TARGET go back one by one (v1.5.0, #461); before,
        only whole ENIs are freed (v1.3.4:ipamd/ipamd.go nodeIPPoolTooHigh)."""
        return self._since("v1.5.0")

    @property
    def top_up_first(self) -> bool:
        """increaseIPPool adds IPs to attached ENIs before attaching one (v1.5.0, #487);
        v1.3/v1.4 top up in retryAllocENIIP and attach in the same pass."""
        return self._since("v1.5.0")

    @property
    def top_up_fills_eni(self) -> bool:
        """tryAssignIPs asks for a whole ENI even under WARM_IP_TARGET, trimmed later
        (v1.5.0 to v1.8.x, #730; fixed in v1.9.0 by #1279)."""
        return self._since("v1.5.0") and not self._since("v1.9.0")

    @property
    def warm_eni_zero_fix(self) -> bool:
        """WARM_ENI_TARGET=0 still fills an empty pool (v1.6.0, #587)."""
        return self._since("v1.6.0")

    @property
    def prescale_at_init(self) -> bool:
        """nodeInit fills the pool at once instead of on the first 5 s pass (v1.6.0, #648)."""
        return self._since("v1.6.0")

    @property
    def prefix_delegation(self) -> bool:
        """ENABLE_PREFIX_DELEGATION / WARM_PREFIX_TARGET, Nitro only (v1.9.0)."""
        return self._since("v1.9.0")

    @property
    def eni_cooling_is_ip_cooldown(self) -> bool:
        """An ENI is kept while any of its IPs cools down (v1.7.0); v1.3-v1.6 keep it
        for a minute after its last unassignment (R§2.1)."""
        return self._since("v1.7.0")

    @property
    def decrease_interval(self) -> bool:
        """At most one decrease per 30 s (v1.5.0, R§2.1)."""
        return self._since("v1.5.0")

    @property
    def insufficient_backoff(self) -> bool:
        """120 s without growing after an InsufficientCidrBlocks/FreeAddresses error (v1.10.0)."""
        return self._since("v1.10.0")

    @property
    def creates_eni_with_addresses(self) -> bool:
        """CreateNetworkInterface carries the addresses: a short subnet creates no ENI
        (v1.16.0:pkg/awsutils/awsutils.go AllocENI(..., numIPs)); before, the ENI is
        created bare and filled by a second call that may fail."""
        return self._since("v1.16.0")

    @property
    def ip_cooldown_env(self) -> bool:
        """IP_COOLDOWN_PERIOD (v1.15.0, #2492)."""
        return self._since("v1.15.0")

    @property
    def max_pods_caps_pool(self) -> bool:
        """The pool stops growing at the node's capacity.pods (v1.17.1, #2745)."""
        return self._since("v1.17.1")

    @property
    def introspection_with_metrics(self) -> bool:
        """One server on :61678 (all interfaces) serves introspection and /metrics: v1.0 to
        v1.3.3, and v1.4.0 (v1.3.2:ipamd/introspect.go IntrospectionPort); from v1.3.4 and
        v1.4.1 introspection listens on 127.0.0.1:61679 (#436)."""
        return not self._since("v1.3.4") or (self._since("v1.4.0") and not self._since("v1.4.1"))

    @property
    def disable_endpoint_envs(self) -> bool:
        """DISABLE_INTROSPECTION and DISABLE_METRICS are read (v1.3.4 and v1.4.1, #436)."""
        return not self.introspection_with_metrics

    @property
    def introspection_bind_env(self) -> bool:
        """INTROSPECTION_BIND_ADDRESS moves the introspection server (v1.5.3, #501)."""
        return self._since("v1.5.3")

    @property
    def pods_endpoint(self) -> bool:
        """/v1/pods is served (removed in v1.7.0)."""
        return not self._since("v1.7.0")

    @property
    def unknown_type_error(self) -> str:
        """ipamd's error text for a type it cannot size (awsutils UnknownInstanceType)."""
        return "vpc ip resource(eni ip limit): unknown instance type"


@cache
def release(version: Version) -> Release:
    return Release(version)
