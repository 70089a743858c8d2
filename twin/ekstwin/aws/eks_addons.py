"""The EKS add-on API moto lacks: ListAddons, DescribeAddon, CreateAddon, UpdateAddon,
DeleteAddon, DescribeAddonVersions and DescribeAddonConfiguration, with botocore's shapes.

Create, update and delete are ``AddonUpdate`` records (``ListUpdates``/``DescribeUpdate``
with ``addonName``) that stay ``InProgress`` for ``ADDON_SECONDS`` of virtual time; the
add-on is CREATING/UPDATING/DELETING meanwhile, then ACTIVE (or gone).

As on EKS, vpc-cni, kube-proxy and coredns own their object in the cluster (the
DaemonSets ``kube-system/aws-node`` and ``kube-system/kube-proxy``, the Deployment
``kube-system/coredns``): when a create or update completes, the twin fires
``hooks.addon_applied`` and ``ekstwin.controllers.addons`` points the object's container at
the add-on version's image (the same repository, the version as tag) and sets the ``env``
of the configuration values, through the Kubernetes store, so the workload controllers roll
the pods as for any template change. The user's other fields stay, whatever
``resolveConflicts`` says; an object that does not exist is left alone; the other add-ons
and a delete touch nothing in the cluster.

Version table: vpc-cni, kube-proxy and coredns come from the product's version catalog
(``upgrader/catalog/data/kubernetes.yaml``: per Kubernetes minor the recommended tag is the
default, ``-eksbuild.1`` added where the catalog has no build; a VPC CNI release is also
compatible with every minor whose ``cni_supported`` range accepts it). The catalog has no
eks-pod-identity-agent or aws-ebs-csi-driver: their short tables below are the twin's own,
shaped like EKS answers but not taken from AWS. Managed add-ons start with Kubernetes 1.18.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

import yaml
from moto.eks.exceptions import (
    InvalidParameterException,
    ResourceInUseException,
)
from moto.eks.models import eks_backends
from moto.moto_api._internal import mock_random

from ekstwin.aws import eks_clusters
from ekstwin.aws.state import EksUpdate, Operation, TwinState, epoch
from upgrader.catalog.versions import catalog
from upgrader.semver import Version

Response = tuple[int, dict[str, str], str]

ADDON_SECONDS = 60.0
FIRST_MINOR = (1, 18)
_ATTR = "_ekstwin_addons"

_ADDONS = re.compile(r"^/clusters/([^/]+)/addons(?:/([^/]+))?(/update)?$")
_TYPES = {
    "vpc-cni": "networking",
    "kube-proxy": "networking",
    "coredns": "networking",
    "eks-pod-identity-agent": "security",
    "aws-ebs-csi-driver": "storage",
}
_IAM = {"vpc-cni", "aws-ebs-csi-driver"}
# The twin's own tables (not from AWS): version -> (oldest, newest) Kubernetes minor.
_HAND: dict[str, dict[str, tuple[str, str]]] = {
    "eks-pod-identity-agent": {
        "v1.0.0-eksbuild.1": ("1.24", "1.28"),
        "v1.3.4-eksbuild.1": ("1.24", "1.31"),
        "v1.3.10-eksbuild.2": ("1.25", "1.35"),
    },
    "aws-ebs-csi-driver": {
        "v1.25.0-eksbuild.1": ("1.23", "1.28"),
        "v1.35.0-eksbuild.1": ("1.24", "1.31"),
        "v1.44.0-eksbuild.1": ("1.25", "1.35"),
    },
}
RESOLVE = ("OVERWRITE", "NONE", "PRESERVE")


def _ok(payload: dict[str, Any]) -> Response:
    return 200, {"Content-Type": "application/json"}, json.dumps(payload)


def _invalid(message: str, cluster: str | None = None, addon: str | None = None) -> Exception:
    return InvalidParameterException(
        clusterName=cluster, nodegroupName=None, fargateProfileName=None, addonName=addon,
        message=message,
    )  # fmt: skip


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _eksbuild(tag: str) -> str:
    tag = tag if tag.startswith("v") else f"v{tag}"
    return tag if "-eksbuild." in tag else f"{tag}-eksbuild.1"


@cache
def version_table() -> dict[str, dict[str, dict[str, bool]]]:
    """add-on -> version -> Kubernetes minor -> whether it is the default there."""
    known = catalog()
    releases = [r for r in known.releases if r.version.minor_key >= FIRST_MINOR]
    minors = [r.version.minor_str for r in releases]
    table: dict[str, dict[str, dict[str, bool]]] = {name: {} for name in _TYPES}
    for release in releases:
        minor = release.version.minor_str
        table["vpc-cni"].setdefault(_eksbuild(str(release.cni)), {})[minor] = True
        table["kube-proxy"].setdefault(_eksbuild(release.kube_proxy), {})[minor] = True
        table["coredns"].setdefault(_eksbuild(release.coredns), {})[minor] = True
    for version, compat in table["vpc-cni"].items():
        cni = Version.parse(version.split("-")[0], "VPC CNI version")
        for release in releases:
            if release.supports_cni(cni):
                compat.setdefault(release.version.minor_str, False)
    for name, versions in _HAND.items():
        for version, (low, high) in versions.items():
            table[name][version] = {m: False for m in minors if _key(low) <= _key(m) <= _key(high)}
        for minor in minors:
            newest = max((v for v, c in table[name].items() if minor in c), key=_key, default=None)
            if newest is not None:
                table[name][newest][minor] = True
    return table


def _minor(version: str) -> str:
    return ".".join(str(n) for n in _key(version)[:2])


def default_version(addon: str, kubernetes: str) -> str | None:
    minor = _minor(kubernetes)
    for version, compat in version_table().get(addon, {}).items():
        if compat.get(minor):
            return version
    return None


def _addon_info(name: str, kubernetes: str | None) -> dict[str, Any] | None:
    minor = _minor(kubernetes) if kubernetes else None
    versions = []
    for version, compat in sorted(version_table()[name].items(), key=lambda i: _key(i[0]))[::-1]:
        shown = sorted((m for m in compat if minor is None or m == minor), key=_key, reverse=True)
        if not shown:
            continue
        versions.append(
            {
                "addonVersion": version,
                "architecture": ["amd64", "arm64"],
                "computeTypes": ["ec2"],
                "compatibilities": [
                    {"clusterVersion": m, "platformVersions": ["*"], "defaultVersion": compat[m]}
                    for m in shown
                ],
                "requiresConfiguration": False,
                "requiresIamPermissions": name in _IAM,
            }
        )
    if not versions:
        return None
    return {
        "addonName": name,
        "type": _TYPES[name],
        "addonVersions": versions,
        "publisher": "eks",
        "owner": "aws",
        "defaultNamespace": "kube-system",
    }


# Configuration schemas (JSON Schema, draft-07 like EKS's), validated with EKS's wording.


def _obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _str() -> dict[str, Any]:
    return {"type": "string"}


def _map() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"type": "string"}}


_RESOURCES = _obj(limits=_obj(cpu=_str(), memory=_str()), requests=_obj(cpu=_str(), memory=_str()))
_TOLERATIONS = {"type": "array", "items": {"type": "object"}}
_CNI_ENV = (
    "AWS_VPC_K8S_CNI_LOGLEVEL",
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
    "ENABLE_PREFIX_DELEGATION",
    "ENABLE_POD_ENI",
    "MINIMUM_IP_TARGET",
    "WARM_ENI_TARGET",
    "WARM_IP_TARGET",
    "WARM_PREFIX_TARGET",
    "POD_SECURITY_GROUP_ENFORCING_MODE",
)
SCHEMAS: dict[str, dict[str, Any]] = {
    "vpc-cni": _obj(
        env=_obj(**dict.fromkeys(_CNI_ENV, _str())),
        init=_obj(env=_obj(DISABLE_TCP_EARLY_DEMUX=_str())),
        enableNetworkPolicy={"type": "string", "enum": ["true", "false"]},
        resources=_RESOURCES,
        tolerations=_TOLERATIONS,
        podAnnotations=_map(),
    ),
    "kube-proxy": _obj(
        mode={"type": "string", "enum": ["iptables", "ipvs"]},
        ipvs=_obj(scheduler=_str()),
        resources=_RESOURCES,
        podAnnotations=_map(),
    ),
    "coredns": _obj(
        replicaCount={"type": "integer"},
        corefile=_str(),
        nodeSelector=_map(),
        podDisruptionBudget=_obj(enabled={"type": "boolean"}, maxUnavailable={"type": "integer"}),
        resources=_RESOURCES,
        tolerations=_TOLERATIONS,
    ),
    "eks-pod-identity-agent": _obj(
        agent=_obj(additionalArgs=_map()), resources=_RESOURCES, tolerations=_TOLERATIONS
    ),
    "aws-ebs-csi-driver": _obj(
        controller=_obj(
            replicaCount={"type": "integer"}, extraVolumeTags=_map(), loggingFormat=_str()
        ),
        node=_obj(tolerateAllTaints={"type": "boolean"}, volumeAttachLimit={"type": "integer"}),
        defaultStorageClass=_obj(enabled={"type": "boolean"}),
    ),
}


_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _json_type(value: Any) -> str:
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "null")


def schema_errors(schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    """networknt json-schema-validator messages, as EKS reports them."""
    expected, found = schema.get("type"), _json_type(value)
    if expected and found != expected and not (expected == "number" and found == "integer"):
        return [f"{path}: {found} found, {expected} expected"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: does not have a value in the enumeration [{', '.join(schema['enum'])}]"]
    errors: list[str] = []
    if found == "object":
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(properties[key], item, f"{path}.{key}")
            elif extra is False:
                errors.append(
                    f"{path}.{key}: is not defined in the schema and the schema does not "
                    "allow additional properties"
                )
            elif isinstance(extra, dict):
                errors += schema_errors(extra, item, f"{path}.{key}")
    if found == "array" and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(schema["items"], item, f"{path}[{index}]")
    return errors


def check_configuration(name: str, text: str | None, cluster: str) -> None:
    if not text:
        return
    prefix = "ConfigurationValue provided in request is not supported: "
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise _invalid(f"{prefix}Json schema validation failed", cluster, name) from None
    errors = schema_errors(SCHEMAS[name], value)
    if errors:
        raise _invalid(
            f"{prefix}Json schema validation failed with error: [{', '.join(errors)}]",
            cluster,
            name,
        )


# Add-ons and their updates, kept on moto's cluster object (gone when the cluster is).


@dataclass(slots=True)
class Addon:
    name: str
    cluster: str
    version: str
    arn: str
    created_at: datetime
    modified_at: datetime
    status: str = "CREATING"
    role: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    configuration: str | None = None
    resolve_conflicts: str | None = None

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "addonName": self.name,
            "clusterName": self.cluster,
            "status": self.status,
            "addonVersion": self.version,
            "health": {"issues": []},
            "addonArn": self.arn,
            "createdAt": epoch(self.created_at),
            "modifiedAt": epoch(self.modified_at),
            "tags": self.tags,
            "publisher": "eks",
            "owner": "aws",
            "podIdentityAssociations": [],
        }
        if self.role:
            payload["serviceAccountRoleArn"] = self.role
        if self.configuration:
            payload["configurationValues"] = self.configuration
        return payload


@dataclass(slots=True)
class _Store:
    addons: dict[str, Addon] = field(default_factory=dict)
    updates: dict[str, list[EksUpdate]] = field(default_factory=dict)


def _cluster(state: TwinState, name: str) -> Any:
    return eks_clusters.cluster(state, name)


def _store(cluster: Any) -> _Store:
    return eks_clusters.attached(cluster, _ATTR, _Store)


def addons_of(state: TwinState, cluster: str) -> dict[str, Addon]:
    """The add-ons of ``cluster`` (for the rest of the twin)."""
    return _store(_cluster(state, cluster)).addons


def _get(store: _Store, cluster: str, name: str) -> Addon:
    addon = store.addons.get(name)
    if addon is None:
        raise eks_clusters.not_found(f"No addon: {name} found in cluster: {cluster}", cluster, name)
    return addon


def _check_version(name: str, version: str, kubernetes: str, cluster: str) -> None:
    compat = version_table()[name].get(version)
    if compat is None:
        raise _invalid("Addon version specified is not supported", cluster, name)
    if _minor(kubernetes) not in compat:
        raise _invalid(
            f"Addon version specified is not supported in {_minor(kubernetes)} kubernetes version",
            cluster,
            name,
        )


def _check_resolve(value: Any, cluster: str, name: str) -> str | None:
    if value is None or value in RESOLVE:
        return None if value is None else str(value)
    raise _invalid(
        f"1 validation error detected: Value '{value}' at 'resolveConflicts' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(RESOLVE)}]",
        cluster,
        name,
    )


def _record(
    state: TwinState, store: _Store, addon: Addon, params: list[dict[str, str]]
) -> EksUpdate:
    update = EksUpdate(
        id=str(mock_random.uuid4()),
        type="AddonUpdate",
        params=params,
        created_at=state.now(),
        cluster=addon.cluster,
    )
    store.updates.setdefault(addon.name, []).append(update)
    return update


def _params(addon: Addon) -> list[dict[str, str]]:
    params = [{"type": "AddonVersion", "value": addon.version}]
    if addon.resolve_conflicts:
        params.append({"type": "ResolveConflicts", "value": addon.resolve_conflicts})
    if addon.configuration is not None:
        params.append({"type": "ConfigurationValues", "value": addon.configuration})
    return params


def _busy(store: _Store, addon: Addon) -> None:
    running = next((u for u in store.updates.get(addon.name, []) if u.status == "InProgress"), None)
    if running is not None or addon.status not in ("ACTIVE", "DEGRADED", "UPDATE_FAILED"):
        raise ResourceInUseException(
            clusterName=addon.cluster,
            nodegroupName=None,
            addonName=addon.name,
            message=f"Addon {addon.name} cannot be updated as it is currently in "
            f"{addon.status} state",
        )


def create(
    state: TwinState,
    cluster_name: str,
    request: dict[str, Any],
    operation: Operation | None = None,
) -> Addon:
    """CreateAddon; ``operation`` (a CloudFormation resource's) finishes with it."""
    cluster = _cluster(state, cluster_name)
    store = _store(cluster)
    name = str(request.get("addonName", ""))
    minor = _minor(cluster.version)
    if name not in _TYPES or default_version(name, minor) is None:
        raise _invalid(
            f"Addon {name} specified is not supported in {minor} kubernetes version",
            cluster_name,
            name,
        )
    if name in store.addons:
        raise ResourceInUseException(
            clusterName=cluster_name, nodegroupName=None, addonName=name,
            message="Addon already exists.",
        )  # fmt: skip
    version = str(request.get("addonVersion") or default_version(name, minor))
    _check_version(name, version, minor, cluster_name)
    resolve = _check_resolve(request.get("resolveConflicts"), cluster_name, name)
    configuration = request.get("configurationValues")
    check_configuration(name, configuration, cluster_name)
    now = state.now()
    addon = Addon(
        name=name,
        cluster=cluster_name,
        version=version,
        arn=f"arn:aws:eks:{state.region}:{state.account_id}:addon/{cluster_name}/{name}/"
        f"{mock_random.uuid4()}",
        created_at=now,
        modified_at=now,
        role=request.get("serviceAccountRoleArn"),
        tags=dict(request.get("tags") or {}),
        configuration=configuration,
        resolve_conflicts=resolve,
    )
    store.addons[name] = addon
    update = _record(state, store, addon, _params(addon))
    _finish_later(state, addon, update, "ACTIVE", operation)
    return addon


def _finish_later(
    state: TwinState,
    addon: Addon,
    update: EksUpdate,
    then: str | None,
    operation: Operation | None = None,
) -> None:
    def complete() -> None:
        update.status = "Successful"
        addon.modified_at = state.now()
        if then is None:
            store = getattr(_cluster_or_none(state, addon.cluster), _ATTR, None)
            if store is not None and store.addons.get(addon.name) is addon:
                del store.addons[addon.name]
        else:
            addon.status = then
            applied = (addon.cluster, addon.name, addon.version, addon.configuration)
            for hook in list(state.hooks.addon_applied):
                state.defer(functools.partial(hook, *applied))
        if operation is not None:  # the stack update waiting for it goes on
            operation.finish()

    state.call_later(ADDON_SECONDS, complete)


def _cluster_or_none(state: TwinState, name: str) -> Any:
    return eks_backends[state.account_id][state.region].clusters.get(name)


def update(
    state: TwinState,
    cluster_name: str,
    name: str,
    request: dict[str, Any],
    operation: Operation | None = None,
) -> EksUpdate:
    """UpdateAddon; ``operation`` (a CloudFormation resource's) finishes with it."""
    cluster = _cluster(state, cluster_name)
    store = _store(cluster)
    addon = _get(store, cluster_name, name)
    _busy(store, addon)
    version = str(request.get("addonVersion") or addon.version)
    _check_version(name, version, _minor(cluster.version), cluster_name)
    resolve = _check_resolve(request.get("resolveConflicts"), cluster_name, name)
    configuration = request.get("configurationValues")
    check_configuration(name, configuration, cluster_name)
    addon.version = version
    addon.resolve_conflicts = resolve
    if configuration is not None:
        addon.configuration = configuration or None
    if request.get("serviceAccountRoleArn") is not None:
        addon.role = request["serviceAccountRoleArn"] or None
    addon.status = "UPDATING"
    addon.modified_at = state.now()
    params = [{"type": "AddonVersion", "value": version}]
    if resolve:
        params.append({"type": "ResolveConflicts", "value": resolve})
    if configuration is not None:
        params.append({"type": "ConfigurationValues", "value": configuration})
    if request.get("serviceAccountRoleArn") is not None:
        params.append({"type": "ServiceAccountRoleArn", "value": request["serviceAccountRoleArn"]})
    record = _record(state, store, addon, params)
    _finish_later(state, addon, record, "ACTIVE", operation)
    return record


def delete(state: TwinState, cluster_name: str, name: str) -> Addon:
    store = _store(_cluster(state, cluster_name))
    addon = _get(store, cluster_name, name)
    if addon.status == "DELETING":
        return addon
    addon.status = "DELETING"
    addon.modified_at = state.now()
    record = _record(state, store, addon, _params(addon))
    _finish_later(state, addon, record, None)
    return addon


def updates(state: TwinState, cluster_name: str, name: str, update_id: str | None) -> Response:
    """ListUpdates/DescribeUpdate with ``addonName``."""
    store = _store(_cluster(state, cluster_name))
    found = store.updates.get(name)
    if found is None:
        raise eks_clusters.not_found(
            f"No addon: {name} found in cluster: {cluster_name}", cluster_name, name
        )
    if update_id is None:
        return _ok({"updateIds": [u.id for u in found]})
    for record in found:
        if record.id == update_id:
            return _ok({"update": record.to_json()})
    raise eks_clusters.not_found(f"No update found for ID: {update_id}.", cluster_name, name)


def handle(state: TwinState, method: str, path: str, query: str, body: bytes) -> Response | None:
    """The add-on routes (raising moto's EKSError), or None if ``path`` is not one."""
    path = unquote(path)
    args = {k: v[0] for k, v in parse_qs(query).items()}
    if path == "/addons/supported-versions" and method == "GET":
        wanted = args.get("addonName")
        infos = [
            _addon_info(name, args.get("kubernetesVersion"))
            for name in _TYPES
            if wanted in (None, name)
        ]
        listed = parse_qs(query)
        infos = [
            info
            for info in infos
            if info is not None
            and all(
                info[key] in listed.get(arg, [info[key]])
                for key, arg in (
                    ("type", "types"),
                    ("publisher", "publishers"),
                    ("owner", "owners"),
                )
            )
        ]
        return _ok({"addons": infos})
    if path == "/addons/configuration-schemas" and method == "GET":
        name, version = args.get("addonName", ""), args.get("addonVersion", "")
        if name not in SCHEMAS or version not in version_table()[name]:
            raise eks_clusters.not_found(
                f"No configuration schema found for addon: {name}, version: {version}",
                addon=name,
            )
        return _ok(
            {
                "addonName": name,
                "addonVersion": version,
                "configurationSchema": json.dumps(
                    {"$schema": "http://json-schema.org/draft-07/schema#", **SCHEMAS[name]}
                ),
                "podIdentityConfiguration": [],
            }
        )
    match = _ADDONS.match(path)
    return None if match is None else _cluster_route(state, method, match, body)


def _cluster_route(
    state: TwinState, method: str, match: re.Match[str], body: bytes
) -> Response | None:
    cluster, name, verb = match.group(1), match.group(2), match.group(3)
    request = json.loads(body or b"{}") if method == "POST" else {}
    if name is None and method == "GET":
        return _ok({"addons": sorted(addons_of(state, cluster))})
    if name is None and method == "POST":
        return _ok({"addon": create(state, cluster, request).to_json()})
    if name is not None and verb and method == "POST":
        return _ok({"update": update(state, cluster, name, request).to_json()})
    if name is not None and not verb and method == "GET":
        return _ok({"addon": _get(addons_of_store(state, cluster), cluster, name).to_json()})
    if name is not None and not verb and method == "DELETE":
        return _ok({"addon": delete(state, cluster, name).to_json()})
    return None  # pragma: no cover - botocore sends no other method here


def addons_of_store(state: TwinState, cluster: str) -> _Store:
    return _store(_cluster(state, cluster))
