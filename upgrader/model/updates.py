"""EKS's record of a cluster's updates (``ListUpdates`` / ``DescribeUpdate``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

VERSION_UPDATE = "VersionUpdate"
VERSION_ROLLBACK = "VersionRollback"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterUpdate:
    """One control-plane update: its type, status, the version it sets and its start."""

    id: str
    type: str  # VersionUpdate, VersionRollback, ...
    status: str  # InProgress, Successful, Failed, Cancelled
    version: str | None  # the Version parameter, for version updates and rollbacks
    created_at: datetime  # timezone-aware UTC; EKS gives no end time
