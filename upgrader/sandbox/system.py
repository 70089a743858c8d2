"""Kubernetes objects a scenario's cluster starts with: the EKS system add-ons
(aws-node, kube-proxy, CoreDNS) at the scenario's versions, and its workloads.

Shaped like the official manifests (aws-node: amazon-vpc-cni-k8s config/,
apps/v1 with a 10% RollingUpdate), so discovery code reads what it reads on EKS.
"""

from __future__ import annotations

from typing import Any

from upgrader.catalog.versions import catalog
from upgrader.sandbox.scenario import Scenario, Workload
from upgrader.semver import Version

Obj = dict[str, Any]
ECR_ACCOUNT = "602401143452"
WORKLOAD_IMAGE = "public.ecr.aws/nginx/nginx:1.27"


def ecr(region: str, repository: str, tag: str) -> str:
    return f"{ECR_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"


def _env(pairs: dict[str, str]) -> list[Obj]:
    return [{"name": k, "value": v} for k, v in sorted(pairs.items())]


def aws_node(region: str, version: Version, env: dict[str, str]) -> Obj:
    """The aws-node DaemonSet for a CNI release, carrying the user's env."""
    container_env = [
        {"name": "AWS_VPC_K8S_CNI_LOGLEVEL", "value": "DEBUG"},
        {"name": "MY_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        *_env(env),
    ]
    labels = {"k8s-app": "aws-node"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "aws-node", "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": "aws-node",
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "aws-node",
                            "image": ecr(region, "amazon-k8s-cni", version.tag),
                            "ports": [{"containerPort": 61678, "name": "metrics"}],
                            "env": container_env,
                            "resources": {"requests": {"cpu": "10m"}},
                            "securityContext": {"privileged": True},
                        }
                    ],
                },
            },
        },
    }


def kube_proxy(region: str, kubernetes: Version) -> Obj:
    labels = {"k8s-app": "kube-proxy"}
    tag = catalog().kubernetes(kubernetes).kube_proxy
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "kube-proxy",
                            "image": ecr(region, "eks/kube-proxy", tag),
                            "command": [
                                "kube-proxy",
                                "--v=2",
                                "--config=/var/lib/kube-proxy-config/config",
                            ],
                            "resources": {"requests": {"cpu": "100m"}},
                        }
                    ],
                },
            },
        },
    }


def coredns(region: str, kubernetes: Version, replicas: int) -> Obj:
    labels = {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}
    tag = catalog().kubernetes(kubernetes).coredns
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "containers": [
                        {
                            "name": "coredns",
                            "image": ecr(region, "eks/coredns", tag),
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "70Mi"},
                                "limits": {"memory": "170Mi"},
                            },
                        }
                    ],
                },
            },
        },
    }


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


def add_ons(scenario: Scenario) -> list[tuple[str, Obj]]:
    """(resource, object) pairs of the EKS system add-ons, in dependency order."""
    region, k8s = scenario.region, scenario.kubernetes
    return [
        (
            "serviceaccounts",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "aws-node", "namespace": "kube-system"},
            },
        ),
        ("daemonsets.apps", aws_node(region, scenario.cni_version, dict(scenario.cni_env))),
        ("daemonsets.apps", kube_proxy(region, k8s)),
        ("deployments.apps", coredns(region, k8s, scenario.coredns_replicas)),
    ]


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
