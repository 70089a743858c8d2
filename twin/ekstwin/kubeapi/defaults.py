"""Server-side defaults the real apiserver fills in, for the fields upgrade tools read.

Defaults depend on the API version the object was written through: a DaemonSet created
through ``extensions/v1beta1`` defaults to ``OnDelete``, through ``apps/v1`` to
``RollingUpdate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_INT32 = 2147483647

# Added to every pod by the DefaultTolerationSeconds admission plugin (on in EKS).
_DEFAULT_TOLERATIONS = (
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
)


def apply_defaults(key: str, api_version: str, obj: dict[str, Any]) -> None:
    """Fill defaults in place for a new object of resource ``key`` sent as ``api_version``."""
    handler = _HANDLERS.get(key)
    if handler is not None:
        handler(obj, api_version)


def _pod(obj: dict[str, Any], _: str) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec_defaults(spec)
    tolerations = spec.setdefault("tolerations", [])
    present = {(t.get("key"), t.get("effect")) for t in tolerations if isinstance(t, dict)}
    for key in _DEFAULT_TOLERATIONS:
        if (key, "NoExecute") not in present and (None, "NoExecute") not in present:
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    status = obj.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", qos_class(spec))


def pod_spec_defaults(spec: dict[str, Any]) -> None:
    """PodSpec defaults (also applied to workload templates)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    if "serviceAccountName" in spec or "serviceAccount" in spec:
        account = spec.get("serviceAccountName") or spec.get("serviceAccount")
        spec["serviceAccountName"] = spec["serviceAccount"] = account
    for group in ("containers", "initContainers"):
        for container in spec.get(group) or []:
            _container(container)


def _container(container: dict[str, Any]) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    if "imagePullPolicy" not in container:
        container["imagePullPolicy"] = (
            "Always" if _untagged_or_latest(str(container.get("image", ""))) else "IfNotPresent"
        )
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def _untagged_or_latest(image: str) -> bool:
    if "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort from the containers' requests and limits."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        requests = resources.get("requests") or limits
        if limits or requests:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


# The API versions that default a workload's selector (and labels) from its template;
# from apps/v1beta2 on the selector is required instead.
_SELECTOR_DEFAULTING = frozenset({"extensions/v1beta1", "apps/v1beta1"})


def _template(obj: dict[str, Any], spec: dict[str, Any], api_version: str) -> None:
    template = spec.setdefault("template", {})
    if isinstance(template, dict) and isinstance(template.setdefault("spec", {}), dict):
        pod_spec_defaults(template["spec"])
    labels = (template.get("metadata") or {}).get("labels") if isinstance(template, dict) else None
    if api_version in _SELECTOR_DEFAULTING and labels:
        if "selector" not in spec:
            spec["selector"] = {"matchLabels": dict(labels)}
        metadata = obj.setdefault("metadata", {})
        if not metadata.get("labels"):
            metadata["labels"] = dict(labels)


def _deployment(obj: dict[str, Any], api_version: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    legacy = api_version == "extensions/v1beta1"
    surge = 1 if legacy else "25%"
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy["type"] = "RollingUpdate"
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", surge)
        rolling.setdefault("maxSurge", surge)
    if legacy:
        spec.setdefault("revisionHistoryLimit", MAX_INT32)
        spec.setdefault("progressDeadlineSeconds", MAX_INT32)
    else:
        spec.setdefault("revisionHistoryLimit", 2 if api_version == "apps/v1beta1" else 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj, spec, api_version)


def _daemonset(obj: dict[str, Any], api_version: str) -> None:
    spec = obj.setdefault("spec", {})
    if api_version == "extensions/v1beta1":
        spec.setdefault("updateStrategy", {"type": "OnDelete"})
        spec.setdefault("templateGeneration", 1)
    else:
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy["type"] = "RollingUpdate"
            strategy.setdefault("rollingUpdate", {}).setdefault("maxUnavailable", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj, spec, api_version)


def _replicaset(obj: dict[str, Any], api_version: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _template(obj, spec, api_version)


def _statefulset(obj: dict[str, Any], api_version: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    if api_version == "apps/v1beta1":
        spec.setdefault("updateStrategy", {"type": "OnDelete"})
    else:
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    _template(obj, spec, api_version)


def _namespace(obj: dict[str, Any], _: str) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {})["phase"] = "Active"


def _service(obj: dict[str, Any], _: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def _secret(obj: dict[str, Any], _: str) -> None:
    obj.setdefault("type", "Opaque")


def _crd(obj: dict[str, Any], _: str) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("scope", "Namespaced")
    if spec.get("version") and not spec.get("versions"):
        spec["versions"] = [{"name": spec["version"], "served": True, "storage": True}]
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    obj["status"] = {
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
        ],
        "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
    }


_HANDLERS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "pods": _pod,
    "namespaces": _namespace,
    "services": _service,
    "secrets": _secret,
    "deployments.apps": _deployment,
    "daemonsets.apps": _daemonset,
    "replicasets.apps": _replicaset,
    "statefulsets.apps": _statefulset,
    "customresourcedefinitions.apiextensions.k8s.io": _crd,
}
