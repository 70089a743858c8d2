"""The kube-system ConfigMaps EKS creates with a cluster, and the add-on manifests that
mount or read them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ekstwin import system
from ekstwin.scenario import load as load_scenario

ROLE = "arn:aws:iam::123456789012:role/staging-workers-NodeInstanceRole-1ABC"


def _maps(name: str) -> dict[str, dict[str, Any]]:
    pairs = system.cluster_config_maps(
        load_scenario(name), endpoint="https://127.0.0.1:1", node_role_arns=[ROLE, ROLE]
    )
    assert {resource for resource, _ in pairs} == {"configmaps"}
    return {obj["metadata"]["name"]: obj for _, obj in pairs}


def test_aws_auth_maps_each_node_role_to_nodes() -> None:
    auth = _maps("staging")["aws-auth"]
    assert auth["metadata"]["namespace"] == "kube-system"
    assert yaml.safe_load(auth["data"]["mapRoles"]) == [
        {
            "rolearn": ROLE,
            "username": "system:node:{{EC2PrivateDNSName}}",
            "groups": ["system:bootstrappers", "system:nodes"],
        }
    ]


def test_kube_proxy_configuration_as_eks_ships_it() -> None:
    maps = _maps("staging")
    config = yaml.safe_load(maps["kube-proxy-config"]["data"]["config"])
    assert config["kind"] == "KubeProxyConfiguration"
    assert config["mode"] == "iptables"
    assert config["metricsBindAddress"] == "0.0.0.0:10249"
    assert config["clusterCIDR"] == ""
    assert config["clientConnection"]["kubeconfig"] == "/var/lib/kube-proxy/kubeconfig"
    kubeconfig = yaml.safe_load(maps["kube-proxy"]["data"]["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"


@pytest.mark.parametrize("scenario", ["staging", "modern"])
def test_the_add_ons_mount_config_maps_that_exist(scenario: str) -> None:
    maps = _maps(scenario)
    rendered = {
        o["metadata"]["name"]
        for _, o in system.add_ons(load_scenario(scenario))
        if o["kind"] == "ConfigMap"
    }
    mounted: set[str] = set()
    for _, obj in system.add_ons(load_scenario(scenario)):
        spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                mounted.add(volume["configMap"]["name"])
    assert {"kube-proxy", "kube-proxy-config", "coredns"} <= mounted
    assert mounted <= set(maps) | rendered


def test_the_corefile_follows_the_coredns_release() -> None:
    staging = _maps("staging")["coredns"]["data"]["Corefile"]  # 1.12: CoreDNS 1.6.6
    assert "forward . /etc/resolv.conf" in staging and "upstream" in staging
    modern = _maps("modern")["coredns"]["data"]["Corefile"]
    assert "upstream" not in modern and "lameduck 5s" in modern
