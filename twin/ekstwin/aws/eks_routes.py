"""EKS REST routes moto lacks: UpdateClusterVersion, ListUpdates, DescribeUpdate,
UpdateNodegroupVersion. Called by the server under the twin lock."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.eks.exceptions import EKSError, ResourceNotFoundException
from moto.eks.models import eks_backends

from ekstwin.aws import eks_addons, eks_insights, eks_resources, eks_updates
from ekstwin.aws.state import TwinState

Response = tuple[int, dict[str, str], str]

_CLUSTER_UPDATES = re.compile(r"^/clusters/([^/]+)/updates(?:/([^/]+))?$")
_NODEGROUP_VERSION = re.compile(r"^/clusters/([^/]+)/node-groups/([^/]+)/update-version$")


def _ok(payload: dict[str, Any]) -> Response:
    return 200, {"Content-Type": "application/json"}, json.dumps(payload)


def _not_found(message: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None,
        message=message,
    )  # fmt: skip


def handle(state: TwinState, method: str, path: str, query: str, body: bytes) -> Response | None:
    """The response for one of the routes above, or None to let moto answer."""
    path = unquote(path)
    try:
        match = _CLUSTER_UPDATES.match(path)
        if match:
            return _cluster_updates(state, method, match.group(1), match.group(2), query, body)
        match = _NODEGROUP_VERSION.match(path)
        if match and method == "POST":
            return _nodegroup_version(state, match.group(1), match.group(2), body)
        found = eks_addons.handle(state, method, path, query, body)
        return found if found is not None else eks_insights.handle(state, method, path, body)
    except EKSError as error:
        headers: dict[str, str] = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": str(error.TYPE),
        }
        return int(error.STATUS), headers, str(error.description)
    return None


def _cluster_updates(
    state: TwinState, method: str, name: str, update_id: str | None, query: str, body: bytes
) -> Response | None:
    backend = eks_backends[state.account_id][state.region]
    if name not in backend.clusters:
        raise _not_found(f"No cluster found for name: {name}.")
    addon = parse_qs(query).get("addonName")
    if addon and method == "GET":
        return eks_addons.updates(state, name, addon[0], update_id)
    named = parse_qs(query).get("nodegroupName")
    nodegroup = named[0] if named else None
    updates = [u for u in state.eks_updates.get(name, []) if u.nodegroup == nodegroup]
    if method == "POST" and update_id is None:
        request = json.loads(body or b"{}")
        update = eks_updates.start_cluster_version_update(
            state,
            backend,
            name,
            str(request.get("version", "")),
            force=bool(request.get("force")),
            rollback_timeout=(request.get("rollbackConfig") or {}).get("timeoutMinutes"),
        )
        return _ok({"update": update.to_json()})
    if method == "GET" and update_id is None:
        return _ok({"updateIds": [u.id for u in updates]})
    if method == "GET":
        for update in updates:
            if update.id == update_id:
                return _ok({"update": update.to_json()})
        raise _not_found(f"No update found for ID: {update_id}.")
    return None


def _nodegroup_version(state: TwinState, cluster: str, name: str, body: bytes) -> Response:
    backend = eks_backends[state.account_id][state.region]
    if cluster not in backend.clusters:
        raise _not_found(f"No cluster found for name: {cluster}.")
    nodegroup = backend.clusters[cluster].nodegroups.get(name)
    if nodegroup is None:
        raise _not_found(f"No node group found for name: {name}.")
    request = json.loads(body or b"{}")
    version = str(request.get("version") or backend.clusters[cluster].version)
    release = str(request.get("releaseVersion") or eks_resources.default_release(version))
    update = eks_resources.start_nodegroup_version_update(
        state, nodegroup, version, release, state.begin(f"nodegroup {name}")
    )
    return _ok({"update": update.to_json()})
