"""A stand-in for the kubernetes ``ApiClient`` under a real :class:`KubeReader`: every
request is answered by a test's ``route`` (or raises what it returns), with no network.
The reader's retries, timeouts and status handling run unchanged on top of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from kubernetes.client import ApiClient

from upgrader.adapters.kube import KubeReader

# (status, JSON body, headers), or an exception the transport raises
Answer = tuple[int, dict[str, Any], dict[str, str]] | BaseException
Route = Callable[[str, str], Answer]


class _Response:
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        self.status = status
        self._data = json.dumps(body).encode()
        self._headers = headers

    def read(self) -> bytes:
        return self._data

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self._headers.get(name, default)


class ScriptedApi:
    """``param_serialize`` and ``call_api`` as KubeReader uses them; ``sent`` records
    (method, path, timeout) of every attempt."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.sent: list[tuple[str, str, object]] = []

    def param_serialize(self, **request: Any) -> tuple[str, str, dict[str, str], Any, None]:
        return request["method"], request["resource_path"], request["header_params"], None, None

    def call_api(
        self, method: str, url: str, *, _request_timeout: object = None, **_: Any
    ) -> _Response:
        self.sent.append((method, url, _request_timeout))
        answer = self.route(method, url)
        if isinstance(answer, BaseException):
            raise answer
        return _Response(*answer)

    def close(self) -> None:
        pass


def scripted_reader(
    route: Route, sleeps: list[float] | None = None
) -> tuple[KubeReader, ScriptedApi]:
    """A KubeReader on a :class:`ScriptedApi`; its retry pauses are recorded in ``sleeps``
    instead of slept."""
    api = ScriptedApi(route)
    pauses = sleeps if sleeps is not None else []
    reader = KubeReader(
        cast(ApiClient, api), "Kubernetes API https://k8s.test", sleep=pauses.append
    )
    return reader, api
