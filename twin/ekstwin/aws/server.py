"""The twin's HTTP front: moto's WSGI app behind one lock, a request log and extra routes."""

from __future__ import annotations

import email.utils
import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from ekstwin.aws import eks_routes, virtual_time
from ekstwin.aws.faults import AwsFaults
from ekstwin.aws.requestlog import RequestLog, action_of, is_mutating, service_of
from ekstwin.aws.state import TwinState
from upgrader.sandbox.directory import CLOCK_PATH

StartResponse = Callable[..., Any]
REQUESTS_PATH = "/_sandbox/requests"
FAULTS_PATH = "/_sandbox/faults"
LOG = logging.getLogger("ekstwin.aws")
INTERNAL_MESSAGE = "We encountered an internal error. Please try again."
_JSON_SERVICES = frozenset({"eks", "ssm"})


def internal_error(service: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """AWS's answer to a request that failed inside the service (HTTP 500, InternalFailure),
    in the service's protocol: JSON (EKS, SSM), EC2's XML or the query protocols' XML."""
    request_id = str(uuid.uuid4())
    if service in _JSON_SERVICES:
        body = json.dumps({"__type": "InternalFailure", "message": INTERNAL_MESSAGE}).encode()
        kind = "application/json"
        extra = [("x-amzn-ErrorType", "InternalFailure")]
    elif service == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>InternalError</Code><Message>{INTERNAL_MESSAGE}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        kind, extra = "text/xml", []
    else:
        body = (
            "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
            f"<Message>{INTERNAL_MESSAGE}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        kind, extra = "text/xml", []
    headers = [
        ("Content-Type", kind),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
        *extra,
    ]
    return "500 Internal Server Error", headers, body


def _backend_app(service: Any) -> Any:
    """moto's app for ``service``, built on its first request (importing that service's
    modules), then set on the virtual clock like the rest of moto."""
    app = create_backend_app(service)
    virtual_time.sweep()
    return app


def _aws_shaped(headers: list[tuple[str, str]], body: bytes) -> bool:
    kind = next((v for k, v in headers if k.lower() == "content-type"), "")
    start = body.lstrip()[:1]
    return "html" not in kind and start in (b"<", b"{")


class TwinApp:
    """WSGI middleware: log, serialise and extend every request to moto."""

    def __init__(self, state: TwinState, log: RequestLog) -> None:
        self.state = state
        self.log = log
        self.moto = DomainDispatcherApplication(_backend_app)
        self.faults = AwsFaults()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", ""))
        if path == REQUESTS_PATH:
            body = json.dumps(self.log.entries).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        if path == FAULTS_PATH and method == "POST":
            return self._fault(json.loads(raw or b"{}"), start_response)
        if path == CLOCK_PATH:
            return self._clock(method, raw, start_response)
        query = str(environ.get("QUERY_STRING", ""))
        service = service_of(environ)
        action = action_of(
            service, method, path, query, raw, str(environ.get("HTTP_X_AMZ_TARGET", ""))
        )
        fault = self.faults.draw(service) if service else None
        if fault is not None:
            kind, (status, headers, body) = fault
            start_response(status, headers)
            self.log.add({**_entry(service, action, method, path, status), "fault": kind})
            return [body]
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
            captured.append((status, list(headers)))
            return lambda data: None  # the body goes back through the return value

        try:
            with self.state.lock:
                extra = (
                    eks_routes.handle(self.state, method, path, query, raw)
                    if service == "eks"
                    else None
                )
                if extra is not None:
                    code, named, text = extra
                    reason = "OK" if code < 400 else "Error"
                    capture(f"{code} {reason}", list(named.items()))
                    body = text.encode()
                else:
                    body = b"".join(self.moto(environ, capture))
            status, headers = captured[-1]
            if status.startswith("500") and not _aws_shaped(headers, body):
                # moto (Flask) already logged the exception; answer as AWS does.
                status, headers, body = internal_error(service)
        except Exception:
            # AWS: a failure inside the service is an HTTP 500 InternalFailure; the twin
            # logs it and keeps serving.
            LOG.exception("%s %s failed inside the twin", service or "?", action or path)
            status, headers, body = internal_error(service)
        start_response(status, headers)
        result = [body]
        self.state.flush()
        self.log.add(_entry(service, action, method, path, status))
        return result

    def _clock(self, method: str, raw: bytes, start_response: StartResponse) -> Iterable[bytes]:
        """Test hook: the virtual now, and advancing a stepped clock (never under the lock:
        the tick loop needs it to run the time asked for)."""
        clock = self.state.clock
        status, answer = "200 OK", dict[str, object]()
        if method == "POST":
            spec = json.loads(raw or b"{}")
            seconds = spec.get("advance") if isinstance(spec, dict) else None
            if not isinstance(seconds, int | float) or seconds < 0 or not clock.stepped:
                status = "400 Bad Request"
                answer = {"message": "expected {advance: seconds >= 0} on a stepped clock"}
            else:
                try:
                    clock.request_advance(float(seconds))
                except TimeoutError as err:
                    status, answer = "503 Service Unavailable", {"message": str(err)}
        answer = {**answer, "now": clock.now(), "stepped": clock.stepped}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    def _fault(self, spec: Any, start_response: StartResponse) -> Iterable[bytes]:
        """Test hook: ``{"fail_stack_update": {"stack", "resource", "reason"}}`` and/or the
        rates ``{"aws_throttle": {service: rate}, "aws_5xx": {service: rate}}``."""
        problems: list[str] = []
        if not isinstance(spec, dict) or not spec:
            spec, problems = {}, ["expected a JSON object"]
        unknown = set(spec) - {"fail_stack_update", "aws_throttle", "aws_5xx"}
        known = "aws_5xx, aws_throttle, fail_stack_update"
        problems += [f"{k}: is not a fault (known: {known})" for k in sorted(unknown)]
        fail = spec.get("fail_stack_update")
        if fail is not None and (
            not isinstance(fail, dict) or not {"stack", "resource", "reason"} <= set(fail)
        ):
            problems.append("expected {fail_stack_update: {stack, resource, reason}}")
        rates = {k: v for k, v in spec.items() if k in ("aws_throttle", "aws_5xx")}
        if not problems:
            try:
                self.faults.configure(rates)
            except ValueError as err:
                problems.append(str(err))
        if problems:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return ["; ".join(problems).encode()]
        if fail is not None:
            with self.state.lock:
                self.state.stack_update_faults[str(fail["stack"])] = (
                    str(fail["resource"]),
                    str(fail["reason"]),
                )
        start_response("204 No Content", [])
        return []


class _RequestHandler(MotoRequestHandler):
    def date_time_string(self, timestamp: float | None = None) -> str:
        # AWS's Date header is AWS's now: the virtual clock that stamps its resources
        return email.utils.format_datetime(virtual_time.utcnow().replace(tzinfo=UTC), usegmt=True)


class TwinServer:
    """A threaded werkzeug server on 127.0.0.1 running :class:`TwinApp`."""

    def __init__(self, app: TwinApp, host: str, port: int) -> None:
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_RequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-twin", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _entry(service: str | None, action: str, method: str, path: str, status: str) -> Any:
    """One request-log entry (``GET /_sandbox/requests``)."""
    return {
        "service": service,
        "action": action,
        "method": method,
        "path": path,
        "status": int(status.split(maxsplit=1)[0]),
        "mutating": is_mutating(action, method),
        "time": time.time(),
    }
