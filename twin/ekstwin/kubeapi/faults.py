"""Injected API-server faults: a fraction of requests answered 429 or 500.

As kube-apiserver's priority-and-fairness does when it sheds load: 429 ``TooManyRequests``
with ``Retry-After: 1`` and a ``Status`` whose ``details.retryAfterSeconds`` is 1; or a 500
``InternalError``. Decided when a request arrives (a watch already streaming is never cut),
never for ``/version``, the health checks or the sandbox's own paths. ``POST
/_sandbox/faults`` with ``{"apiserver_429": rate, "apiserver_500": rate}`` sets the rates.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

FAULTS_PATH = "/_sandbox/faults"
KINDS = ("apiserver_429", "apiserver_500")
EXEMPT = frozenset({"/version", "/healthz", "/readyz", "/livez"})
EXEMPT_PREFIXES = ("/_sandbox/", "/healthz/", "/livez/", "/readyz/")
SEED = 20190601
RETRY_AFTER_SECONDS = 1


def rate_problems(key: str, value: Any) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return [f"{key}: {value!r} must be a number from 0 to 1"]
    return []


def _status(code: int, reason: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


class ApiFaults:
    """The emulator's fault rates; :meth:`intercept` answers a faulted request."""

    def __init__(self, seed: int = SEED) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.rates: dict[str, float] = dict.fromkeys(KINDS, 0.0)

    def configure(self, spec: Mapping[str, Any]) -> None:
        """Set the rates named in ``spec``; ValueError lists every problem."""
        problems = [
            f"{k}: is not a fault (known: {', '.join(KINDS)})" for k in spec if k not in KINDS
        ]
        problems += [p for k in KINDS if k in spec for p in rate_problems(k, spec[k])]
        if problems:
            raise ValueError("; ".join(problems))
        with self._lock:
            self.rates.update({k: float(spec[k]) for k in KINDS if k in spec})

    def draw(self, path: str) -> str | None:
        """The fault (a KINDS entry) this request gets, or None."""
        if path in EXEMPT or path.startswith(EXEMPT_PREFIXES):
            return None
        with self._lock:
            for kind in KINDS:
                rate = self.rates[kind]
                if rate > 0 and self._random.random() < rate:
                    return kind
        return None

    def intercept(
        self, handler: BaseHTTPRequestHandler, method: str, path: str, raw: bytes
    ) -> int | None:
        """Answer the request when it is the faults endpoint or is to fail (its status);
        None: serve it as usual."""
        if path == FAULTS_PATH and method == "POST":
            try:
                spec = json.loads(raw or b"{}")
                if not isinstance(spec, dict):
                    raise ValueError("expected a JSON object")
                self.configure(spec)
            except ValueError as err:
                return _send(handler, 400, {"message": str(err)}, [])
            return _send(handler, 200, dict(self.rates), [])
        kind = self.draw(path)
        if kind == "apiserver_429":
            body = _status(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
                {"retryAfterSeconds": RETRY_AFTER_SECONDS},
            )
            return _send(handler, 429, body, [("Retry-After", str(RETRY_AFTER_SECONDS))])
        if kind == "apiserver_500":
            body = _status(500, "InternalError", "Internal error occurred: injected fault", {})
            return _send(handler, 500, body, [])
        return None


def _send(
    handler: BaseHTTPRequestHandler, code: int, body: Any, headers: list[tuple[str, str]]
) -> int:
    data = json.dumps(body, separators=(",", ":")).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
    return code
