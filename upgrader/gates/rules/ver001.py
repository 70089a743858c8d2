"""VER001: one Kubernetes minor per step; kubelet and kube-proxy within the skew."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from upgrader.catalog.versions import catalog
from upgrader.errors import VersionError
from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.kube import Node
from upgrader.model.plan import Finding, Severity
from upgrader.model.unowned import FARGATE, KARPENTER, node_owner
from upgrader.semver import Version


def follow_hint(owner: str | None, current: str) -> str:
    """How nodes of ``owner`` (a node group's, Fargate or Karpenter) get to ``current``."""
    if owner == FARGATE:
        return (
            "restart their pods (`kubectl rollout restart` of the workloads): Fargate starts "
            f"them on a {current} kubelet"
        )
    if owner == KARPENTER:
        return (
            f"let Karpenter replace them at {current} (drift, when their EC2NodeClass's AMI "
            "follows the control plane) or `kubectl delete nodeclaim` them"
        )
    return f"upgrade these nodes to {current} first (roll their node group at the current version)"


def _skew_findings(inputs: GateInputs, what: str, versions: dict[Node, str]) -> Iterator[Finding]:
    """Nodes whose ``what`` (kubelet or kube-proxy) version may not run under the target:
    every node, Fargate and Karpenter ones too (upgrader does not roll those)."""
    cat = catalog()
    target = inputs.to.kubernetes
    skew = cat.kubernetes(target).kubelet_skew
    bad: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node, raw in sorted(versions.items(), key=lambda item: item[0].name):
        if not raw:
            continue
        try:
            ok = cat.kubelet_skew_ok(target, raw)
        except VersionError:
            ok = False
        if not ok:
            bad[raw, node_owner(node) or ""].append(node.name)
    for (raw, owner), nodes in sorted(bad.items()):
        kind = f"{owner.capitalize()} " if owner else ""
        fix = follow_hint(owner or None, inputs.from_.kubernetes)
        yield blocking(
            "VER001",
            f"{kind}node{'s' * (len(nodes) > 1)} {', '.join(nodes)}",
            f"{what} {raw} may not run under a {target} control plane (at most {skew} minor "
            f"versions older, never newer). Fix: {fix}, "
            "then plan again.",
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
    yield from _skew_findings(inputs, "kubelet", {n: n.kubelet_version for n in nodes})
    yield from _skew_findings(inputs, "kube-proxy", {n: n.kube_proxy_version for n in nodes})
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


RULE = Rule(
    id="VER001",
    title="one minor step; kubelet and kube-proxy skew",
    severity=Severity.BLOCKING,
    inputs=("state", "from_", "to"),
    check=ver001_kubernetes_step,
    description=(
        "The control plane moves one minor version; every kubelet and kube-proxy (Fargate "
        "and Karpenter nodes included) stays "
        "within the skew the target allows (2 minors before 1.28, 3 from 1.28) and is "
        "never newer; managed node groups run the control plane's minor (EKS refuses the "
        "update otherwise)."
    ),
)
