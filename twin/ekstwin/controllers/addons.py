"""EKS managed add-ons own their object in the cluster: vpc-cni the DaemonSet
``kube-system/aws-node``, kube-proxy the DaemonSet ``kube-system/kube-proxy``, coredns the
Deployment ``kube-system/coredns``.

The AWS twin fires ``hooks.addon_applied`` when an add-on's create or update completes
(``ekstwin.aws.eks_addons``); this controller then writes, as field manager ``eks``:

- the add-on's container image: the same repository, the add-on version as tag (vpc-cni's
  ``aws-vpc-cni-init`` init container too, whose tag follows the CNI's on EKS);
- the ``env`` object of the configuration values, JSON or YAML, onto that container's
  environment (variables named there set or overwritten; the other keys are not modelled).

Everything else in the object stays (the user's fields, as with ``resolveConflicts``
PRESERVE). An add-on whose object does not exist writes nothing. A changed pod template is
then rolled by the DaemonSet and Deployment controllers like any other.
"""

from __future__ import annotations

import json
import logging
import threading
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import yaml

from ekstwin.aws import TwinHooks
from ekstwin.controllers.objects import Obj
from ekstwin.kubeapi import ApiError, NotFound, Store

LOG = logging.getLogger("ekstwin.controllers")
FIELD_MANAGER = "eks"
NAMESPACE = "kube-system"


@dataclass(frozen=True, slots=True)
class AddonObject:
    """The object a managed add-on owns and the containers it sets the image of."""

    resource: str
    name: str
    container: str
    init_containers: tuple[str, ...] = ()


OBJECTS: dict[str, AddonObject] = {
    "vpc-cni": AddonObject("daemonsets.apps", "aws-node", "aws-node", ("aws-vpc-cni-init",)),
    "kube-proxy": AddonObject("daemonsets.apps", "kube-proxy", "kube-proxy"),
    "coredns": AddonObject("deployments.apps", "coredns", "coredns"),
}


def with_tag(image: str, tag: str) -> str:
    """``image`` (``repo[:tag][@digest]``) in the same repository with tag ``tag``."""
    repository = image.split("@", 1)[0]
    slash = repository.rfind("/")
    colon = repository.rfind(":")
    if colon > slash:
        repository = repository[:colon]
    return f"{repository}:{tag}"


def configured_env(configuration: str | None) -> dict[str, str]:
    """The ``env`` object of an add-on's configuration values (JSON or YAML), as strings."""
    if not configuration:
        return {}
    try:
        value: Any = json.loads(configuration)
    except ValueError:
        try:
            value = yaml.safe_load(configuration)
        except yaml.YAMLError:
            return {}
    env = value.get("env") if isinstance(value, dict) else None
    if not isinstance(env, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in env.items()}


def _set_env(container: Obj, env: dict[str, str]) -> None:
    entries: list[Obj] = container.setdefault("env", [])
    for name, value in env.items():
        found = next((e for e in entries if e.get("name") == name), None)
        if found is None:
            entries.append({"name": name, "value": value})
        else:
            found.pop("valueFrom", None)
            found["value"] = value


def applied(obj: Obj, addon: AddonObject, version: str, configuration: str | None) -> Obj:
    """A copy of ``obj`` with the add-on's images at ``version`` and its configured env."""
    new = deepcopy(obj)
    spec = new.get("spec", {}).get("template", {}).get("spec", {})
    env = configured_env(configuration)
    for container in spec.get("containers") or []:
        if container.get("name") == addon.container:
            container["image"] = with_tag(str(container.get("image", "")), version)
            if env:
                _set_env(container, env)
    for container in spec.get("initContainers") or []:
        if container.get("name") in addon.init_containers:
            container["image"] = with_tag(str(container.get("image", "")), version)
    return new


def apply_addon(store: Store, addon: str, version: str, configuration: str | None) -> bool:
    """Point ``addon``'s object at ``version``; False when there is nothing to write."""
    owned = OBJECTS.get(addon)
    if owned is None:
        return False
    with store.lock:
        try:
            live = store.get(owned.resource, owned.name, namespace=NAMESPACE)
        except NotFound:
            return False
        new = applied(live, owned, version, configuration)
        if new == live:
            return False
        try:
            store.replace(owned.resource, new, manager=FIELD_MANAGER)
        except ApiError:
            LOG.exception("could not point %s at %s", owned.name, version)
            return False
        return True


class ManagedAddonObjects:
    """Writes each completed add-on create or update into the object the add-on owns."""

    name = "managed-addon-objects"

    def __init__(self, store: Store, hooks: TwinHooks, *, cluster: str) -> None:
        self._store = store
        self._cluster = cluster
        self._inbox: list[tuple[str, str, str | None]] = []
        self._inbox_lock = threading.Lock()
        hooks.addon_applied.append(self._applied)

    def _applied(self, cluster: str, addon: str, version: str, configuration: str | None) -> None:
        if cluster != self._cluster:
            return
        with self._inbox_lock:
            self._inbox.append((addon, version, configuration))

    def next_wakeup(self) -> float | None:
        with self._inbox_lock:
            return 0.0 if self._inbox else None

    def reconcile(self, now: float) -> bool:
        with self._inbox_lock:
            requests, self._inbox[:] = list(self._inbox), []
        wrote = False
        for addon, version, configuration in requests:
            wrote = apply_addon(self._store, addon, version, configuration) or wrote
        return wrote
