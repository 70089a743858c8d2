"""API errors carried as Kubernetes ``Status`` objects (``kind: Status``, ``status: Failure``)."""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An API failure; :meth:`status` renders it the way kube-apiserver does."""

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        causes: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes

    def status(self) -> dict[str, Any]:
        """The ``Status`` object the server sends for this error."""
        details: dict[str, Any] = {}
        if self.name is not None:
            details["name"] = self.name
        if self.group is not None:
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = self.causes
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


class BadRequest(ApiError):  # noqa: N818 - Kubernetes reason names
    """400: malformed body, selector or namespace mismatch."""

    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):  # noqa: N818 - Kubernetes reason names
    """401: missing or wrong bearer token."""

    code = 401
    reason = "Unauthorized"


class Forbidden(ApiError):  # noqa: N818 - Kubernetes reason names
    """403: e.g. creating in a terminating namespace."""

    code = 403
    reason = "Forbidden"


class NotFound(ApiError):  # noqa: N818 - Kubernetes reason names
    """404: the object, resource or API version does not exist."""

    code = 404
    reason = "NotFound"


class MethodNotAllowed(ApiError):  # noqa: N818 - Kubernetes reason names
    """405: the verb is not supported on this path."""

    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(ApiError):  # noqa: N818 - Kubernetes reason names
    """409: create of a name that exists."""

    code = 409
    reason = "AlreadyExists"


class Conflict(ApiError):  # noqa: N818 - Kubernetes reason names
    """409: the write carried a stale ``metadata.resourceVersion``."""

    code = 409
    reason = "Conflict"


class Gone(ApiError):  # noqa: N818 - Kubernetes reason names
    """410: a watch asked for a resourceVersion older than the kept history."""

    code = 410
    reason = "Gone"


class Expired(ApiError):  # noqa: N818 - Kubernetes reason names
    """410: a watch or list from a resourceVersion the watch cache no longer has."""

    code = 410
    reason = "Expired"


class NotAcceptable(ApiError):  # noqa: N818 - Kubernetes reason names
    """406: no representation the Accept header allows."""

    code = 406
    reason = "NotAcceptable"


class UnsupportedMediaType(ApiError):  # noqa: N818 - Kubernetes reason names
    """415: a PATCH content type the server does not implement."""

    code = 415
    reason = "UnsupportedMediaType"


class Invalid(ApiError):  # noqa: N818 - Kubernetes reason names
    """422: the object fails validation."""

    code = 422
    reason = "Invalid"


class TooManyRequests(ApiError):  # noqa: N818 - Kubernetes reason names
    """429: an eviction blocked by a PodDisruptionBudget."""

    code = 429
    reason = "TooManyRequests"


class ServiceUnavailable(ApiError):  # noqa: N818 - Kubernetes reason names
    """503: the apiserver could not reach what it proxies to (a node's port)."""

    code = 503
    reason = "ServiceUnavailable"


class InternalError(ApiError):
    """500: e.g. a pod covered by more than one PodDisruptionBudget."""

    code = 500
    reason = "InternalError"


def not_found(resource: str, name: str, group: str = "") -> NotFound:
    """``pods "x" not found`` as the real server words it."""
    return NotFound(
        f'{_qualified(resource, group)} "{name}" not found',
        name=name,
        group=group or None,
        kind=resource,
    )


def already_exists(resource: str, name: str, group: str = "") -> AlreadyExists:
    """``pods "x" already exists``."""
    return AlreadyExists(
        f'{_qualified(resource, group)} "{name}" already exists',
        name=name,
        group=group or None,
        kind=resource,
    )


def conflict(resource: str, name: str, group: str = "") -> Conflict:
    """The stale-resourceVersion message clients match on."""
    return Conflict(
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": '
        "the object has been modified; please apply your changes to the latest version "
        "and try again",
        name=name,
        group=group or None,
        kind=resource,
    )


def invalid(kind: str, name: str, field: str, value: Any, detail: str, group: str = "") -> Invalid:
    """``Kind "name" is invalid: field: Invalid value: ...`` with one cause."""
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    cause = f"Invalid value: {shown}: {detail}"
    return Invalid(
        f'{kind} "{name}" is invalid: {field}: {cause}',
        name=name,
        group=group or None,
        kind=kind,
        causes=[{"reason": "FieldValueInvalid", "message": cause, "field": field}],
    )


def no_such_resource() -> NotFound:
    """The 404 for an unknown resource or an API version no longer served."""
    return NotFound("the server could not find the requested resource")


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource
