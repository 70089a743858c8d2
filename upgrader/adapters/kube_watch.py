"""An informer-style cache of one Kubernetes collection (``/api/v1/nodes``, ``/api/v1/pods``).

A daemon thread LISTs the collection, then WATCHes it from the list's resourceVersion and
applies each ADDED, MODIFIED and DELETED event to a local copy; a BOOKMARK only moves the
resourceVersion. A watch the server ends (``timeoutSeconds``) resumes from the last
resourceVersion seen; a 410 (HTTP status, or an ERROR event: the version left the server's
watch cache) relists. Anything else (no answer, a 401 even after a new token, 429, 5xx, an
ERROR event) is retried after a jittered, growing pause. Every watch request is signed anew,
so it carries the reader's current token (EKS tokens are made anew after 14 minutes).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from upgrader.adapters.errors import scrub
from upgrader.adapters.kube import CONNECT_TIMEOUT_SECONDS, PAGE_SIZE, Json, KubeReader, reason

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
WATCH_SECONDS = 300  # the server ends each watch after this; it resumes from there
READ_MARGIN_SECONDS = 30.0  # silence this much beyond the watch's end: a dead connection
QUICK_SECONDS = 1.0  # a watch ending sooner without a single event counts as failed
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MOST_SECONDS = 30.0
GONE = 410
_LABEL_KEY = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def key_of(obj: Json) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def apply_event(objects: dict[Key, Json], kind: str, obj: Json) -> bool:
    """Apply one ADDED, MODIFIED or DELETED event to ``objects``; whether they changed."""
    if kind in ("ADDED", "MODIFIED"):
        objects[key_of(obj)] = obj
        return True
    if kind == "DELETED":
        return objects.pop(key_of(obj), None) is not None
    return False


def equality_selector(text: str | None) -> dict[str, str] | None:
    """``a=b,c==d`` as ``{a: b, c: d}`` (``{}`` for no selector); None for any other kind
    (``!=``, ``in``, ``exists``), which only the server evaluates."""
    wanted: dict[str, str] = {}
    if not (text or "").strip():
        return wanted
    for term in str(text).split(","):
        key, eq, value = term.replace("==", "=", 1).partition("=")
        key, value = key.strip(), value.strip()
        valid = eq and _LABEL_KEY.match(key) and _LABEL_VALUE.match(value)
        if not valid or wanted.get(key, value) != value:
            return None
        wanted[key] = value
    return wanted


def select(
    objects: Iterable[Json],
    *,
    namespace: str | None = None,
    node: str | None = None,
    labels: dict[str, str] | None = None,
) -> list[Json]:
    """The objects in ``namespace``, on ``node`` (``spec.nodeName``), carrying ``labels``."""
    wanted = (labels or {}).items()
    chosen = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if namespace and meta.get("namespace") != namespace:
            continue
        if node and (obj.get("spec") or {}).get("nodeName") != node:
            continue
        if wanted <= (meta.get("labels") or {}).items():
            chosen.append(obj)
    return chosen


def backoff(failures: int) -> float:
    """Seconds to pause after ``failures`` failed attempts in a row (jittered, capped)."""
    ceiling = min(BACKOFF_MOST_SECONDS, BACKOFF_FIRST_SECONDS * 2.0 ** max(failures - 1, 0))
    return ceiling * random.uniform(0.5, 1.0)


def list_collection(reader: KubeReader, path: str) -> tuple[list[Json], str]:
    """Every item of ``path``, page by page, and the list's resourceVersion: the first
    page's, so a watch from it replays whatever changed while later pages were read."""
    items: list[Json] = []
    version, token = "", ""
    while True:
        query = (("limit", str(PAGE_SIZE)), *((("continue", token),) if token else ()))
        page = reader.get(path, query)
        meta = page.get("metadata") or {}
        version = version or str(meta.get("resourceVersion") or "")
        for item in page.get("items") or []:
            item.setdefault("apiVersion", str(page.get("apiVersion", "")))
            items.append(item)
        token = str(meta.get("continue") or "")
        if not token:
            return items, version


class WatchCache:
    """The objects of one collection, kept current by a watch; ``start()`` it.

    ``items()`` is a snapshot; ``synced`` is set once the first list is in, ``generation``
    grows with every change applied, ``error`` says why the watch is down (None while it
    is up), and ``lists`` and ``watches`` count the requests made.
    """

    def __init__(
        self,
        reader: KubeReader,
        path: str,
        *,
        watch_seconds: int = WATCH_SECONDS,
    ) -> None:
        self.reader = reader
        self.path = path
        self.watch_seconds = watch_seconds
        self.synced = threading.Event()
        self.error: str | None = None
        self.lists = 0
        self.watches = 0
        self._changed = threading.Condition()  # guards the objects, version and generation
        self._objects: dict[Key, Json] = {}
        self._version = ""
        self._generation = 0
        self._relist = True
        self._stopping = threading.Event()
        self._stream_lock = threading.Lock()
        self._stream: Any = None  # the open watch response, which stop() shuts
        self._thread = threading.Thread(target=self._run, name=f"watch {path}", daemon=True)

    def start(self) -> WatchCache:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End the watch and its thread, waiting up to ``timeout`` seconds for it (an open
        watch is cut at once; a list in flight ends first, within the reader's timeouts)."""
        self._stopping.set()
        with self._stream_lock:
            _shut(self._stream)
        with self._changed:
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def fresh(self) -> bool:
        """Listed, and the watch is up (or only reconnecting): the snapshot is current."""
        return self.synced.is_set() and self.error is None and self.running

    @property
    def generation(self) -> int:
        with self._changed:
            return self._generation

    @property
    def resource_version(self) -> str:
        with self._changed:
            return self._version

    def items(self) -> list[Json]:
        """The objects now, as one consistent snapshot. The objects are shared with the
        cache (events replace them, never change them): read them, do not modify them."""
        with self._changed:
            return list(self._objects.values())

    def wait_changed(self, since: int, timeout: float) -> int:
        """Block until ``generation`` is above ``since`` (or ``timeout`` seconds, or stop());
        the generation then."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._generation > since or self._stopping.is_set(), timeout
            )
            return self._generation

    def apply(self, event: Json) -> bool:
        """Apply one watch event (a BOOKMARK only moves the resourceVersion); whether the
        objects changed."""
        kind, obj = str(event.get("type", "")), event.get("object") or {}
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        with self._changed:
            self._version = version or self._version
            if not apply_event(self._objects, kind, obj):
                return False
            self._generation += 1
            self._changed.notify_all()
            return True

    # the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                if self._relist:
                    self._list()
                ok = self._watch()
            except Exception as err:  # the thread outlives every failure; stop() ends it
                ok = False
                if not self._stopping.is_set():
                    self.error = f"{type(err).__name__}: {scrub(str(err))[:300]}"
            failures = 0 if ok else failures + 1
            if failures:
                self._stopping.wait(backoff(failures))

    def _list(self) -> None:
        items, version = list_collection(self.reader, self.path)
        objects = {key_of(o): o for o in items}
        with self._changed:
            if _versions(objects) != _versions(self._objects):
                self._generation += 1
                self._changed.notify_all()
            self._objects, self._version = objects, version
        self.lists += 1
        self._relist = False
        self.error = None
        self.synced.set()

    def _watch(self) -> bool:
        """One watch request, its events applied as they come; False when it failed."""
        began = time.monotonic()
        stream = self._open()
        try:
            if stream.status != 200:
                return self._refused(int(stream.status), reason(stream.read()))
            self.error = None
            seen = False
            for line in stream.response:
                if self._stopping.is_set():
                    return True
                if not line.strip():
                    continue
                seen = True
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    return self._refused(int(status.get("code") or 0), str(status.get("message")))
                self.apply(event)
            return seen or time.monotonic() - began >= QUICK_SECONDS
        finally:
            with self._stream_lock:
                self._stream = None
            _shut(stream)

    def _open(self) -> Any:
        """Send the watch request, signed now (the current token), and keep its response
        where stop() can shut it."""
        query = [
            ("watch", "1"),
            ("resourceVersion", self.resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(self.watch_seconds)),
        ]
        api = self.reader.api
        verb, url, headers, _, _ = api.param_serialize(
            method="GET",
            resource_path=self.path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        self.watches += 1
        read_timeout = self.watch_seconds + READ_MARGIN_SECONDS
        stream = api.call_api(
            verb,
            url,
            header_params=headers,
            _request_timeout=(CONNECT_TIMEOUT_SECONDS, read_timeout),
        )
        with self._stream_lock:
            self._stream = stream
            if self._stopping.is_set():
                _shut(stream)
        return stream

    def _refused(self, status: int, message: str) -> bool:
        """A watch refused or ended with ``status``: relist on 410, else a failure (after a
        401, with a new token for the next attempt)."""
        if status == GONE:
            self._relist = True
            return True
        credentials = self.reader.credentials
        if status == 401 and credentials is not None:
            credentials.renew()
        self.error = f"watch {self.path}: HTTP {status}: {scrub(message)[:300]}"
        return False


def _versions(objects: dict[Key, Json]) -> dict[Key, str]:
    return {k: str((o.get("metadata") or {}).get("resourceVersion")) for k, o in objects.items()}


def _shut(stream: Any) -> None:
    """Close a watch response, first shutting its socket so a blocked read returns now."""
    if stream is None:
        return
    raw = stream.response
    with contextlib.suppress(Exception):  # already released or closed: nothing to shut
        raw.shutdown()
    with contextlib.suppress(Exception):
        raw.close()
        raw.release_conn()
