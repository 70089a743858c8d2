"""Custom networking: the ENIConfig a node's ipamd uses for its pod ENIs (MyENIConfig).

The name comes from the node's annotation, then its label (``k8s.amazonaws.com/eniConfig``
unless ENI_CONFIG_ANNOTATION_DEF / ENI_CONFIG_LABEL_DEF, v1.4.0+), else ``default``
(v1.6.4:pkg/eniconfig/eniconfig.go; R§2.5). Its ``spec.subnet`` holds the pod ENIs.
"""

from __future__ import annotations

from typing import Any

from ekstwin.controllers.ipamd.config import IpamdConfig
from ekstwin.kubeapi import NotFound, Store

RESOURCE = "eniconfigs.crd.k8s.amazonaws.com"
API_VERSION = "crd.k8s.amazonaws.com/v1alpha1"
DEFAULT = "default"


def eniconfig_name(node: dict[str, Any], config: IpamdConfig) -> str:
    meta = node.get("metadata", {})
    return str(
        (meta.get("annotations") or {}).get(config.eniconfig_annotation)
        or (meta.get("labels") or {}).get(config.eniconfig_label)
        or DEFAULT
    )


def eniconfig_subnet(store: Store, node: str, config: IpamdConfig) -> tuple[str, str | None]:
    """(ENIConfig name, its subnet ID or None when there is no such ENIConfig)."""
    obj = store.find("nodes", node)
    name = eniconfig_name(obj, config) if obj is not None else DEFAULT
    try:
        found = store.find(RESOURCE, name)
    except NotFound:  # the ENIConfig CRD is not installed
        return name, None
    subnet = (found or {}).get("spec", {}).get("subnet")
    return name, str(subnet) if subnet else None


def eniconfig_object(name: str, subnet_id: str) -> dict[str, Any]:
    """An ENIConfig as users write them (one per AZ, named after it)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ENIConfig",
        "metadata": {"name": name},
        "spec": {"subnet": subnet_id},
    }
