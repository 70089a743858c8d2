"""kubectl flags and node labels that depend on the Kubernetes minor.

``kubectl`` should be within one minor of the API server; the runbook writes the
commands for the kubectl that matches the control plane at that point of the upgrade.
"""

from __future__ import annotations

from upgrader.semver import Version

EMPTYDIR_FLAG_SINCE = (
    1,
    20,
)  # kubernetes#95076: --delete-local-data renamed; old name gone by 1.31
GA_TOPOLOGY_LABELS_SINCE = (1, 17)
KUBECTL_DIFF_SINCE = (1, 18)
DRAIN_TIMEOUT = "15m"  # EKS gives a managed node group 15 min per node to evict its pods

APP_LABELS = {
    "aws-node": "k8s-app=aws-node",
    "kube-proxy": "k8s-app=kube-proxy",
    "coredns": "k8s-app=kube-dns",
}


def drain(node: str, kubernetes: Version) -> str:
    """``kubectl drain`` through the Eviction API (PDBs honoured), flags right for the minor."""
    emptydir = (
        "--delete-emptydir-data"
        if kubernetes.minor_key >= EMPTYDIR_FLAG_SINCE
        else "--delete-local-data"
    )
    return f"kubectl drain {node} --ignore-daemonsets {emptydir} --timeout={DRAIN_TIMEOUT}"


def zone_label(kubernetes: Version) -> str:
    """The node label holding the AZ on kubelets of this minor."""
    if kubernetes.minor_key >= GA_TOPOLOGY_LABELS_SINCE:
        return "topology.kubernetes.io/zone"
    return "failure-domain.beta.kubernetes.io/zone"


def instance_type_label(kubernetes: Version) -> str:
    """The node label holding the instance type on kubelets of this minor."""
    if kubernetes.minor_key >= GA_TOPOLOGY_LABELS_SINCE:
        return "node.kubernetes.io/instance-type"
    return "beta.kubernetes.io/instance-type"


def has_diff(kubernetes: Version) -> bool:
    """Whether ``kubectl diff`` is GA for this minor."""
    return kubernetes.minor_key >= KUBECTL_DIFF_SINCE


def app_selector(name: str) -> str:
    """The label selector of an add-on's pods."""
    return APP_LABELS.get(name, f"app={name}")


def pending_pods(node: str | None = None) -> str:
    """Pods not running yet (``ContainerCreating`` is phase Pending), optionally on one node."""
    selector = "status.phase=Pending" + (f",spec.nodeName={node}" if node else "")
    return f"kubectl get pods --all-namespaces -o wide --field-selector {selector}"
