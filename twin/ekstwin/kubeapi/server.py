"""The HTTP face of the store: a kube-apiserver the official client uses unchanged.

Standard library only: ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, and
chunked transfer encoding for watch streams.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ekstwin.kubeapi import authorization, discovery, errors, node_access, tables, websocket
from ekstwin.kubeapi.auth import Authenticator, TokenError
from ekstwin.kubeapi.errors import ApiError, BadRequest, InternalError, Unauthorized
from ekstwin.kubeapi.faults import ApiFaults
from ekstwin.kubeapi.fielderrors import forbidden, invalid, invalid_error
from ekstwin.kubeapi.node_access import NodeAgent, NodeProxyRoute, PodRoute
from ekstwin.kubeapi.openapi import V3_SINCE, OpenApi, accepts_protobuf_v2
from ekstwin.kubeapi.options import (
    WriteOptions,
    parse_body,
    parse_json,
    parse_yaml,
    patch_kind,
    write_options,
)
from ekstwin.kubeapi.routes import Route, parse_resource_path
from ekstwin.kubeapi.scale import AUTOSCALING_V1, SCALE, has_scale, scale_api_version
from ekstwin.kubeapi.selectors import field_selector_for, label_selector
from ekstwin.kubeapi.store import Store
from ekstwin.kubeapi.watch import WatchFilter
from ekstwin.kubeapi.watchcache import WatchEvent

log = logging.getLogger(__name__)

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/livez"})
PUBLIC_PATHS = frozenset({"/version", "/version/", *HEALTH_PATHS})
HEALTH_PREFIXES = ("/healthz/", "/livez/", "/readyz/")
REQUESTS_PATH = "/_sandbox/requests"
RV_MATCHES = ("Exact", "NotOlderThan")
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)
WATCH_POLL_SECONDS = 0.25
BOOKMARK_SECONDS = 1.0


class KubeApiServer:
    """Serve ``store`` over HTTP on 127.0.0.1; ``auth`` (or a static ``token``) demands
    ``Authorization: Bearer`` on every path but the public ones (401 otherwise). With
    ``anonymous``, a request without any ``Authorization`` is let in (kubectl sends no
    credentials over plain HTTP), but a token that is sent must still be valid.

    ``now`` is the server's clock (the ages in ``kubectl get`` tables count from it).
    """

    def __init__(
        self,
        store: Store,
        *,
        token: str | None = None,
        now: Callable[[], float] = time.time,
        auth: Authenticator | None = None,
        anonymous: bool = False,
    ) -> None:
        self.store = store
        self.anonymous = anonymous
        self.token = token
        self.now = now
        # Without ``auth`` or ``token`` every request is let in (kubectl over plain HTTP
        # sends no credentials); ``token`` alone is a static token (any EKS token refused).
        if auth is None and token is not None:
            auth = Authenticator(now, static_tokens=[token], eks_tokens=False)
        self.auth = auth
        self.requests: list[dict[str, Any]] = []
        self.faults = ApiFaults()  # injected 429/500s (scenario faults, /_sandbox/faults)
        self.openapi = OpenApi()
        self.nodes: NodeAgent | None = None  # pods/log, pods/exec, nodes/proxy (none: 404)
        self.url = ""
        self._log_lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen and serve in a background thread; returns ``http://host:port``."""
        if self._httpd is not None:
            raise RuntimeError("KubeApiServer is already running")
        httpd = _Server((host, port), _Handler)
        httpd.api = self
        self._httpd = httpd
        self.url = f"http://{host}:{httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="kubeapi", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, end watch streams and close client connections."""
        httpd = self._httpd
        if httpd is None:
            return
        httpd.stopping = True
        self.store.wake_watchers()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def record(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        status: int,
        credential: str | None = None,
    ) -> None:
        """Log one request; ``credential`` is the token's fingerprint, never the token."""
        entry: dict[str, Any] = {"method": method, "path": path, "query": query, "status": status}
        if credential is not None:
            entry["credential"] = credential
        with self._log_lock:
            self.requests.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return list(self.requests)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: KubeApiServer
    stopping = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate small writes
    server: _Server
    _table_columns_sent = False

    # --- plumbing ----------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        self.server.track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    @property
    def api(self) -> KubeApiServer:
        return self.server.api

    @property
    def store(self) -> Store:
        return self.server.api.store

    def _handle(self, method: str) -> None:
        """Answer one request; nothing a client sends gets past this without an answer:
        API errors become their Status, anything unexpected a logged 500."""
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        self._multi = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in self._multi.items()}
        self._warnings: list[str] = []
        self._credential: str | None = None
        status = 500
        try:
            raw = self._read_body()
            if path == REQUESTS_PATH:
                status = 200
                self._send_json(200, self.api.request_log())
                return
            self._credential = self._authenticate(path)
            faulted = self.api.faults.intercept(self, method, path, raw)
            if faulted is not None:
                status = faulted
                return
            status = self._dispatch(method, path, query, raw)
        except ApiError as exc:
            status = exc.code
            self._send_json(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            log.exception("kubeapi: %s %s failed", method, self.path)
            error = InternalError(f"Internal error occurred: {exc}")
            with contextlib.suppress(OSError):
                self._send_json(error.code, error.status())
        finally:
            if path != REQUESTS_PATH:
                self.api.record(method, parts.path, query, status, self._credential)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            self.close_connection = True
            raise BadRequest("invalid Content-Length header") from exc
        if length < 0:
            self.close_connection = True
            raise BadRequest("invalid Content-Length header")
        return self.rfile.read(length) if length else b""

    def _authenticate(self, path: str) -> str | None:
        """The EKS-token fingerprint of an authenticated request (None: static, public, open).

        Like kube-apiserver, a missing or refused token is a bare 401 ``Unauthorized``;
        why it was refused is logged here, never sent back (nor is the token logged).
        """
        auth = self.api.auth
        if auth is None or path in PUBLIC_PATHS or path.startswith(HEALTH_PREFIXES):
            return None
        if self.api.anonymous and "Authorization" not in self.headers:
            return None
        try:
            return auth.authenticate(self.headers.get("Authorization", "")).credential
        except TokenError as exc:
            log.info("kubeapi: %s %s: 401: %s", self.command, path, exc)
            raise Unauthorized("Unauthorized") from None

    def _send_json(self, code: int, body: Any) -> None:
        self._send_bytes(code, json.dumps(body, separators=(",", ":")).encode(), "application/json")

    def _send_bytes(self, code: int, data: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for warning in getattr(self, "_warnings", []):
            self.send_header("Warning", f'299 - "{_escape_warning(warning)}"')
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # --- routing -----------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, query: dict[str, str], raw: bytes) -> int:
        segments = [unquote(s) for s in path.split("/") if s]  # names arrive percent-encoded
        if path == "/version" or path in HEALTH_PATHS or path.startswith(HEALTH_PREFIXES):
            _only_get(method, path)
            if path == "/version":
                self._send_json(200, discovery.version_info(self.store.minor))
            else:
                self._send_text(200, "ok")
            return 200
        if segments[:1] == ["openapi"]:
            _only_get(method, path)
            return self._openapi(segments[1:])
        if not segments or segments[0] not in {"api", "apis"}:
            raise errors.no_such_resource()
        discovered = self._discovery(segments)
        if discovered is not None:
            _only_get(method, path)
            self._send_json(200, discovered)
            return 200
        if len(segments) < (3 if segments[0] == "api" else 4):
            raise errors.no_such_resource()
        node_route = node_access.parse(segments)
        if node_route is not None and self.api.nodes is not None:
            return self._node_request(self.api.nodes, method, node_route, query)
        with self.store.lock:
            route = parse_resource_path(segments, self.store.registry, self.store.minor)
        if route.rtype.verbs:  # create-only reviews
            if method != "POST" or route.name is not None or route.watch_path:
                raise errors.MethodNotAllowed(
                    "the server does not allow this method on the requested resource"
                )
            return self._review(route, raw)
        handler = {
            "GET": self._get,
            "POST": self._post,
            "PUT": self._put,
            "PATCH": self._patch,
            "DELETE": self._delete,
        }[method]
        return handler(route, query, raw)

    # --- what the apiserver hands to a node -----------------------------------------------

    def _node_request(
        self, agent: NodeAgent, method: str, route: PodRoute | NodeProxyRoute, query: dict[str, str]
    ) -> int:
        """``nodes/{node}[:port]/proxy/…``, ``pods/{pod}/log`` and ``pods/{pod}/exec``."""
        if isinstance(route, NodeProxyRoute):
            node = self.store.get("nodes", route.node)
            answer = agent.proxy(node, route.port, route.path, urlsplit(self.path).query)
            if answer.refused:
                address = node_access.node_address(node)
                raise errors.ServiceUnavailable(
                    f"error trying to reach service: dial tcp {address}:{route.port}: "
                    "connect: connection refused"
                )
            self._send_bytes(answer.status, answer.body, answer.content_type)
            return answer.status
        pod = self.store.get("pods", route.name, namespace=route.namespace)
        container = node_access.container_of(pod, query.get("container"))
        node_access.node_of(pod)
        waiting = node_access.waiting_reason(pod, container)
        if route.subresource == "log":
            if method != "GET":
                raise errors.MethodNotAllowed(
                    "the server does not allow this method on the requested resource"
                )
            if waiting is not None:
                raise BadRequest(
                    f'container "{container}" in pod "{route.name}" is waiting to start: {waiting}'
                )
            previous = query.get("previous") in {"true", "1"}
            lines = agent.pod_log(pod, container, previous=previous)
            body = node_access.render_log(lines, query, self.api.now())
            self._send_bytes(200, body, "text/plain")
            return 200
        if method not in {"GET", "POST"}:
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        command = self._multi.get("command", [])
        if not command:
            raise BadRequest("you must specify at least 1 command")
        if self.headers.get("Upgrade", "").lower() != "websocket":
            # kubectl falls back to SPDY only when the WebSocket upgrade fails; the twin
            # speaks WebSocket (kubectl >= 1.30, the Python client's stream()).
            raise BadRequest("Upgrade request required")
        protocol = websocket.choose_protocol(self.headers.get("Sec-WebSocket-Protocol", ""))
        if protocol is None:
            raise BadRequest("unable to upgrade: no channel protocol offered is supported")
        if waiting is not None:
            raise BadRequest(f'unable to upgrade connection: container not found ("{container}")')
        result = agent.exec(pod, container, command, tty=query.get("tty") in {"true", "1"})
        websocket.serve_exec(self, protocol, command, result)
        self.close_connection = True
        return 101

    def _openapi(self, rest: list[str]) -> int:
        store = self.store
        with store.lock:
            minor, registry = store.minor, store.registry
            git_version = discovery.version_info(minor)["gitVersion"]
            if rest == ["v2"]:
                answer = accepts_protobuf_v2(self.headers.get("Accept") or "")
                if answer is None:
                    raise errors.NotAcceptable(
                        "only the following media types are accepted: application/json, "
                        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
                    )
                if answer == "application/json":
                    data = self.api.openapi.v2_json(registry, minor, git_version)
                else:
                    data = self.api.openapi.v2_protobuf(registry, minor, git_version)
                self._send_bytes(200, data, answer)
                return 200
            if rest[:1] != ["v3"] or minor < V3_SINCE:
                raise errors.no_such_resource()
            if rest == ["v3"]:
                self._send_json(200, self.api.openapi.v3_index(registry, minor, git_version))
                return 200
            document = self.api.openapi.v3_document(
                registry, minor, git_version, "/".join(rest[1:])
            )
        if document is None:
            raise errors.no_such_resource()
        self._send_bytes(200, document, "application/json")
        return 200

    def _review(self, route: Route, raw: bytes) -> int:
        body = parse_body(raw, self.headers.get("Content-Type"))
        reviewed = authorization.review(route.rtype.key, route.api_version, body)
        self._send_json(201, reviewed)
        return 201

    def _options(
        self, kind: str, *, patch: str | None = None, body_dry_run: Any = None
    ) -> WriteOptions:
        return write_options(
            kind,
            self._multi,
            self.store.minor,
            user_agent=self.headers.get("User-Agent") or "",
            patch=patch,
            body_dry_run=body_dry_run,
        )

    def _check_fields(self, route: Route, options: WriteOptions, obj: dict[str, Any]) -> None:
        """``fieldValidation``: unknown fields refused (Strict) or warned about (Warn)."""
        if options.field_validation == "Ignore":
            return
        unknown = self.store.unknown_fields(route.rtype, route.api_version, obj)
        if not unknown:
            return
        problems = [f'unknown field "{field}"' for field in unknown]
        if options.field_validation == "Strict":
            kind, version = route.rtype.kind, route.version
            raise BadRequest(
                f'{kind} in version "{version}" cannot be handled as a {kind}: '
                f"strict decoding error: {', '.join(problems)}"
            )
        self._warnings.extend(problems)

    def _discovery(self, segments: list[str]) -> dict[str, Any] | None:
        store = self.store
        minor = store.minor
        if segments == ["api"]:
            return discovery.api_versions(self.api.url.removeprefix("http://"))
        if segments == ["apis"]:
            return discovery.api_group_list(store.registry, minor)
        if segments[0] == "api" and len(segments) == 2:
            found = discovery.resource_list(store.registry, minor, "", segments[1])
        elif segments[0] == "apis" and len(segments) == 2:
            found = discovery.api_group(store.registry, minor, segments[1])
        elif segments[0] == "apis" and len(segments) == 3:
            found = discovery.resource_list(store.registry, minor, segments[1], segments[2])
        else:
            return None
        if found is None:
            raise errors.no_such_resource()
        return found

    # --- verbs -------------------------------------------------------------------------

    def _emit(self, route: Route, obj: dict[str, Any]) -> dict[str, Any]:
        """Shallow copy carrying the request's apiVersion (stored objects are read-only)."""
        return {**obj, "apiVersion": route.api_version, "kind": route.rtype.kind}

    def _writable(self, route: Route) -> bool:
        """Whether PUT/PATCH may address ``route``: an object, its status or its scale."""
        return route.name is not None and (
            route.subresource in {None, "status"} or _is_scale(route)
        )

    def _scale_reply(self, route: Route, scale: dict[str, Any]) -> dict[str, Any]:
        """``scale`` (autoscaling/v1) as the Scale kind of the request's API version.

        Call with the store lock held, right after the write that returned ``scale``.
        """
        if scale_api_version(route.api_version) == AUTOSCALING_V1:
            return scale
        return self.store.get_scale(
            route.rtype.key,
            str(route.name),
            namespace=route.namespace,
            api_version=route.api_version,
        )

    def _get(self, route: Route, query: dict[str, str], _: bytes) -> int:
        if route.watch_path or query.get("watch") in {"true", "1"}:
            self._watch(route, query)
            return 200
        store = self.store
        if route.name is not None:
            if _is_scale(route):
                scale = store.get_scale(
                    route.rtype.key,
                    route.name,
                    namespace=route.namespace,
                    api_version=route.api_version,
                )
                self._send_json(200, scale)
                return 200
            if route.subresource not in {None, "status"}:
                raise errors.no_such_resource()
            obj = store.get(route.rtype.key, route.name, namespace=route.namespace)
            emitted = {**obj, "apiVersion": route.api_version}
            if route.subresource is None:
                meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                self._send_json(200, self._maybe_table(route, query, [emitted], meta, emitted))
            else:
                self._send_json(200, emitted)
            return 200
        body = self._list_body(route, query)
        self._send_json(200, self._maybe_table(route, query, body["items"], body["metadata"], body))
        return 200

    def _maybe_table(
        self,
        route: Route,
        query: dict[str, str],
        items: list[dict[str, Any]],
        list_meta: dict[str, Any],
        plain: dict[str, Any],
    ) -> dict[str, Any]:
        """A meta.k8s.io Table of ``items`` when the Accept header asks for one, else ``plain``."""
        version = tables.table_version(self.headers.get("Accept") or "", self.store.minor)
        if version is None:
            return plain
        return tables.build_table(
            route.rtype.key,
            items,
            now=self.api.now(),
            list_metadata=list_meta,
            include_object=query.get("includeObject"),
            version=version,
        )

    def _list_body(self, route: Route, query: dict[str, str]) -> dict[str, Any]:
        store = self.store
        token = query.get("continue")
        start = _decode_continue(token) if token else None
        limit = _int_param(query, "limit") or 0
        wanted, match = query.get("resourceVersion") or "", query.get("resourceVersionMatch")
        with store.lock:
            floor = store.history_floor(route.rtype.key)
            if start is not None and start[0] < floor:
                raise errors.Expired(CONTINUE_EXPIRED)
            items = store.select(
                route.rtype, route.namespace, query.get("labelSelector"), query.get("fieldSelector")
            )
            rv = store.resource_version
            if match is not None:
                items, rv = self._exact_list(route, query, items, wanted, match, floor)
        if start is not None:
            items = [
                o
                for o in items
                if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start[1]
            ]
        list_meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if 0 < limit < len(items):
            remaining = len(items) - limit
            items = items[:limit]
            last = items[-1]["metadata"]
            token_rv = start[0] if start is not None else rv
            list_meta["continue"] = _encode_continue(
                token_rv, last.get("namespace", ""), last["name"]
            )
            list_meta["remainingItemCount"] = remaining
        return {
            "kind": route.rtype.list_kind,
            "apiVersion": route.api_version,
            "metadata": list_meta,
            "items": [self._emit(route, o) for o in items],
        }

    def _exact_list(
        self,
        route: Route,
        query: dict[str, str],
        items: list[dict[str, Any]],
        wanted: str,
        match: str,
        floor: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """``resourceVersionMatch`` (1.19+): ``NotOlderThan`` is the current state,
        ``Exact`` the state at that resourceVersion, rebuilt from the watch cache."""
        store = self.store
        if store.minor < (1, 19):
            return items, store.resource_version
        if match not in {"Exact", "NotOlderThan"}:
            raise _list_options_invalid(
                "resourceVersionMatch", match, f"supported values: {', '.join(RV_MATCHES)}"
            )
        if not wanted:
            raise _list_options_invalid(
                "resourceVersionMatch",
                None,
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )
        if match == "NotOlderThan":
            return items, store.resource_version
        rv = _rv_param(wanted)
        if rv == 0:
            raise _list_options_invalid(
                "resourceVersionMatch",
                None,
                'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
            )
        if rv < floor:
            raise errors.Expired("The resourceVersion for the provided list is too old.")
        events = store.events_after(route.rtype.key, rv) or []
        state = {_key_of(o): o for o in store.select(route.rtype, route.namespace)}
        for event in reversed(events):
            key = _key_of(event.obj)
            if event.type == "ADDED":
                state.pop(key, None)
            elif event.prev is not None:
                state[key] = event.prev
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector_for(route.rtype.key, query.get("fieldSelector"))
        return [state[k] for k in sorted(state) if labels(state[k]) and fields(state[k])], rv

    def _post(self, route: Route, query: dict[str, str], raw: bytes) -> int:
        if route.name is not None and route.rtype.key == "pods" and route.subresource == "eviction":
            return self._evict(route, parse_body(raw, self.headers.get("Content-Type")))
        if route.name is not None:
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        body = parse_body(raw, self.headers.get("Content-Type"))
        _check_type_meta(body, route)
        options = self._options("CreateOptions")
        body["apiVersion"] = route.api_version
        body["kind"] = route.rtype.kind
        self._check_fields(route, options, body)
        created = self.store.create(
            route.rtype.key,
            body,
            namespace=route.namespace,
            manager=options.manager,
            dry_run=options.dry_run,
        )
        self._send_json(201, self._emit(route, created))
        return 201

    def _evict(self, route: Route, body: dict[str, Any]) -> int:
        store = self.store
        api_version = body.get("apiVersion") or "policy/v1beta1"
        served = {"policy/v1beta1", *(("policy/v1",) if store.minor >= (1, 22) else ())}
        if api_version not in served:
            version = api_version.split("/", 1)[-1]
            raise BadRequest(
                f'no kind "Eviction" is registered for version "{api_version}" in scheme '
                f'"k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:29" ({version} is not served '
                f"by Kubernetes {store.kubernetes_version})"
            )
        name = (body.get("metadata") or {}).get("name")
        if name and name != route.name:
            raise BadRequest("name in URL does not match name in Eviction object")
        options = body.get("deleteOptions") or {}
        grace = options.get("gracePeriodSeconds")
        store.evict(
            str(route.name),
            namespace=str(route.namespace),
            grace_period_seconds=None if grace is None else int(grace),
        )
        self._send_json(
            201,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
        )
        return 201

    def _put(self, route: Route, query: dict[str, str], raw: bytes) -> int:
        if not self._writable(route):
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        body = parse_body(raw, self.headers.get("Content-Type"))
        if not _is_scale(route):
            _check_type_meta(body, route)
        options = self._options("UpdateOptions")
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            metadata = body["metadata"] = {}
        if metadata.get("name") != route.name:
            raise BadRequest(
                f"the name of the object ({metadata.get('name')}) does not match the name on "
                f"the URL ({route.name})"
            )
        if route.namespace is not None:
            if metadata.get("namespace") not in {None, route.namespace}:
                raise BadRequest(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            metadata["namespace"] = route.namespace
        common: dict[str, Any] = {"manager": options.manager, "dry_run": options.dry_run}
        if _is_scale(route):
            with self.store.lock:
                scale = self.store.replace(route.rtype.key, body, subresource=SCALE, **common)
                reply = self._scale_reply(route, scale)
            self._send_json(200, reply)
            return 200
        self._check_fields(route, options, body)
        updated = self.store.replace(
            route.rtype.key,
            body,
            subresource=route.subresource,
            api_version=route.api_version,
            **common,
        )
        self._send_json(200, self._emit(route, updated))
        return 200

    def _patch(self, route: Route, query: dict[str, str], raw: bytes) -> int:
        if route.name is None or not self._writable(route):
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        store = self.store
        kind = patch_kind(self.headers.get("Content-Type"), store.minor, custom=route.rtype.custom)
        options = self._options("PatchOptions", patch=kind)
        if kind == "apply":
            return self._apply(route, raw, options)
        body = parse_json(raw)
        if kind != "json" and isinstance(body, dict) and not _is_scale(route):
            self._check_fields(route, options, body)
        common: dict[str, Any] = {
            "patch_type": kind,
            "namespace": route.namespace,
            "manager": options.manager,
            "dry_run": options.dry_run,
        }
        if _is_scale(route):
            with store.lock:
                scale = store.patch(route.rtype.key, route.name, body, subresource=SCALE, **common)
                reply = self._scale_reply(route, scale)
            self._send_json(200, reply)
            return 200
        patched = store.patch(
            route.rtype.key,
            route.name,
            body,
            subresource=route.subresource,
            api_version=route.api_version,
            **common,
        )
        self._send_json(200, self._emit(route, patched))
        return 200

    def _apply(self, route: Route, raw: bytes, options: WriteOptions) -> int:
        """Server-side apply: create or merge, answering 201 or 200."""
        if _is_scale(route):
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json"
            )
        config = parse_yaml(raw)
        if not isinstance(config, dict):
            raise BadRequest("error decoding YAML: the apply configuration must be an object")
        if config.get("apiVersion") != route.api_version:
            raise BadRequest(
                "Incorrect version specified in apply patch. Specified patch version: "
                f"{config.get('apiVersion') or ''}, expected: {route.api_version}"
            )
        if config.get("kind") != route.rtype.kind:
            raise BadRequest(
                f"invalid object type: {route.api_version}, Kind={config.get('kind') or ''}"
            )
        metadata = config.get("metadata") or {}
        if metadata.get("name") not in {None, route.name}:
            raise BadRequest(
                f"the name of the object ({metadata.get('name')}) does not match the name on "
                f"the URL ({route.name})"
            )
        if route.namespace is not None and metadata.get("namespace") not in {None, route.namespace}:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent "
                "on the request"
            )
        self._check_fields(route, options, config)
        obj, created = self.store.apply(
            route.rtype.key,
            str(route.name),
            config,
            manager=options.manager,
            namespace=route.namespace,
            subresource=route.subresource,
            api_version=route.api_version,
            force=options.force,
            dry_run=options.dry_run,
        )
        code = 201 if created else 200
        self._send_json(code, self._emit(route, obj))
        return code

    def _delete(self, route: Route, query: dict[str, str], raw: bytes) -> int:
        body = parse_body(raw, self.headers.get("Content-Type")) if raw.strip() else {}
        options = self._options("DeleteOptions", body_dry_run=body.get("dryRun"))
        grace_raw = query.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
        grace = None if grace_raw in {None, ""} else _int_value("gracePeriodSeconds", grace_raw)
        store = self.store
        rtype = route.rtype
        if route.name is None:
            with store.lock:
                doomed = store.select(
                    rtype, route.namespace, query.get("labelSelector"), query.get("fieldSelector")
                )
                for obj in doomed:
                    store.delete_ex(
                        rtype.key,
                        obj["metadata"]["name"],
                        namespace=obj["metadata"].get("namespace"),
                        grace=grace,
                        dry_run=options.dry_run,
                    )
            self._send_json(
                200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            )
            return 200
        if route.subresource is not None:
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        preconditions = body.get("preconditions")
        obj, removed = store.delete_ex(
            rtype.key,
            route.name,
            namespace=route.namespace,
            grace=grace,
            preconditions=preconditions if isinstance(preconditions, dict) else None,
            dry_run=options.dry_run,
        )
        if removed and rtype.key != "pods":
            details: dict[str, Any] = {
                "name": route.name,
                "kind": rtype.plural,
                "uid": obj["metadata"]["uid"],
            }
            if rtype.group:
                details["group"] = rtype.group
            self._send_json(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": details,
                },
            )
        else:
            self._send_json(200, self._emit(route, obj))
        return 200

    # --- watch -------------------------------------------------------------------------

    def _watch(self, route: Route, query: dict[str, str]) -> None:
        store = self.store
        fields = query.get("fieldSelector")
        if route.name is not None:
            by_name = f"metadata.name={route.name}"
            fields = f"{fields},{by_name}" if fields else by_name
        filt = WatchFilter(
            route.rtype.key,
            route.namespace,
            label_selector(query.get("labelSelector")),
            field_selector_for(route.rtype.key, fields),
        )
        timeout = _int_param(query, "timeoutSeconds")
        deadline = None if timeout is None else time.monotonic() + timeout
        bookmarks = query.get("allowWatchBookmarks") in {"true", "1"}
        self._table_columns_sent = False
        requested = query.get("resourceVersion") or "0"
        initial: list[tuple[str, dict[str, Any]]] = []
        with store.lock:
            if requested == "0":
                last = store.resource_version
                initial = [
                    ("ADDED", o)
                    for o in store.select(route.rtype, route.namespace)
                    if filt.visible(o)
                ]
            else:
                last = _rv_param(requested)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event_type, obj in initial:
                self._chunk({"type": event_type, "object": self._watched(route, query, obj)})
            self._follow(route, query, filt, last, deadline, bookmarks)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _follow(
        self,
        route: Route,
        query: dict[str, str],
        filt: WatchFilter,
        last: int,
        deadline: float | None,
        bookmarks: bool,
    ) -> None:
        store = self.store
        idle_since = time.monotonic()
        while not self.server.stopping:
            with store.lock:
                events: list[WatchEvent] | None = store.events_after(route.rtype.key, last)
                floor, head = store.history_floor(route.rtype.key), store.resource_version
            if events is None:
                expired = errors.Expired(f"too old resource version: {last} ({floor})")
                self._chunk({"type": "ERROR", "object": expired.status()})
                return
            last = max(last, head)
            for event in events:
                translated = filt.translate(event)
                if translated is not None:
                    watched = self._watched(route, query, translated[1])
                    self._chunk({"type": translated[0], "object": watched})
                    idle_since = time.monotonic()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if bookmarks and now - idle_since >= BOOKMARK_SECONDS:
                mark = {
                    "kind": route.rtype.kind,
                    "apiVersion": route.api_version,
                    "metadata": {"resourceVersion": str(last)},
                }
                self._chunk({"type": "BOOKMARK", "object": mark})
                idle_since = now
            wait = (
                WATCH_POLL_SECONDS if deadline is None else min(WATCH_POLL_SECONDS, deadline - now)
            )
            store.wait_for_change(last, max(wait, 0.0))

    def _watched(self, route: Route, query: dict[str, str], obj: dict[str, Any]) -> dict[str, Any]:
        """A watch event's object: a one-row Table (column definitions in the first only)
        when the Accept header asks for Tables, as ``kubectl get -w`` does."""
        emitted = self._emit(route, obj)
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        table = self._maybe_table(route, query, [emitted], meta, emitted)
        if table is not emitted:
            if self._table_columns_sent:
                table["columnDefinitions"] = []
            self._table_columns_sent = True
        return table

    def _chunk(self, event: dict[str, Any]) -> None:
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def _only_get(method: str, path: str) -> None:
    if method != "GET":
        raise errors.MethodNotAllowed(f"the server does not allow this method on {path}")


def _is_scale(route: Route) -> bool:
    """A ``{name}/scale`` request on a resource that has the scale subresource."""
    return route.subresource == SCALE and route.name is not None and has_scale(route.rtype.key)


def _check_type_meta(body: dict[str, Any], route: Route) -> None:
    """A body naming another API version or kind than its URL is refused."""
    version, kind = body.get("apiVersion"), body.get("kind")
    if version not in {None, ""} and version != route.api_version:
        raise BadRequest(
            f"the API version in the data ({version}) does not match the expected API "
            f"version ({route.api_version})"
        )
    if kind not in {None, ""} and kind != route.rtype.kind:
        raise BadRequest(
            f"the kind in the data ({kind}) does not match the expected kind ({route.rtype.kind})"
        )


def _int_value(name: str, text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"invalid {name}: {text!r} is not an integer") from exc


def _int_param(query: dict[str, str], name: str) -> int | None:
    text = query.get(name)
    return None if text in {None, ""} else _int_value(name, text)


def _rv_param(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise BadRequest(f"invalid resource version: {text}") from exc
    if value < 0:
        raise BadRequest(f"invalid resource version: {text}")
    return value


def _key_of(obj: dict[str, Any]) -> tuple[str, str]:
    metadata = obj["metadata"]
    return str(metadata.get("namespace", "")), str(metadata["name"])


def _list_options_invalid(field: str, value: Any, detail: str) -> errors.Invalid:
    error = invalid(field, value, detail) if value is not None else forbidden(field, detail)
    return invalid_error("ListOptions", "meta.k8s.io", "", [error])


def _escape_warning(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _encode_continue(rv: int, namespace: str, name: str) -> str:
    raw = json.dumps({"rv": rv, "start": [namespace, name]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        start = decoded["start"]
        return int(decoded["rv"]), (str(start[0]), str(start[1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise BadRequest(f"invalid continue token: {exc}") from exc
