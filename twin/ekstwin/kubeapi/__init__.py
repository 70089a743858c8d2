"""An in-memory Kubernetes API server the official client talks to over real HTTP.

:class:`Store` holds the objects (controllers use it in-process); :class:`KubeApiServer`
serves it on 127.0.0.1. Nothing here imports the ``kubernetes`` client.
"""

from __future__ import annotations

from ekstwin.kubeapi.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Expired,
    Forbidden,
    Gone,
    InternalError,
    Invalid,
    NotFound,
    TooManyRequests,
    UnsupportedMediaType,
)
from ekstwin.kubeapi.server import KubeApiServer
from ekstwin.kubeapi.store import Store

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Conflict",
    "Expired",
    "Forbidden",
    "Gone",
    "InternalError",
    "Invalid",
    "KubeApiServer",
    "NotFound",
    "Store",
    "TooManyRequests",
    "UnsupportedMediaType",
]
