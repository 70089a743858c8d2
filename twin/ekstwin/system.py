"""Kubernetes objects a scenario's cluster starts with: the EKS system add-ons
(aws-node, kube-proxy, CoreDNS) at the scenario's versions, from the project's jsonnet
library (the official manifests' shapes), and its workloads."""

from __future__ import annotations

from typing import Any

from ekstwin.scenario import Scenario, Workload
from upgrader.adapters import jsonnet
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
                    ]
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
