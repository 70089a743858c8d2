"""Kubernetes objects a scenario's cluster starts with: the EKS system add-ons
(aws-node, kube-proxy, CoreDNS) at the scenario's versions, from the project's jsonnet
library (the official manifests' shapes), and its workloads."""

from __future__ import annotations

from typing import Any

from ekstwin.scenario import Scenario, Workload
from upgrader.adapters import jsonnet
from upgrader.catalog.versions import catalog
from upgrader.semver import Version

Obj = dict[str, Any]
WORKLOAD_IMAGE = "public.ecr.aws/nginx/nginx:1.27"


RESOURCES = {
    "CustomResourceDefinition": "customresourcedefinitions.apiextensions.k8s.io",
    "ServiceAccount": "serviceaccounts",
    "ClusterRole": "clusterroles.rbac.authorization.k8s.io",
    "ClusterRoleBinding": "clusterrolebindings.rbac.authorization.k8s.io",
    "DaemonSet": "daemonsets.apps",
    "Deployment": "deployments.apps",
    "Service": "services",
    "ConfigMap": "configmaps",
}


def _resource(obj: Obj) -> tuple[str, Obj]:
    return RESOURCES[obj["kind"]], obj


def add_ons(scenario: Scenario) -> list[tuple[str, Obj]]:
    """(resource, object) pairs of aws-node, kube-proxy and CoreDNS at the scenario's
    versions, rendered by the same jsonnet library ``upgrader plan`` compiles from."""
    region, k8s = scenario.region, scenario.kubernetes
    objs = [
        *jsonnet.aws_node(
            scenario.cni_version, region=region, kubernetes=k8s, env=dict(scenario.cni_env)
        ),
        *jsonnet.kube_proxy(k8s, region=region),
        *jsonnet.coredns(k8s, region=region, replicas=scenario.coredns_replicas),
    ]
    return [_resource(o) for o in objs]


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def deployment(w: Workload) -> Obj:
    labels = {"app": w.name}
    grace = {} if w.grace_seconds is None else {"terminationGracePeriodSeconds": w.grace_seconds}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": w.name, "namespace": w.namespace, "labels": dict(labels)},
        "spec": {
            "replicas": w.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": w.name,
                            "image": WORKLOAD_IMAGE,
                            "resources": {
                                "requests": {
                                    "cpu": f"{w.cpu_millis}m",
                                    "memory": f"{w.memory_bytes // 1024**2}Mi",
                                }
                            },
                        }
                    ],
                    **grace,
                },
            },
        },
    }


def pdb(w: Workload, kubernetes: Version) -> Obj | None:
    """The workload's PodDisruptionBudget, in the API version the cluster serves."""
    if w.pdb is None:
        return None
    spec: Obj = {"selector": {"matchLabels": {"app": w.name}}}
    if w.pdb.max_unavailable is not None:
        spec["maxUnavailable"] = w.pdb.max_unavailable
    if w.pdb.min_available is not None:
        spec["minAvailable"] = w.pdb.min_available
    api = "policy/v1" if kubernetes >= Version.parse("1.21") else "policy/v1beta1"
    return {
        "apiVersion": api,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": w.name, "namespace": w.namespace},
        "spec": spec,
    }


def workloads(scenario: Scenario) -> list[tuple[str, Obj]]:
    """(resource, object) pairs of the scenario's namespaces, Deployments and PDBs."""
    k8s = scenario.kubernetes
    out: list[tuple[str, Obj]] = [("namespaces", namespace(ns)) for ns in scenario.namespaces]
    for w in scenario.workloads:
        out.append(("deployments.apps", deployment(w)))
        budget = pdb(w, k8s)
        if budget is not None:
            out.append(("poddisruptionbudgets.policy", budget))
    return out


# ConfigMaps EKS creates with the cluster, which the add-on manifests mount or read.

_EKS_LABELS = {"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"}

_KUBE_PROXY_KUBECONFIG = """kind: Config
apiVersion: v1
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: {endpoint}
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token"""

_KUBE_PROXY_CONFIG = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clientConnection:
  acceptContentTypes: ""
  burst: 10
  contentType: application/vnd.kubernetes.protobuf
  kubeconfig: /var/lib/kube-proxy/kubeconfig
  qps: 5
clusterCIDR: ""
configSyncPeriod: 15m0s
conntrack:
  maxPerCore: 32768
  min: 131072
  tcpCloseWaitTimeout: 1h0m0s
  tcpEstablishedTimeout: 24h0m0s
enableProfiling: false
healthzBindAddress: 0.0.0.0:10256
hostnameOverride: ""
iptables:
  masqueradeAll: false
  masqueradeBit: 14
  minSyncPeriod: 0s
  syncPeriod: 30s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  syncPeriod: 30s
kind: KubeProxyConfiguration
metricsBindAddress: 0.0.0.0:10249
mode: "iptables"
nodePortAddresses: null
oomScoreAdj: -998
portRange: ""
udpIdleTimeout: 250ms"""

# The Corefile EKS ships, as the CoreDNS release the cluster runs reads it: `forward` since
# 1.5 removed `proxy`; `ready` from 1.6; `upstream` until 1.7 removed it, which is when EKS's
# Corefile gained `lameduck` (EKS 1.18's CoreDNS 1.7.0).
_COREFILE = """.:53 {{
    errors
    health{health}{ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
      pods insecure{upstream}
      fallthrough in-addr.arpa ip6.arpa
    }}
    prometheus :9153
    {forward} . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}}
"""


def corefile(coredns: Version) -> str:
    """The Corefile of the ``coredns`` ConfigMap for a CoreDNS release."""
    modern = coredns >= Version.parse("1.7.0")
    return _COREFILE.format(
        health=" {\n      lameduck 5s\n    }" if modern else "",
        ready="\n    ready" if coredns >= Version.parse("1.6.0") else "",
        upstream="" if modern else "\n      upstream",
        forward="forward" if coredns >= Version.parse("1.5.0") else "proxy",
    )


def _config_map(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": "kube-system"}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def aws_auth(node_role_arns: list[str]) -> Obj:
    """``aws-auth``: each node group's instance role may join as a node (EKS user guide)."""
    roles = "".join(
        f"- rolearn: {arn}\n"
        "  username: system:node:{{EC2PrivateDNSName}}\n"
        "  groups:\n"
        "    - system:bootstrappers\n"
        "    - system:nodes\n"
        for arn in dict.fromkeys(node_role_arns)
    )
    return _config_map("aws-auth", {"mapRoles": roles})


def cluster_config_maps(
    scenario: Scenario, *, endpoint: str, node_role_arns: list[str]
) -> list[tuple[str, Obj]]:
    """(resource, object) pairs of the kube-system ConfigMaps EKS makes with a cluster:
    ``aws-auth``, kube-proxy's kubeconfig (``kube-proxy``) and configuration
    (``kube-proxy-config``), which its DaemonSet mounts, and CoreDNS's ``coredns``."""
    coredns_labels = {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"}
    coredns = Version.parse(catalog().kubernetes(scenario.kubernetes.minor_str).coredns)
    objs = [
        aws_auth(node_role_arns),
        _config_map(
            "kube-proxy",
            {"kubeconfig": _KUBE_PROXY_KUBECONFIG.format(endpoint=endpoint)},
            _EKS_LABELS,
        ),
        _config_map("kube-proxy-config", {"config": _KUBE_PROXY_CONFIG}, _EKS_LABELS),
        _config_map("coredns", {"Corefile": corefile(coredns)}, coredns_labels),
    ]
    return [_resource(o) for o in objs]
