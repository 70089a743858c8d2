"""Max pods and the addresses one node takes from its subnet(s)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from upgrader.capacity.settings import CniSettings
from upgrader.catalog.instances import InstanceType

PREFIX_SIZE = 16  # addresses in one /28 prefix
HOST_NETWORK_PODS = 2  # aws-node and kube-proxy: the "+2" of eni-max-pods.txt
CAP_LOW_CPU, CAP_HIGH_CPU, CAP_CPU_THRESHOLD = 110, 250, 30  # max-pods-calculator.sh ceilings


def ceil_div(a: int, b: int) -> int:
    """Integer ceiling of ``a / b``."""
    return -(-a // b)


class PoolMode(StrEnum):
    """Which ipamd rule sizes the warm pool."""

    WARM_ENI = "warm-eni"
    WARM_IP = "warm-ip"
    PREFIX = "prefix"


@dataclass(frozen=True, slots=True, kw_only=True)
class MaxPods:
    """Kubelet max pods for a node and the number of pods that can get a VPC address."""

    value: int
    uncapped: int
    pod_enis: int
    pod_ip_capacity: int
    prefix_delegation: bool


def _pod_enis(inst: InstanceType, cni: CniSettings) -> int:
    enis = inst.max_enis
    if cni.effective_max_eni is not None:
        enis = min(enis, cni.effective_max_eni)
    if cni.custom_networking:
        enis -= 1  # the primary ENI never carries pod addresses (#331)
    return max(enis, 0)


def _prefix_delegation(inst: InstanceType, cni: CniSettings) -> bool:
    return cni.prefix_delegation and cni.behaviour.prefix_delegation and inst.nitro


def max_pods(inst: InstanceType, cni: CniSettings, *, calculator_cap: bool = False) -> MaxPods:
    """``ENIs x (IPv4 per ENI - 1) + 2`` with the custom-networking, MAX_ENI and
    prefix-delegation variants of max-pods-calculator.sh; ``calculator_cap``
    applies its 110 (<= 30 vCPU) / 250 ceilings (not when the vCPUs are unknown)."""
    enis = _pod_enis(inst, cni)
    pd = _prefix_delegation(inst, cni)
    per_eni = inst.secondary_ips_per_eni * (PREFIX_SIZE if pd else 1)
    capacity = enis * per_eni
    uncapped = capacity + HOST_NETWORK_PODS
    value = uncapped
    if calculator_cap and inst.vcpus is not None:
        value = min(value, CAP_LOW_CPU if inst.vcpus <= CAP_CPU_THRESHOLD else CAP_HIGH_CPU)
    return MaxPods(
        value=value,
        uncapped=uncapped,
        pod_enis=enis,
        pod_ip_capacity=capacity,
        prefix_delegation=pd,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeAddresses:
    """What one node holds at steady state with ``pods`` VPC-address pods.

    ``node_subnet_ips`` come from the node's subnet; ``pod_subnet_ips`` from the
    ENIConfig subnet under custom networking (0 otherwise). ``boot_peak_ips`` is
    the most the node holds at any moment while its pool settles.
    """

    mode: PoolMode
    pods: int
    pods_with_ip: int
    enis_attached: int
    pool_ips: int
    prefixes: int
    node_subnet_ips: int
    pod_subnet_ips: int
    boot_peak_ips: int

    @property
    def subnet_ips(self) -> int:
        """All addresses the node holds, across its subnets."""
        return self.node_subnet_ips + self.pod_subnet_ips

    @property
    def pods_without_ip(self) -> int:
        return self.pods - self.pods_with_ip

    @property
    def peak_ips(self) -> int:
        return max(self.boot_peak_ips, self.subnet_ips)


def node_addresses(
    inst: InstanceType, cni: CniSettings, pods: int, *, kubelet_max_pods: int | None = None
) -> NodeAddresses:
    """Addresses a node of type ``inst`` takes with ``pods`` pods needing a VPC IP.

    Steady state of ipamd's pool rules for the CNI release in ``cni``
    (research/vpc-cni.md §2.3); ``kubelet_max_pods`` defaults to :func:`max_pods`.
    """
    if pods < 0:
        raise ValueError("pods must be >= 0")
    return _node_addresses(inst, cni, pods, kubelet_max_pods)


@lru_cache(maxsize=65536)
def _node_addresses(
    inst: InstanceType, cni: CniSettings, pods: int, kubelet_max_pods: int | None
) -> NodeAddresses:
    limits = max_pods(inst, cni)
    mp = limits.value if kubelet_max_pods is None else kubelet_max_pods
    enis_max = limits.pod_enis
    slots_per_eni = inst.secondary_ips_per_eni
    slots_max = enis_max * slots_per_eni
    caps_pool = cni.behaviour.max_pods_caps_pool
    w, m = cni.effective_warm_ip, cni.effective_minimum_ip

    if limits.prefix_delegation:
        mode = PoolMode.PREFIX
        if w or m:
            target = m if w == 0 else max(pods + w, m)
            prefixes = ceil_div(target, PREFIX_SIZE)
        else:
            warm = cni.warm_prefix_target if cni.warm_prefix_target is not None else 1
            prefixes = ceil_div(pods, PREFIX_SIZE) + warm
        prefixes = min(prefixes, slots_max)
        if caps_pool:
            prefixes = min(prefixes, max(1, ceil_div(mp, PREFIX_SIZE)))
        enis = min(max(1, ceil_div(prefixes, slots_per_eni)), max(enis_max, 1))
        pool = prefixes * PREFIX_SIZE
        peak_pool = pool
    elif cni.ip_target_mode:
        mode = PoolMode.WARM_IP
        pool = m if w == 0 else max(pods + w, m)
        pool = min(pool, slots_max)
        if caps_pool:
            pool = min(pool, mp)
        prefixes = 0
        enis = min(max(1, ceil_div(pool, slots_per_eni)), max(enis_max, 1))
        # v1.5-v1.8 fill whole ENIs before trimming to the target (#730).
        peak_pool = enis * slots_per_eni if cni.behaviour.boot_full_eni_peak else pool
    else:
        mode = PoolMode.WARM_ENI
        warm = cni.warm_eni_target if cni.warm_eni_target is not None else 1
        # poolTooLow: available < S*W, or W == 0 and available == 0
        enis = ceil_div(pods, slots_per_eni) + warm if warm else pods // slots_per_eni + 1
        if caps_pool:
            enis = min(enis, max(1, ceil_div(mp, slots_per_eni)))
        enis = min(max(enis, 1), max(enis_max, 1))
        pool = enis * slots_per_eni if enis_max else 0
        prefixes = 0
        peak_pool = pool
    if enis_max == 0:
        enis, pool, peak_pool, prefixes = 0, 0, 0, 0

    with_ip = min(pods, pool)
    if cni.custom_networking:
        node_ips, pod_ips, peak = 1, enis + pool, 1 + enis + peak_pool
        attached = enis + 1
    else:
        node_ips, pod_ips, peak = enis + pool, 0, enis + peak_pool
        attached = enis
    return NodeAddresses(
        mode=mode,
        pods=pods,
        pods_with_ip=with_ip,
        enis_attached=attached,
        pool_ips=pool,
        prefixes=prefixes,
        node_subnet_ips=node_ips,
        pod_subnet_ips=pod_ips,
        boot_peak_ips=peak,
    )
