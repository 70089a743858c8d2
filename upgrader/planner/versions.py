"""From and to versions of every component, and the VPC CNI releases to apply."""

from __future__ import annotations

from dataclasses import dataclass

from upgrader.catalog.versions import catalog
from upgrader.config import Config
from upgrader.errors import VersionError
from upgrader.model.kube import Container
from upgrader.model.plan import Versions
from upgrader.model.state import ClusterState
from upgrader.semver import Version

SYSTEM = "kube-system"
AWS_NODE = "aws-node"
KUBE_PROXY = "kube-proxy"
COREDNS = "coredns"
ABSENT = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionPlan:
    """What runs now, what the plan moves to, and the CNI releases in between."""

    from_: Versions
    to: Versions
    cni_steps: tuple[Version, ...]
    cni_env: tuple[tuple[str, str], ...]  # live aws-node env overlaid with the config's


def _container(containers: tuple[Container, ...], name: str) -> Container | None:
    return next((c for c in containers if c.name == name), containers[0] if containers else None)


def _forward(current: str, recommended: str) -> str:
    """The recommended tag, unless what runs is already newer (never downgrade add-ons)."""
    try:
        if current != ABSENT and Version.parse(current) >= Version.parse(recommended):
            return current
    except VersionError:
        pass
    return recommended


def aws_node_container(state: ClusterState) -> Container:
    """The aws-node container of the VPC CNI DaemonSet; a cluster without it is bad input."""
    ds = state.daemonset(SYSTEM, AWS_NODE)
    container = _container(ds.containers, AWS_NODE) if ds else None
    if container is None or not container.tag:
        raise VersionError(
            f"DaemonSet {SYSTEM}/{AWS_NODE}",
            "was not found (or its image has no tag), so the running VPC CNI is unknown",
            "install the Amazon VPC CNI (aws-node) or check the kubeconfig's cluster",
        )
    return container


def plan_versions(state: ClusterState, config: Config) -> VersionPlan:
    """Derive from/to versions; a Kubernetes skip or downgrade raises VersionError.

    A CNI path the catalog refuses yields no CNI steps: gate VER002 reports why.
    """
    cat = catalog()
    current = cat.kubernetes(state.cluster.version).version
    target = cat.kubernetes(config.target_kubernetes).version
    cat.check_kubernetes_step(current, target)
    release = cat.kubernetes(target)

    aws_node = aws_node_container(state)
    cni_from = aws_node.tag
    cni_to = (config.target_cni or release.cni).tag
    try:
        steps = cat.cni_path(Version.parse(cni_from, "aws-node image tag"), cni_to, target)
    except VersionError:
        steps = ()

    proxy = state.daemonset(SYSTEM, KUBE_PROXY)
    proxy_c = _container(proxy.containers, KUBE_PROXY) if proxy else None
    proxy_from = proxy_c.tag if proxy_c and proxy_c.tag else ABSENT
    dns = state.workload("Deployment", SYSTEM, COREDNS)
    dns_c = _container(dns.containers, COREDNS) if dns else None
    dns_from = dns_c.tag if dns_c and dns_c.tag else ABSENT

    env = dict(aws_node.env)
    env.update(dict(config.cni_env))
    return VersionPlan(
        from_=Versions(
            kubernetes=current.minor_str, cni=cni_from, kube_proxy=proxy_from, coredns=dns_from
        ),
        to=Versions(
            kubernetes=target.minor_str,
            cni=cni_to,
            kube_proxy=proxy_from
            if proxy_from == ABSENT
            else _forward(proxy_from, release.kube_proxy),
            coredns=dns_from if dns_from == ABSENT else _forward(dns_from, release.coredns),
        ),
        cni_steps=steps,
        cni_env=tuple(sorted(env.items())),
    )
