"""Version gates: VER001 (Kubernetes step and node skew), VER002 (VPC CNI path)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from upgrader.catalog.versions import catalog
from upgrader.errors import VersionError
from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs
from upgrader.model.plan import Finding
from upgrader.semver import Version


def _skew_findings(inputs: GateInputs, what: str, versions: dict[str, str]) -> Iterator[Finding]:
    """Nodes whose ``what`` (kubelet or kube-proxy) version may not run under the target."""
    cat = catalog()
    target = inputs.to.kubernetes
    skew = cat.kubernetes(target).kubelet_skew
    bad: dict[str, list[str]] = defaultdict(list)
    for node, raw in sorted(versions.items()):
        if not raw:
            continue
        try:
            ok = cat.kubelet_skew_ok(target, raw)
        except VersionError:
            ok = False
        if not ok:
            bad[raw].append(node)
    for raw, nodes in sorted(bad.items()):
        yield blocking(
            "VER001",
            f"node{'s' * (len(nodes) > 1)} {', '.join(nodes)}",
            f"{what} {raw} may not run under a {target} control plane (at most {skew} minor "
            f"versions older, never newer). Fix: upgrade these nodes to "
            f"{inputs.from_.kubernetes} first (roll their node group at the current "
            "version), then plan again.",
        )


def ver001_kubernetes_step(inputs: GateInputs) -> Iterator[Finding]:
    """One minor step for the control plane; every kubelet and kube-proxy within the
    skew the target allows; managed node groups at the control-plane minor (EKS
    refuses the control-plane update otherwise)."""
    cat = catalog()
    try:
        cat.check_kubernetes_step(inputs.from_.kubernetes, inputs.to.kubernetes)
    except VersionError as err:
        yield blocking("VER001", err.subject, f"{err.message}. Fix: {err.hint}.")
        return
    nodes = inputs.state.nodes
    yield from _skew_findings(inputs, "kubelet", {n.name: n.kubelet_version for n in nodes})
    yield from _skew_findings(inputs, "kube-proxy", {n.name: n.kube_proxy_version for n in nodes})
    current = Version.parse(inputs.from_.kubernetes)
    if inputs.from_.kubernetes == inputs.to.kubernetes:
        return
    for group in sorted(inputs.state.managed_nodegroups, key=lambda m: m.name):
        if Version.parse(group.version).minor_key != current.minor_key:
            yield blocking(
                "VER001",
                f"managed node group {group.name}",
                f"is at {group.version} while the control plane is at {current.minor_str}; "
                "EKS upgrades the control plane only when managed node groups run its "
                f"minor. Fix: update {group.name} to {current.minor_str} first.",
            )


def ver002_cni_path(inputs: GateInputs) -> Iterator[Finding]:
    """The VPC CNI path: one minor per step, never a banned release (v1.5.4), v1.7 or
    later before v1.12 or later, and a target the target Kubernetes supports."""
    cat = catalog()
    src, dst, k8s = inputs.from_.cni, inputs.to.cni, inputs.to.kubernetes
    try:
        cat.cni_path(src, dst, k8s)
    except VersionError as err:
        yield blocking("VER002", err.subject, f"{err.message}. Fix: {err.hint}.")
        return
    previous = Version.parse(src)
    release = cat.kubernetes(k8s)
    for step in inputs.cni_steps:
        subject = f"VPC CNI {previous.tag} -> {step.tag}"
        ban = cat.is_banned(step)
        if ban:
            yield blocking("VER002", subject, f"{step.tag} must never be applied: {ban}.")
        allowed = {previous.minor_key, (previous.major, previous.minor + 1)}
        if step.minor_key not in allowed or step <= previous:
            yield blocking(
                "VER002",
                subject,
                "is not one minor (or a patch) forward; the CNI is updated one minor per "
                "step. Fix: plan again so each minor in between gets its own step.",
            )
        if step >= Version(1, 12) and previous < Version(1, 7):
            yield blocking(
                "VER002",
                subject,
                "reaches v1.12 or later from before v1.7 (v1.12 restores state from "
                "/var/run/aws-node/ipam.json, written from v1.7). Fix: go through v1.7 first.",
            )
        if step == inputs.cni_steps[-1] and not release.supports_cni(step):
            yield blocking(
                "VER002",
                subject,
                f"{step.tag} is outside what Kubernetes {k8s} supports ({release.cni_min} to "
                f"v{release.cni_max_minor.minor_str}.x). Fix: target {release.cni}.",
            )
        previous = step
