"""The log of every API request the twin served (what the sandbox shows as AWS calls)."""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import parse_qs

MUTATING_PREFIXES = (
    "Create", "Update", "Delete", "Put", "Run", "Terminate", "Attach", "Detach", "Assign",
    "Unassign", "Set", "Execute", "Suspend", "Resume", "Start", "Stop", "Reboot", "Modify",
    "Register", "Deregister", "Associate", "Disassociate", "Tag", "Untag", "Add", "Remove",
    "Enter", "Exit", "Complete", "Cancel", "Continue", "Signal", "Enable", "Disable",
    "Allocate", "Release", "Replace", "Reset", "Batch", "Import", "Authorize", "Revoke",
)  # fmt: skip

# EKS is a REST API: (method, path pattern) -> action name
_EKS_ROUTES = (
    ("POST", r"/clusters", "CreateCluster"),
    ("GET", r"/clusters", "ListClusters"),
    ("GET", r"/clusters/[^/]+", "DescribeCluster"),
    ("DELETE", r"/clusters/[^/]+", "DeleteCluster"),
    ("POST", r"/clusters/[^/]+/update-config", "UpdateClusterConfig"),
    ("POST", r"/clusters/[^/]+/updates", "UpdateClusterVersion"),
    ("GET", r"/clusters/[^/]+/updates", "ListUpdates"),
    ("GET", r"/clusters/[^/]+/updates/[^/]+", "DescribeUpdate"),
    ("POST", r"/clusters/[^/]+/node-groups", "CreateNodegroup"),
    ("GET", r"/clusters/[^/]+/node-groups", "ListNodegroups"),
    ("GET", r"/clusters/[^/]+/node-groups/[^/]+", "DescribeNodegroup"),
    ("DELETE", r"/clusters/[^/]+/node-groups/[^/]+", "DeleteNodegroup"),
    ("POST", r"/clusters/[^/]+/node-groups/[^/]+/update-config", "UpdateNodegroupConfig"),
    ("POST", r"/clusters/[^/]+/node-groups/[^/]+/update-version", "UpdateNodegroupVersion"),
    ("GET", r"/clusters/[^/]+/addons", "ListAddons"),
    ("GET", r"/clusters/[^/]+/addons/[^/]+", "DescribeAddon"),
    ("POST", r"/clusters/[^/]+/addons", "CreateAddon"),
    ("POST", r"/clusters/[^/]+/addons/[^/]+/update", "UpdateAddon"),
    ("GET", r"/addons/supported-versions", "DescribeAddonVersions"),
    ("DELETE", r"/clusters/[^/]+/addons/[^/]+", "DeleteAddon"),
    ("GET", r"/addons/configuration-schemas", "DescribeAddonConfiguration"),
    ("POST", r"/clusters/[^/]+/fargate-profiles", "CreateFargateProfile"),
    ("GET", r"/clusters/[^/]+/fargate-profiles", "ListFargateProfiles"),
    ("GET", r"/clusters/[^/]+/fargate-profiles/[^/]+", "DescribeFargateProfile"),
    ("DELETE", r"/clusters/[^/]+/fargate-profiles/[^/]+", "DeleteFargateProfile"),
    ("POST", r"/clusters/[^/]+/insights", "ListInsights"),
    ("GET", r"/clusters/[^/]+/insights/[^/]+", "DescribeInsight"),
    ("GET", r"/tags/.+", "ListTagsForResource"),
    ("POST", r"/tags/.+", "TagResource"),
    ("DELETE", r"/tags/.+", "UntagResource"),
)


def service_of(environ: dict[str, Any]) -> str:
    """The service from the SigV4 credential scope (``.../<region>/<service>/aws4_request``)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
    return match.group(1) if match else ""


def action_of(service: str, method: str, path: str, query: str, body: bytes, target: str) -> str:
    """The API action: ``Action`` (query protocols), ``X-Amz-Target`` (JSON) or the REST route."""
    if target:
        return target.rsplit(".", 1)[-1]
    for source in (query, body.decode("utf-8", "replace")):
        found = parse_qs(source).get("Action")
        if found:
            return found[0]
    if service == "eks":
        for verb, pattern, name in _EKS_ROUTES:
            if verb == method and re.fullmatch(pattern, path):
                return name
    return f"{method} {path}"


def is_mutating(action: str, method: str) -> bool:
    if " " in action:  # an unknown REST route
        return method not in ("GET", "HEAD")
    return action.startswith(MUTATING_PREFIXES)


class RequestLog:
    """Thread-safe list of request entries."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """A copy: dicts with service, action, method, path, status, mutating."""
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
