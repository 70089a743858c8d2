"""Server-side validation of the objects upgrade tools write (``pkg/apis/*/validation``),
run after defaulting: a failing object is a 422 ``Invalid`` naming each field, and never
reaches the store. Covers object metadata, pods and pod templates, the replicated
workloads, PodDisruptionBudgets, ConfigMaps, Services, Nodes and Leases."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ekstwin.kubeapi import names
from ekstwin.kubeapi.fielderrors import (
    FieldError,
    GoValue,
    duplicate,
    forbidden,
    go_selector,
    invalid,
    invalid_error,
    not_found,
    not_supported,
    required,
    too_long,
)
from ekstwin.kubeapi.resources import Minor, ResourceType
from ekstwin.kubeapi.selectors import selector_object_matches

Errors = list[FieldError]
Obj = dict[str, Any]

NONNEGATIVE = "must be greater than or equal to 0"
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_ENV_NAME_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', "
    "'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
    "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_PERCENT = re.compile(r"^[0-9]+%$")
_PERCENT_MSG = (
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
    "or '93%', regex used for validation is '[0-9]+%')"
)
_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_VOLUME_SOURCES = frozenset(
    {
        "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo",
        "secret", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume",
        "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap",
        "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
        "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
    }
)  # fmt: skip
_ANNOTATIONS_LIMIT = 256 * 1024
_CONFIG_MAP_LIMIT = 1024 * 1024


def validate_create(rtype: ResourceType, api_version: str, obj: Obj, minor: Minor) -> None:
    """Raise ``Invalid`` when ``obj`` (defaulted, about to be created) is not valid."""
    errors = _object(rtype, api_version, obj, minor)
    _raise(rtype, obj, errors)


def validate_update(
    rtype: ResourceType, api_version: str, old: Obj, new: Obj, minor: Minor
) -> None:
    """Raise ``Invalid`` when ``new`` may not replace ``old``."""
    errors = _object(rtype, api_version, new, minor)
    if rtype.key in _IMMUTABLE_SELECTOR and api_version not in _MUTABLE_SELECTOR_VERSIONS:
        old_selector = (old.get("spec") or {}).get("selector")
        new_selector = _spec(new).get("selector")
        if old_selector != new_selector:
            errors.append(invalid("spec.selector", go_selector(new_selector), "field is immutable"))
    _raise(rtype, new, errors)


def _raise(rtype: ResourceType, obj: Obj, errors: Errors) -> None:
    if errors:
        name = str((obj.get("metadata") or {}).get("name") or "")
        raise invalid_error(rtype.kind, rtype.group, name, errors)


def _object(rtype: ResourceType, api_version: str, obj: Obj, minor: Minor) -> Errors:
    errors = object_meta(rtype, obj.get("metadata") or {})
    rule = _RULES.get(rtype.key)
    if rule is not None:
        errors.extend(rule(obj, api_version, minor))
    return errors


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


# --- metadata ---------------------------------------------------------------------------


def name_rule(rtype: ResourceType) -> Callable[[str], list[str]]:
    """How a resource's ``metadata.name`` is validated."""
    if rtype.key in {"namespaces"}:
        return names.dns1123_label
    if rtype.key == "services":
        return lambda name: [] if _DNS1035.match(name) and len(name) <= 63 else [_DNS1035_MSG]
    if rtype.group == "rbac.authorization.k8s.io":
        return _path_segment
    return names.dns1123_subdomain


def _path_segment(name: str) -> list[str]:
    if name in {".", ".."}:
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in name]


def object_meta(rtype: ResourceType, meta: Obj) -> Errors:
    """``ValidateObjectMeta``: name, generateName, labels and annotations."""
    errors: Errors = []
    name = meta.get("name")
    if not name:
        if not meta.get("generateName"):
            errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors.extend(invalid("metadata.name", name, p) for p in name_rule(rtype)(str(name)))
    errors.extend(labels(meta.get("labels"), "metadata.labels"))
    annotations = meta.get("annotations") or {}
    size = 0
    for key, value in annotations.items():
        errors.extend(
            invalid("metadata.annotations", key, p) for p in names.qualified_name(key.lower())
        )
        size += len(key) + len(str(value))
    if size > _ANNOTATIONS_LIMIT:
        errors.append(too_long("metadata.annotations", _ANNOTATIONS_LIMIT))
    return errors


def labels(values: Any, path: str) -> Errors:
    """``ValidateLabels``: qualified-name keys and label values."""
    errors: Errors = []
    for key, value in (values or {}).items():
        errors.extend(invalid(path, key, p) for p in names.qualified_name(key))
        errors.extend(invalid(path, value, p) for p in names.label_value(str(value)))
    return errors


def label_selector(selector: Any, path: str) -> Errors:
    """``ValidateLabelSelector``: matchLabels and matchExpressions."""
    if not isinstance(selector, dict):
        return []
    errors = labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        operator, values = expr.get("operator"), expr.get("values") or []
        if operator in {"In", "NotIn"}:
            if not values:
                errors.append(
                    required(
                        f"{where}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                    )
                )
        elif operator in {"Exists", "DoesNotExist"}:
            if values:
                errors.append(
                    forbidden(
                        f"{where}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errors.append(invalid(f"{where}.operator", operator, "not a valid selector operator"))
        errors.extend(
            invalid(f"{where}.key", expr.get("key"), p)
            for p in names.qualified_name(str(expr.get("key") or ""))
        )
    return errors


# --- pods ---------------------------------------------------------------------------------


def _pod(obj: Obj, _: str, minor: Minor) -> Errors:
    return pod_spec(_spec(obj), "spec", minor)


def pod_spec(spec: Obj, path: str, minor: Minor) -> Errors:
    """``ValidatePodSpec`` for what matters here: volumes, containers, policies."""
    errors: Errors = []
    volumes = _volumes(spec.get("volumes") or [], f"{path}.volumes", errors)
    containers = spec.get("containers") or []
    if not containers:
        errors.append(required(f"{path}.containers"))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            errors.extend(_container(container, f"{path}.{group}[{i}]", volumes, seen))
    restart = spec.get("restartPolicy")
    if restart not in {None, "Always", "OnFailure", "Never"}:
        errors.append(
            not_supported(f"{path}.restartPolicy", restart, ["Always", "OnFailure", "Never"])
        )
    dns = spec.get("dnsPolicy")
    if dns not in {None, "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"}:
        errors.append(
            not_supported(
                f"{path}.dnsPolicy",
                dns,
                ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
            )
        )
    for i, toleration in enumerate(spec.get("tolerations") or []):
        errors.extend(_toleration(toleration, f"{path}.tolerations[{i}]"))
    errors.extend(labels(spec.get("nodeSelector"), f"{path}.nodeSelector"))
    return errors


def _volumes(volumes: list[Any], path: str, errors: Errors) -> set[str]:
    found: set[str] = set()
    for i, volume in enumerate(volumes):
        where = f"{path}[{i}]"
        name = str(volume.get("name") or "")
        if not name:
            errors.append(required(f"{where}.name"))
        else:
            errors.extend(invalid(f"{where}.name", name, p) for p in names.dns1123_label(name))
            if name in found:
                errors.append(duplicate(f"{where}.name", name))
        found.add(name)
        sources = [key for key in volume if key in _VOLUME_SOURCES]
        if not sources:
            errors.append(required(where, "must specify a volume type"))
        elif len(sources) > 1:
            errors.append(
                forbidden(f"{where}.{sources[1]}", "may not specify more than 1 volume type")
            )
    return found


def _container(container: Obj, path: str, volumes: set[str], seen: set[str]) -> Errors:
    errors: Errors = []
    name = str(container.get("name") or "")
    if not name:
        errors.append(required(f"{path}.name"))
    else:
        errors.extend(invalid(f"{path}.name", name, p) for p in names.dns1123_label(name))
        if name in seen:
            errors.append(duplicate(f"{path}.name", name))
    seen.add(name)
    if not container.get("image"):
        errors.append(required(f"{path}.image"))
    pull = container.get("imagePullPolicy")
    if pull not in {None, "Always", "IfNotPresent", "Never"}:
        errors.append(
            not_supported(f"{path}.imagePullPolicy", pull, ["Always", "IfNotPresent", "Never"])
        )
    for i, port in enumerate(container.get("ports") or []):
        errors.extend(_container_port(port, f"{path}.ports[{i}]"))
    errors.extend(_env_and_mounts(container, path, volumes))
    return errors


def _env_and_mounts(container: Obj, path: str, volumes: set[str]) -> Errors:
    errors: Errors = []
    for i, env in enumerate(container.get("env") or []):
        env_name = str(env.get("name") or "")
        if not env_name:
            errors.append(required(f"{path}.env[{i}].name"))
        elif not _ENV_NAME.match(env_name):
            errors.append(invalid(f"{path}.env[{i}].name", env_name, _ENV_NAME_MSG))
    for i, mount in enumerate(container.get("volumeMounts") or []):
        where = f"{path}.volumeMounts[{i}]"
        mount_name = str(mount.get("name") or "")
        if not mount_name:
            errors.append(required(f"{where}.name"))
        elif mount_name not in volumes:
            errors.append(not_found(f"{where}.name", mount_name))
        if not mount.get("mountPath"):
            errors.append(required(f"{where}.mountPath"))
    return errors


def _container_port(port: Obj, path: str) -> Errors:
    errors: Errors = []
    number = port.get("containerPort")
    if not number:
        errors.append(required(f"{path}.containerPort"))
    else:
        errors.extend(
            invalid(f"{path}.containerPort", number, p) for p in names.port_number(number)
        )
    host = port.get("hostPort")
    if host:
        errors.extend(invalid(f"{path}.hostPort", host, p) for p in names.port_number(host))
    protocol = port.get("protocol")
    if protocol is not None and protocol not in _PROTOCOLS:
        errors.append(not_supported(f"{path}.protocol", protocol, _PROTOCOLS))
    return errors


def _toleration(toleration: Obj, path: str) -> Errors:
    errors: Errors = []
    operator = toleration.get("operator")
    if operator not in {None, "", "Equal", "Exists"}:
        errors.append(not_supported(f"{path}.operator", operator, ["Equal", "Exists"]))
    if operator == "Exists" and toleration.get("value"):
        errors.append(
            invalid(
                f"{path}.operator",
                toleration.get("value"),
                "value must be empty when `operator` is 'Exists'",
            )
        )
    effect = toleration.get("effect")
    if effect not in {None, "", "NoExecute", "NoSchedule", "PreferNoSchedule"}:
        errors.append(
            not_supported(f"{path}.effect", effect, ["NoExecute", "NoSchedule", "PreferNoSchedule"])
        )
    return errors


# --- workloads ----------------------------------------------------------------------------


def _nonnegative(spec: Obj, field: str, path: str) -> Errors:
    value = spec.get(field)
    if isinstance(value, int) and value < 0:
        return [invalid(f"{path}.{field}", value, NONNEGATIVE)]
    return []


def _template_for_selector(
    spec: Obj, path: str, minor: Minor, *, only_always: bool = True
) -> Errors:
    """``ValidatePodTemplateSpecForReplicaSet``: labels match, a valid pod spec."""
    errors: Errors = []
    template = spec.get("template")
    if not isinstance(template, dict):
        return [required(f"{path}.template")]
    template_meta = template.get("metadata") or {}
    template_labels = template_meta.get("labels") or {}
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not selector_object_matches(selector, template_labels):
        errors.append(
            invalid(
                f"{path}.template.metadata.labels",
                template_labels,
                "`selector` does not match template `labels`",
            )
        )
    errors.extend(labels(template_labels, f"{path}.template.labels"))
    pod: Obj = template["spec"] if isinstance(template.get("spec"), dict) else {}
    errors.extend(pod_spec(pod, f"{path}.template.spec", minor))
    restart = pod.get("restartPolicy")
    if only_always and restart not in {None, "Always"}:
        errors.append(not_supported(f"{path}.template.spec.restartPolicy", restart, ["Always"]))
    if only_always and pod.get("activeDeadlineSeconds") is not None:
        errors.append(
            invalid(
                f"{path}.template.spec.activeDeadlineSeconds",
                pod.get("activeDeadlineSeconds"),
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )
    return errors


def _selector_present(spec: Obj, path: str, workload: str) -> Errors:
    selector = spec.get("selector")
    if selector is None:
        return [required(f"{path}.selector")]
    errors = label_selector(selector, f"{path}.selector")
    if isinstance(selector, dict) and not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        errors.append(
            invalid(
                f"{path}.selector",
                go_selector(selector),
                f"empty selector is invalid for {workload}",
            )
        )
    return errors


def _deployment(obj: Obj, _: str, minor: Minor) -> Errors:
    spec = _spec(obj)
    errors = _nonnegative(spec, "replicas", "spec")
    errors.extend(_selector_present(spec, "spec", "deployment"))
    errors.extend(_template_for_selector(spec, "spec", minor))
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type")
    if kind not in {None, "Recreate", "RollingUpdate"}:
        errors.append(not_supported("spec.strategy.type", kind, ["Recreate", "RollingUpdate"]))
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate" and rolling is not None:
        errors.append(
            forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )
        )
    if isinstance(rolling, dict):
        errors.extend(_rolling_update(rolling, "spec.strategy.rollingUpdate"))
    for field in ("minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        errors.extend(_nonnegative(spec, field, "spec"))
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
    if isinstance(deadline, int) and deadline <= ready:
        errors.append(
            invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
            )
        )
    return errors


def _int_or_percent(value: Any, path: str) -> Errors:
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return [invalid(path, value, _PERCENT_MSG)]
        if int(value[:-1]) > 100:
            return [invalid(path, value, "must not be greater than 100%")]
        return []
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, NONNEGATIVE)]
    return []


def _zero(value: Any) -> bool:
    return value in {0, "0%"}


def _intstr(value: Any) -> GoValue:
    if isinstance(value, str):
        return GoValue(f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:"{value}"}}')
    return GoValue(f'intstr.IntOrString{{Type:0, IntVal:{int(value or 0)}, StrVal:""}}')


def _rolling_update(rolling: Obj, path: str) -> Errors:
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errors = _int_or_percent(unavailable, f"{path}.maxUnavailable")
    errors.extend(_int_or_percent(surge, f"{path}.maxSurge"))
    if unavailable is not None and surge is not None and _zero(unavailable) and _zero(surge):
        errors.append(
            invalid(
                f"{path}.maxUnavailable", _intstr(unavailable), "may not be 0 when `maxSurge` is 0"
            )
        )
    return errors


def _daemonset(obj: Obj, _: str, minor: Minor) -> Errors:
    spec = _spec(obj)
    selector = spec.get("selector")
    errors = label_selector(selector, "spec.selector")
    errors.extend(_template_for_selector(spec, "spec", minor))
    if isinstance(selector, dict) and not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        errors.append(
            invalid(
                "spec.selector", go_selector(selector), "empty selector is invalid for daemonset"
            )
        )
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type")
    if kind not in {None, "OnDelete", "RollingUpdate"}:
        errors.append(
            not_supported("spec.updateStrategy.type", kind, ["OnDelete", "RollingUpdate"])
        )
    rolling = strategy.get("rollingUpdate")
    if isinstance(rolling, dict):
        unavailable = rolling.get("maxUnavailable")
        errors.extend(
            _int_or_percent(unavailable, "spec.updateStrategy.rollingUpdate.maxUnavailable")
        )
        if _zero(unavailable) and _zero(rolling.get("maxSurge", 0)):
            errors.append(
                invalid(
                    "spec.updateStrategy.rollingUpdate.maxUnavailable",
                    _intstr(unavailable),
                    "may not be 0 when `maxSurge` is 0",
                )
            )
    for field in ("minReadySeconds", "revisionHistoryLimit"):
        errors.extend(_nonnegative(spec, field, "spec"))
    return errors


def _replicaset(obj: Obj, _: str, minor: Minor) -> Errors:
    spec = _spec(obj)
    errors = _nonnegative(spec, "replicas", "spec")
    errors.extend(_nonnegative(spec, "minReadySeconds", "spec"))
    errors.extend(_selector_present(spec, "spec", "deployment"))  # sic: the real message
    errors.extend(_template_for_selector(spec, "spec", minor))
    return errors


def _statefulset(obj: Obj, _: str, minor: Minor) -> Errors:
    spec = _spec(obj)
    errors = _nonnegative(spec, "replicas", "spec")
    errors.extend(_selector_present(spec, "spec", "statefulset"))
    errors.extend(_template_for_selector(spec, "spec", minor))
    policy = spec.get("podManagementPolicy")
    if policy not in {None, "OrderedReady", "Parallel"}:
        errors.append(
            not_supported("spec.podManagementPolicy", policy, ["OrderedReady", "Parallel"])
        )
    return errors


# --- the rest -----------------------------------------------------------------------------


def _pdb(obj: Obj, _: str, __: Minor) -> Errors:
    spec = _spec(obj)
    errors: Errors = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        errors.append(
            invalid(
                "spec",
                GoValue(_pdb_spec(spec)),
                "minAvailable and maxUnavailable cannot be both set",
            )
        )
    errors.extend(_int_or_percent(min_available, "spec.minAvailable"))
    errors.extend(_int_or_percent(max_unavailable, "spec.maxUnavailable"))
    errors.extend(label_selector(spec.get("selector"), "spec.selector"))
    return errors


def _pdb_spec(spec: Obj) -> str:
    def ptr(value: Any) -> str:
        return "(*intstr.IntOrString)(nil)" if value is None else "&" + _intstr(value).text

    return (
        f"policy.PodDisruptionBudgetSpec{{MinAvailable:{ptr(spec.get('minAvailable'))}, "
        f"Selector:(*v1.LabelSelector)(nil), MaxUnavailable:{ptr(spec.get('maxUnavailable'))}}}"
    )


def _configmap(obj: Obj, _: str, __: Minor) -> Errors:
    errors: Errors = []
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    size = 0
    for section, values in (("data", data), ("binaryData", binary)):
        for key, value in values.items():
            errors.extend(invalid(f"{section}[{key}]", key, p) for p in names.config_map_key(key))
            size += len(str(value))
    for key in data:
        if key in binary:
            errors.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    if size > _CONFIG_MAP_LIMIT:
        errors.append(too_long("data", _CONFIG_MAP_LIMIT))
    return errors


def _service(obj: Obj, _: str, __: Minor) -> Errors:
    spec = _spec(obj)
    errors: Errors = []
    kind = spec.get("type", "ClusterIP")
    kinds = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    if kind not in kinds:
        errors.append(not_supported("spec.type", kind, kinds))
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(required("spec.ports"))
    port_names: set[str] = set()
    for i, port in enumerate(ports):
        where = f"spec.ports[{i}]"
        name = str(port.get("name") or "")
        if len(ports) > 1 and not name:
            errors.append(required(f"{where}.name"))
        elif name:
            if name in port_names:
                errors.append(duplicate(f"{where}.name", name))
            port_names.add(name)
        number = port.get("port") or 0
        errors.extend(invalid(f"{where}.port", number, p) for p in names.port_number(number))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in _PROTOCOLS:
            errors.append(not_supported(f"{where}.protocol", protocol, _PROTOCOLS))
        target = port.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool) and target != 0:
            errors.extend(
                invalid(f"{where}.targetPort", target, p) for p in names.port_number(target)
            )
    affinity = spec.get("sessionAffinity")
    if affinity not in {None, "ClientIP", "None"}:
        errors.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if kind == "ExternalName" and not spec.get("externalName"):
        errors.append(required("spec.externalName"))
    return errors


def _node(obj: Obj, _: str, __: Minor) -> Errors:
    errors: Errors = []
    effects = ["NoExecute", "NoSchedule", "PreferNoSchedule"]
    for i, taint in enumerate(_spec(obj).get("taints") or []):
        where = f"spec.taints[{i}]"
        key = str(taint.get("key") or "")
        errors.extend(invalid(f"{where}.key", key, p) for p in names.qualified_name(key))
        value = taint.get("value")
        if value:
            errors.extend(invalid(f"{where}.value", value, p) for p in names.label_value(value))
        effect = taint.get("effect")
        if not effect:
            errors.append(required(f"{where}.effect"))
        elif effect not in effects:
            errors.append(not_supported(f"{where}.effect", effect, effects))
    return errors


def _lease(obj: Obj, _: str, __: Minor) -> Errors:
    spec = _spec(obj)
    errors: Errors = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        errors.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    errors.extend(_nonnegative(spec, "leaseTransitions", "spec"))
    return errors


_RULES: dict[str, Callable[[Obj, str, Minor], Errors]] = {
    "pods": _pod,
    "deployments.apps": _deployment,
    "daemonsets.apps": _daemonset,
    "replicasets.apps": _replicaset,
    "statefulsets.apps": _statefulset,
    "poddisruptionbudgets.policy": _pdb,
    "configmaps": _configmap,
    "services": _service,
    "nodes": _node,
    "leases.coordination.k8s.io": _lease,
}
_IMMUTABLE_SELECTOR = frozenset(
    {"deployments.apps", "daemonsets.apps", "replicasets.apps", "statefulsets.apps"}
)
# The selector became immutable with apps/v1beta2; the older versions may still change it.
_MUTABLE_SELECTOR_VERSIONS = frozenset({"extensions/v1beta1", "apps/v1beta1"})
