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
from urllib.parse import parse_qs, urlsplit

from ekstwin.kubeapi import discovery, errors, tables
from ekstwin.kubeapi.errors import ApiError, BadRequest, InternalError, Unauthorized
from ekstwin.kubeapi.patches import PATCH_TYPES
from ekstwin.kubeapi.routes import Route, parse_resource_path
from ekstwin.kubeapi.scale import AUTOSCALING_V1, SCALE, has_scale, scale_api_version
from ekstwin.kubeapi.selectors import field_selector, label_selector
from ekstwin.kubeapi.store import Store
from ekstwin.kubeapi.watch import WatchFilter

log = logging.getLogger(__name__)

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/livez"})
PUBLIC_PATHS = frozenset({"/version", "/version/", *HEALTH_PATHS})
REQUESTS_PATH = "/_sandbox/requests"
WATCH_POLL_SECONDS = 0.25
BOOKMARK_SECONDS = 1.0


class KubeApiServer:
    """Serve ``store`` over HTTP on 127.0.0.1; ``token`` demands ``Authorization: Bearer``.

    ``now`` is the server's clock (the ages in ``kubectl get`` tables count from it).
    """

    def __init__(
        self, store: Store, *, token: str | None = None, now: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.token = token
        self.now = now
        self.requests: list[dict[str, Any]] = []
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

    def record(self, method: str, path: str, query: dict[str, str], status: int) -> None:
        with self._log_lock:
            self.requests.append({"method": method, "path": path, "query": query, "status": status})

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
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        raw = self._read_body()
        status = 500
        try:
            if path == REQUESTS_PATH:
                self._send_json(200, self.api.request_log())
                return
            self._authorize(parts.path)
            status = self._dispatch(method, path, query, raw)
        except ApiError as exc:
            status = exc.code
            self._send_json(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            log.exception("kubeapi: %s %s failed", method, self.path)
            error = InternalError(f"Internal error occurred: {exc}")
            self._send_json(error.code, error.status())
        finally:
            if path != REQUESTS_PATH:
                self.api.record(method, parts.path, query, status)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorize(self, path: str) -> None:
        token = self.api.token
        if token is None or path in PUBLIC_PATHS:
            return
        if self.headers.get("Authorization", "").strip() != f"Bearer {token}":
            raise Unauthorized("Unauthorized")

    def _send_json(self, code: int, body: Any) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
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
        segments = [s for s in path.split("/") if s]
        if (
            path == "/version"
            or path in HEALTH_PATHS
            or path.startswith(("/healthz/", "/livez/", "/readyz/"))
        ):
            if method != "GET":
                raise errors.MethodNotAllowed(f"the server does not allow this method on {path}")
            if path == "/version":
                self._send_json(200, discovery.version_info(self.store.minor))
            else:
                self._send_text(200, "ok")
            return 200
        if not segments or segments[0] not in {"api", "apis"}:
            raise errors.no_such_resource()
        discovered = self._discovery(segments)
        if discovered is not None:
            if method != "GET":
                raise errors.MethodNotAllowed(f"the server does not allow this method on {path}")
            self._send_json(200, discovered)
            return 200
        if len(segments) < (3 if segments[0] == "api" else 4):
            raise errors.no_such_resource()
        if query.get("dryRun"):
            raise BadRequest("dryRun is not supported by the sandbox API server")
        with self.store.lock:
            route = parse_resource_path(segments, self.store.registry, self.store.minor)
        handler = {
            "GET": self._get,
            "POST": self._post,
            "PUT": self._put,
            "PATCH": self._patch,
            "DELETE": self._delete,
        }[method]
        return handler(route, query, raw)

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
        with store.lock:
            items = store.select(
                route.rtype, route.namespace, query.get("labelSelector"), query.get("fieldSelector")
            )
            rv = str(store.resource_version)
        token = query.get("continue")
        if token:
            start = _decode_continue(token)
            items = [
                o
                for o in items
                if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start
            ]
        list_meta: dict[str, Any] = {"resourceVersion": rv}
        limit = int(query.get("limit") or 0)
        if 0 < limit < len(items):
            remaining = len(items) - limit
            items = items[:limit]
            last = items[-1]["metadata"]
            list_meta["continue"] = _encode_continue(rv, last.get("namespace", ""), last["name"])
            list_meta["remainingItemCount"] = remaining
        return {
            "kind": route.rtype.list_kind,
            "apiVersion": route.api_version,
            "metadata": list_meta,
            "items": [self._emit(route, o) for o in items],
        }

    def _post(self, route: Route, query: dict[str, str], raw: bytes) -> int:
        body = _json_object(raw)
        if route.name is None:
            body["apiVersion"] = route.api_version
            body["kind"] = route.rtype.kind
            created = self.store.create(route.rtype.key, body, namespace=route.namespace)
            self._send_json(201, self._emit(route, created))
            return 201
        if route.rtype.key == "pods" and route.subresource == "eviction":
            return self._evict(route, body)
        raise errors.MethodNotAllowed(
            "the server does not allow this method on the requested resource"
        )

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
        body = _json_object(raw)
        metadata = body.setdefault("metadata", {})
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
        if _is_scale(route):
            with self.store.lock:
                scale = self.store.replace(route.rtype.key, body, subresource=SCALE)
                reply = self._scale_reply(route, scale)
            self._send_json(200, reply)
            return 200
        updated = self.store.replace(route.rtype.key, body, subresource=route.subresource)
        self._send_json(200, self._emit(route, updated))
        return 200

    def _patch(self, route: Route, query: dict[str, str], raw: bytes) -> int:
        if route.name is None or not self._writable(route):
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        patch_type = PATCH_TYPES.get(content_type)
        if patch_type is None or (patch_type == "strategic" and route.rtype.custom):
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(PATCH_TYPES)}"
            )
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            raise BadRequest(f"invalid JSON in patch body: {exc}") from exc
        if _is_scale(route):
            with self.store.lock:
                scale = self.store.patch(
                    route.rtype.key,
                    route.name,
                    body,
                    patch_type=patch_type,
                    namespace=route.namespace,
                    subresource=SCALE,
                )
                reply = self._scale_reply(route, scale)
            self._send_json(200, reply)
            return 200
        patched = self.store.patch(
            route.rtype.key,
            route.name,
            body,
            patch_type=patch_type,
            namespace=route.namespace,
            subresource=route.subresource,
        )
        self._send_json(200, self._emit(route, patched))
        return 200

    def _delete(self, route: Route, query: dict[str, str], raw: bytes) -> int:
        options = _json_object(raw) if raw.strip() else {}
        grace_raw = query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        grace = None if grace_raw in {None, ""} else int(grace_raw)
        store = self.store
        rtype = route.rtype
        if route.name is None:
            with store.lock:
                doomed = store.select(
                    rtype, route.namespace, query.get("labelSelector"), query.get("fieldSelector")
                )
                for obj in doomed:
                    store.delete(
                        rtype.key,
                        obj["metadata"]["name"],
                        namespace=obj["metadata"].get("namespace"),
                        grace_period_seconds=grace,
                    )
            self._send_json(
                200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            )
            return 200
        if route.subresource is not None:
            raise errors.MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        obj, removed = store.delete_ex(
            rtype.key,
            route.name,
            namespace=route.namespace,
            grace=grace,
            preconditions=options.get("preconditions"),
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
            field_selector(fields),
        )
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
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
                try:
                    last = int(requested)
                except ValueError as exc:
                    raise BadRequest(f"invalid resourceVersion {requested!r}") from exc
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
            events = store.events_after(last)
            if events is None:
                gone = errors.Gone(f"too old resource version: {last} ({store.resource_version})")
                self._chunk({"type": "ERROR", "object": gone.status()})
                return
            for event in events:
                last = event.rv
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


def _is_scale(route: Route) -> bool:
    """A ``{name}/scale`` request on a resource that has the scale subresource."""
    return route.subresource == SCALE and route.name is not None and has_scale(route.rtype.key)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise BadRequest(f"invalid JSON in request body: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _encode_continue(rv: str, namespace: str, name: str) -> str:
    raw = json.dumps({"rv": rv, "start": [namespace, name]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        start = json.loads(base64.urlsafe_b64decode(token.encode()))["start"]
        return str(start[0]), str(start[1])
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise BadRequest(f"invalid continue token: {exc}") from exc
