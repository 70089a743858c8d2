"""The in-memory object store behind the API emulator: CRUD, patches, deletion, eviction, events.

Stored objects are never mutated in place; every write stores a fresh dict, so the watch
history can share them and readers get copies.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ekstwin.kubeapi import errors
from ekstwin.kubeapi.apply import Write, apply, record_update
from ekstwin.kubeapi.decode import decode
from ekstwin.kubeapi.defaults import apply_defaults
from ekstwin.kubeapi.errors import BadRequest, Forbidden
from ekstwin.kubeapi.eviction import check_eviction
from ekstwin.kubeapi.fielderrors import invalid, invalid_error
from ekstwin.kubeapi.objects import clone, clone_object, meta, rfc3339
from ekstwin.kubeapi.patches import apply_patch
from ekstwin.kubeapi.resources import Minor, Registry, ResourceType, parse_minor
from ekstwin.kubeapi.scale import SCALE, has_scale, scale_of, wanted_replicas
from ekstwin.kubeapi.schema import Context, kind_type
from ekstwin.kubeapi.selectors import field_selector_for, label_selector
from ekstwin.kubeapi.validation import name_rule, validate_create, validate_update
from ekstwin.kubeapi.watchcache import WatchCache, WatchCacheLimits, WatchEvent

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace or "", name)
Subscriber = Callable[[str, str, dict[str, Any]], None]
Objects = list[dict[str, Any]]  # (the Store.list method shadows the builtin in the class body)

BOOT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
# Who an in-process write (a twin controller's) is recorded as in managedFields.
DEFAULT_MANAGER = "kube-controller-manager"
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "generation",
)
_KEEP_ON_UPDATE = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds")
_CRD = "customresourcedefinitions.apiextensions.k8s.io"


__all__ = ["DEFAULT_MANAGER", "Store", "WatchEvent"]


class Store:
    """Thread-safe in-memory Kubernetes objects keyed by kubectl-style resource names."""

    def __init__(
        self,
        *,
        kubernetes_version: str = "1.12",
        now: Callable[[], float] = time.time,
        seed: int = 0,
        watch_cache: WatchCacheLimits | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.generation = 0
        self.subscriber_errors: builtins.list[BaseException] = []
        self._changed = threading.Condition(self.lock)
        self._minor: Minor = parse_minor(kubernetes_version)
        self._now = now
        self._random = random.Random(seed)
        self.registry = Registry()
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {}
        self._rv = 0
        self.watch_cache = WatchCache(watch_cache or WatchCacheLimits(), now)
        self._dry = False
        self._subscribers: builtins.list[Subscriber] = []
        self._pending: deque[WatchEvent] = deque()
        self._dispatching = False
        self._service_ips = 0
        for name in BOOT_NAMESPACES:
            self.create("namespaces", {"metadata": {"name": name}})

    # --- cluster version ---------------------------------------------------------------

    @property
    def kubernetes_version(self) -> str:
        """``"1.12"``: decides /version and which API versions are served."""
        return f"{self._minor[0]}.{self._minor[1]}"

    @property
    def minor(self) -> Minor:
        return self._minor

    def set_kubernetes_version(self, version: str) -> None:
        """Upgrade (or set) the control plane version; served API versions follow."""
        with self.lock:
            self._minor = parse_minor(version)

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out."""
        return self._rv

    # --- reads -------------------------------------------------------------------------

    def resource_type(self, resource: str) -> ResourceType:
        """The type behind a kubectl-style name; ``NotFound`` when unknown."""
        rtype = self.registry.get(resource)
        if rtype is None:
            raise errors.no_such_resource()
        return rtype

    def get(self, resource: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """A copy of one object; ``NotFound`` when absent."""
        with self.lock:
            rtype = self.resource_type(resource)
            return self._out(rtype, self._stored(rtype, name, namespace))

    def find(
        self, resource: str, name: str, *, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """A copy of one object, or ``None``."""
        with self.lock:
            rtype = self.resource_type(resource)
            found = self._bucket(rtype).get(self._key(rtype, name, namespace))
            return None if found is None else self._out(rtype, found)

    def get_scale(
        self,
        resource: str,
        name: str,
        *,
        namespace: str | None = None,
        api_version: str = "autoscaling/v1",
    ) -> dict[str, Any]:
        """The ``Scale`` of a deployment, replica set or stateful set; ``NotFound`` otherwise.

        ``api_version`` is the parent's served version (``apps/v1`` gives the default
        ``autoscaling/v1`` Scale; ``extensions/v1beta1`` etc. give their own Scale kinds).
        """
        with self.lock:
            rtype = self._scalable(resource)
            return scale_of(self._stored(rtype, name, namespace), api_version)

    def list(
        self,
        resource: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Objects:
        """Copies of matching objects sorted by namespace/name; ``namespace=None`` is all."""
        with self.lock:
            rtype = self.resource_type(resource)
            items = self.select(rtype, namespace, label_selector, field_selector)
            return [self._out(rtype, obj) for obj in items]

    def select(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: str | None = None,
        fields: str | None = None,
    ) -> Objects:
        """Shared (read-only) stored objects, sorted; for the HTTP layer and controllers.

        ``BadRequest`` for a malformed label selector or a field the resource does not
        let clients select on.
        """
        by_labels, by_fields = label_selector(labels), field_selector_for(rtype.key, fields)
        with self.lock:
            bucket = self._bucket(rtype)
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            return [bucket[k] for k in keys if by_labels(bucket[k]) and by_fields(bucket[k])]

    # --- writes ------------------------------------------------------------------------
    #
    # Writes take the API version the client used (defaults and validation depend on it),
    # the field manager recorded in managedFields, and ``dry_run``: do everything but
    # commit, and return what would have been stored.

    def create(
        self,
        resource: str,
        obj: dict[str, Any],
        *,
        namespace: str | None = None,
        manager: str = DEFAULT_MANAGER,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Store a new object with uid, timestamps, resourceVersion and server defaults."""
        with self.lock, self._dry_scope(dry_run):
            rtype = self.resource_type(resource)
            new = clone(obj)
            api_version = str(new.get("apiVersion") or rtype.preferred(self._minor))
            self._check_decodes(rtype, api_version, new)
            self._prepare_create(rtype, new, namespace, api_version)
            write = Write(manager, api_version)
            return self._insert(rtype, new, api_version, write)

    def replace(
        self,
        resource: str,
        obj: dict[str, Any],
        *,
        subresource: str | None = None,
        api_version: str | None = None,
        manager: str = DEFAULT_MANAGER,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """PUT: replace the object named in ``obj.metadata``; ``Conflict`` on a stale RV.

        With ``subresource="scale"`` ``obj`` is a ``Scale`` naming a deployment, replica set
        or stateful set: only the parent's ``spec.replicas`` changes; returns the new Scale.
        """
        with self.lock, self._dry_scope(dry_run):
            rtype = self.resource_type(resource)
            metadata = obj.get("metadata") or {}
            name = str(metadata.get("name") or "")
            old = self._stored(rtype, name, metadata.get("namespace"))
            version = api_version or old["apiVersion"]
            write = Write(manager, version, subresource or "")
            if subresource == SCALE and has_scale(rtype.key):
                return self._write_scale(rtype, old, clone(obj), write)
            self._check_decodes(rtype, version, obj)
            return self._update(rtype, old, clone(obj), subresource, version, write)

    def patch(
        self,
        resource: str,
        name: str,
        body: Any,
        *,
        patch_type: str = "merge",
        namespace: str | None = None,
        subresource: str | None = None,
        api_version: str | None = None,
        manager: str = DEFAULT_MANAGER,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """PATCH (``merge``, ``strategic`` or ``json``); ``Conflict`` when its RV is stale.

        With ``subresource="scale"`` the patch applies to the parent's ``autoscaling/v1``
        ``Scale`` and only its ``spec.replicas`` is written back; returns the new Scale.
        A patched object that no longer decodes is 422 ``Invalid`` on the field ``patch``.
        """
        with self.lock, self._dry_scope(dry_run):
            rtype = self.resource_type(resource)
            old = self._stored(rtype, name, namespace)
            version = api_version or old["apiVersion"]
            write = Write(manager, version, subresource or "")
            scaling = subresource == SCALE and has_scale(rtype.key)
            current = scale_of(old) if scaling else self._out(rtype, old)
            patched = apply_patch(current, body, patch_type)
            new_meta = patched.get("metadata") or {}
            if new_meta.get("name") != name:
                raise BadRequest("metadata.name may not be changed by a patch")
            if scaling:
                return self._write_scale(rtype, old, patched, write)
            # the stored object decodes, so only what a merge patch sends can fail to
            checked = body if patch_type != "json" and isinstance(body, dict) else patched
            problem = self.decode_problem(rtype, version, checked)
            if problem is not None:
                shown = json.dumps(patched, separators=(",", ":"))
                raise invalid_error("", "", "", [invalid("patch", shown, problem)])
            return self._update(rtype, old, patched, subresource, version, write)

    def apply(
        self,
        resource: str,
        name: str,
        config: dict[str, Any],
        *,
        manager: str,
        namespace: str | None = None,
        subresource: str | None = None,
        api_version: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Server-side apply of ``config``; returns the object and whether it was created.

        ``Conflict`` (409) when another manager owns a field this apply changes.
        """
        with self.lock, self._dry_scope(dry_run):
            rtype = self.resource_type(resource)
            version = str(api_version or rtype.preferred(self._minor))
            write = Write(manager, version, subresource or "", "Apply")
            ctx = self.context(rtype, version)
            now = rfc3339(self._now())
            config = clone(config)
            meta(config)["name"] = name
            live = self._bucket(rtype).get(self._key(rtype, name, namespace))
            problem = self.decode_problem(rtype, version, config)
            if problem is not None:
                raise BadRequest(f"failed to create typed patch object: {problem}")
            if live is None:
                if subresource is not None:
                    raise errors.not_found(rtype.plural, name, rtype.group)
                new = apply(rtype.key, ctx, None, config, write, now, force=force, has_status=False)
                new["apiVersion"] = version
                self._prepare_create(rtype, new, namespace, version, keep_managed=True)
                return self._insert(rtype, new, version, None), True
            merged = apply(
                rtype.key,
                ctx,
                self._out(rtype, live),
                config,
                write,
                now,
                force=force,
                has_status=rtype.status_subresource,
            )
            return self._update(rtype, live, merged, subresource, version, None), False

    def delete(
        self,
        resource: str,
        name: str,
        *,
        namespace: str | None = None,
        grace_period_seconds: int | None = None,
    ) -> dict[str, Any]:
        """Delete; bound pods with a grace period and objects with finalizers stay, marked.

        Returns the object's last state (with ``deletionTimestamp`` when it stays).
        """
        obj, _ = self.delete_ex(resource, name, namespace=namespace, grace=grace_period_seconds)
        return obj

    def delete_ex(
        self,
        resource: str,
        name: str,
        *,
        namespace: str | None = None,
        grace: int | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """:meth:`delete`, also saying whether the object is gone; checks preconditions."""
        with self.lock, self._dry_scope(dry_run):
            rtype = self.resource_type(resource)
            old = self._stored(rtype, name, namespace)
            self._check_preconditions(rtype, old, preconditions or {})
            obj, removed = self._delete(rtype, old, grace)
            return self._out(rtype, obj), removed

    def evict(self, name: str, *, namespace: str, grace_period_seconds: int | None = None) -> None:
        """Evict a pod: ``TooManyRequests`` naming the PDB when a budget forbids it."""
        with self.lock:
            pods = self.resource_type("pods")
            pod = self._stored(pods, name, namespace)
            pdbs = self.select(self.resource_type("poddisruptionbudgets.policy"), namespace)
            siblings = self.select(pods, namespace)
            check_eviction(
                pod,
                pdbs,
                siblings,
                empty_matches_all=self._minor >= (1, 21),
                find=lambda resource, name, ns: self.find(resource, name, namespace=ns),
            )
            self._delete(pods, pod, grace_period_seconds)

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn(event_type, resource, obj)`` after each committed write (lock held).

        Writes made from inside ``fn`` are delivered after ``fn`` returns, in order.
        Returns a function that unsubscribes.
        """
        with self.lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self.lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    # --- decoding and validation -----------------------------------------------------------

    def context(self, rtype: ResourceType, api_version: str) -> Context:
        """The schema context of ``rtype`` served as ``api_version``."""
        group, _, version = api_version.rpartition("/")
        return Context(group or rtype.group, version, self._minor)

    def decode_problem(
        self, rtype: ResourceType, api_version: str, obj: dict[str, Any]
    ) -> str | None:
        """The JSON decoder's error for ``obj`` (a wrong type somewhere), or ``None``."""
        typedef = kind_type(rtype.key)
        if typedef is None:
            return None
        return decode(typedef, obj, self.context(rtype, api_version)).error

    def _check_decodes(self, rtype: ResourceType, api_version: str, obj: dict[str, Any]) -> None:
        problem = self.decode_problem(rtype, api_version, obj)
        if problem is not None:
            version = api_version.rpartition("/")[2]
            raise BadRequest(
                f'{rtype.kind} in version "{version}" cannot be handled as a {rtype.kind}: '
                f"{problem}"
            )

    def unknown_fields(
        self, rtype: ResourceType, api_version: str, obj: dict[str, Any]
    ) -> builtins.list[str]:
        """Fields of ``obj`` its type does not have (strict field validation)."""
        typedef = kind_type(rtype.key)
        if typedef is None:
            return []
        return decode(typedef, obj, self.context(rtype, api_version)).unknown

    # --- watch support -----------------------------------------------------------------

    def events_after(self, resource: str, rv: int) -> builtins.list[WatchEvent] | None:
        """``resource``'s committed events newer than ``rv``, or ``None`` when ``rv`` is
        older than the watch cache's window."""
        with self.lock:
            return self.watch_cache.events_after(resource, rv)

    def history_floor(self, resource: str) -> int:
        """The newest resourceVersion the watch cache dropped for ``resource``."""
        with self.lock:
            return self.watch_cache.floor(resource)

    def wait_for_change(self, after_rv: int, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until a write newer than ``after_rv`` commits."""
        with self._changed:
            return self._changed.wait_for(lambda: self._rv > after_rv, timeout)

    def wake_watchers(self) -> None:
        """Wake blocked watchers (e.g. on server stop) without a write."""
        with self._changed:
            self._changed.notify_all()

    def output(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """A caller-owned copy of a stored object with its preferred apiVersion."""
        return self._out(rtype, obj)

    # --- internals ---------------------------------------------------------------------

    def _bucket(self, rtype: ResourceType) -> dict[Key, dict[str, Any]]:
        return self._objects.setdefault(rtype.key, {})

    def _key(self, rtype: ResourceType, name: str, namespace: str | None) -> Key:
        return ((namespace or "default") if rtype.namespaced else "", name)

    def _stored(self, rtype: ResourceType, name: str, namespace: str | None) -> dict[str, Any]:
        found = self._bucket(rtype).get(self._key(rtype, name, namespace))
        if found is None:
            raise errors.not_found(rtype.plural, name, rtype.group)
        return found

    def _out(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        out = clone_object(obj)
        out["apiVersion"] = rtype.preferred(self._minor)
        return out

    def _write_namespace(
        self, rtype: ResourceType, namespace: str | None, metadata: dict[str, Any]
    ) -> str:
        if not rtype.namespaced:
            return ""
        in_body = metadata.get("namespace")
        if namespace and in_body and in_body != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        return str(namespace or in_body or "default")

    @contextlib.contextmanager
    def _dry_scope(self, dry_run: bool) -> Iterator[None]:
        """Run a write without committing it (and without using up uids or IPs)."""
        if not dry_run or self._dry:
            yield
            return
        saved = (self._random.getstate(), self._service_ips)
        self._dry = True
        try:
            yield
        finally:
            self._dry = False
            self._random.setstate(saved[0])
            self._service_ips = saved[1]

    def _prepare_create(
        self,
        rtype: ResourceType,
        new: dict[str, Any],
        namespace: str | None,
        api_version: str,
        *,
        keep_managed: bool = False,
    ) -> None:
        """Name, namespace, defaults and validation of an object about to be created."""
        metadata = meta(new)
        ns = self._write_namespace(rtype, namespace, metadata)
        for field in _SERVER_FIELDS:
            metadata.pop(field, None)
        if not keep_managed:
            metadata.pop("managedFields", None)
        self._generate_name(rtype, ns, metadata)
        if rtype.namespaced:
            self._check_namespace_open(ns)
            metadata["namespace"] = ns
        else:
            metadata.pop("namespace", None)
        if rtype.status_subresource and rtype.key != "nodes":
            new.pop("status", None)
        apply_defaults(rtype.key, api_version, new)
        validate_create(rtype, api_version, new, self._minor)
        name = str(metadata["name"])
        if (ns, name) in self._bucket(rtype):
            raise errors.already_exists(rtype.plural, name, rtype.group)
        if rtype.key == "services":
            self._assign_cluster_ip(new)

    def _insert(
        self, rtype: ResourceType, new: dict[str, Any], api_version: str, write: Write | None
    ) -> dict[str, Any]:
        """Commit a prepared object: server metadata, managedFields, the ADDED event."""
        metadata = meta(new)
        metadata["uid"] = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        metadata["creationTimestamp"] = rfc3339(self._now())
        metadata["generation"] = 1
        if write is not None:
            ctx = self.context(rtype, api_version)
            record_update(rtype.key, ctx, None, new, write, rfc3339(self._now()), has_status=False)
        self._normalize(rtype, new)
        if rtype.key == _CRD and not self._dry:
            self.registry.define_crd(new)
        key = (str(metadata.get("namespace", "")), str(metadata["name"]))
        self._commit("ADDED", rtype, key, new, None)
        return self._out(rtype, new)

    def _generate_name(self, rtype: ResourceType, ns: str, metadata: dict[str, Any]) -> None:
        name = metadata.get("name")
        prefix = metadata.get("generateName")
        if name or not prefix:
            return
        rule = name_rule(rtype)
        problems = rule(str(prefix).rstrip("-") or "x")
        if problems:
            causes = [invalid("metadata.generateName", str(prefix), p) for p in problems]
            raise invalid_error(rtype.kind, rtype.group, "", causes)
        for _ in range(8):
            suffix = "".join(self._random.choice(_GENERATE_ALPHABET) for _ in range(5))
            name = f"{prefix}{suffix}"
            if (ns, name) not in self._bucket(rtype):
                break
        metadata["name"] = name

    def _check_namespace_open(self, ns: str) -> None:
        found = self._bucket(self.resource_type("namespaces")).get(("", ns))
        if found is None:
            raise errors.not_found("namespaces", ns)
        if found["metadata"].get("deletionTimestamp"):
            raise Forbidden(
                f"unable to create new content in namespace {ns} because it is being terminated"
            )

    def _assign_cluster_ip(self, service: dict[str, Any]) -> None:
        spec = service.setdefault("spec", {})
        if spec.get("clusterIP") or spec.get("type") == "ExternalName":
            return
        self._service_ips += 1
        n = self._service_ips
        spec["clusterIP"] = f"10.100.{n // 254}.{n % 254 + 1}"

    def _normalize(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        obj["apiVersion"] = rtype.preferred(self._minor)
        obj["kind"] = rtype.kind

    def _update(
        self,
        rtype: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        subresource: str | None,
        api_version: str,
        write: Write | None,
    ) -> dict[str, Any]:
        old_meta = old["metadata"]
        sent_rv = (new.get("metadata") or {}).get("resourceVersion")
        if sent_rv and str(sent_rv) != old_meta["resourceVersion"]:
            raise errors.conflict(rtype.plural, old_meta["name"], rtype.group)
        if subresource == "status" and rtype.status_subresource:
            result = _with_new_status(old, new)
        elif subresource is None:
            # The real server defaults every write, not only creates (before the spec
            # comparison that decides the generation).
            apply_defaults(rtype.key, api_version, new)
            result = _with_kept_fields(rtype, old, new)
        else:
            raise errors.no_such_resource()
        result["apiVersion"], result["kind"] = old["apiVersion"], old["kind"]
        meta(result)["resourceVersion"] = old_meta["resourceVersion"]
        if write is not None:
            record_update(
                rtype.key,
                self.context(rtype, api_version),
                old,
                result,
                write,
                rfc3339(self._now()),
                has_status=rtype.status_subresource,
            )
        if result == old:
            return self._out(rtype, old)
        if subresource is None:
            validate_update(rtype, api_version, old, result, self._minor)
        if rtype.key == _CRD and not self._dry:
            self.registry.define_crd(result)
        result_meta = meta(result)
        if result_meta.get("deletionTimestamp") and not result_meta.get("finalizers"):
            pending_graceful = rtype.key == "pods" and result_meta.get("deletionGracePeriodSeconds")
            if not pending_graceful:
                self._remove(rtype, result)
                return self._out(rtype, result)
        key = (old_meta.get("namespace", ""), old_meta["name"])
        self._commit("MODIFIED", rtype, key, result, old)
        return self._out(rtype, result)

    def _scalable(self, resource: str) -> ResourceType:
        rtype = self.resource_type(resource)
        if not has_scale(rtype.key):
            raise errors.no_such_resource()
        return rtype

    def _write_scale(
        self, rtype: ResourceType, old: dict[str, Any], scale: dict[str, Any], write: Write
    ) -> dict[str, Any]:
        """Write a Scale back to its parent: ``spec.replicas`` (and generation) only."""
        old_meta = old["metadata"]
        name = old_meta["name"]
        scale_meta = scale.get("metadata") or {}
        if not isinstance(scale_meta, dict):
            raise BadRequest("Scale.metadata must be an object")
        replicas = wanted_replicas(scale, name)
        sent_rv = scale_meta.get("resourceVersion")
        if sent_rv and str(sent_rv) != old_meta["resourceVersion"]:
            raise errors.conflict(rtype.plural, name, rtype.group)
        if (old.get("spec") or {}).get("replicas") == replicas:
            return scale_of(old)
        result = {k: v for k, v in old.items() if k not in {"metadata", "spec"}}
        result["spec"] = {**(old.get("spec") or {}), "replicas": replicas}
        result["metadata"] = {
            **old_meta,
            "generation": int(old_meta.get("generation", 1)) + 1,
        }
        ctx = self.context(rtype, old["apiVersion"])
        now = rfc3339(self._now())
        parent = Write(write.manager, old["apiVersion"], SCALE)
        record_update(rtype.key, ctx, old, result, parent, now, has_status=True)
        key = (old_meta.get("namespace", ""), name)
        self._commit("MODIFIED", rtype, key, result, old)
        return scale_of(result)

    def _check_preconditions(
        self, rtype: ResourceType, obj: dict[str, Any], preconditions: dict[str, Any]
    ) -> None:
        metadata = obj["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field)
            if wanted and str(wanted) != metadata.get(field):
                raise errors.Conflict(
                    f"Precondition failed: {label} in precondition: {wanted}, "
                    f"{label} in object meta: {metadata.get(field)}",
                    name=metadata["name"],
                    group=rtype.group or None,
                    kind=rtype.plural,
                )

    def _delete(
        self, rtype: ResourceType, old: dict[str, Any], grace: int | None
    ) -> tuple[dict[str, Any], bool]:
        metadata = old["metadata"]
        if rtype.key == "namespaces" and metadata["name"] in PROTECTED_NAMESPACES:
            raise Forbidden(
                f'namespaces "{metadata["name"]}" is forbidden: this namespace may not be deleted'
            )
        key = (metadata.get("namespace", ""), metadata["name"])
        if rtype.key == "pods":
            grace = self._pod_grace(old, grace)
            current = metadata.get("deletionGracePeriodSeconds")
            if grace > 0 and (current is None or grace < int(current)):
                updated = clone(old)
                updated["metadata"]["deletionTimestamp"] = rfc3339(self._now() + grace)
                updated["metadata"]["deletionGracePeriodSeconds"] = grace
                self._commit("MODIFIED", rtype, key, updated, old)
                return updated, False
            if grace > 0:
                return old, False
        if metadata.get("finalizers"):
            if (
                metadata.get("deletionTimestamp")
                and metadata.get("deletionGracePeriodSeconds") == 0
            ):
                return old, False
            updated = clone(old)
            updated["metadata"].setdefault("deletionTimestamp", rfc3339(self._now()))
            updated["metadata"]["deletionGracePeriodSeconds"] = 0
            self._commit("MODIFIED", rtype, key, updated, old)
            return updated, False
        if rtype.key == "namespaces":
            self._empty_namespace(metadata["name"])
        return self._remove(rtype, old), True

    def _pod_grace(self, pod: dict[str, Any], grace: int | None) -> int:
        spec = pod.get("spec") or {}
        if not spec.get("nodeName"):
            return 0
        if (pod.get("status") or {}).get("phase") in {"Succeeded", "Failed"}:
            return 0
        if grace is None:
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
        return max(grace, 0)

    def _empty_namespace(self, ns: str) -> None:
        for rtype in self.registry.all():
            if rtype.namespaced:
                for obj in self.select(rtype, ns):
                    self._remove(rtype, obj)

    def _remove(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        gone: dict[str, Any] = clone(obj)
        self._commit("DELETED", rtype, key, gone, obj)
        if rtype.key == _CRD:
            custom = self.registry.get(_crd_key(obj))
            if custom is not None and custom.custom:
                for item in self.select(custom, None):
                    self._remove(custom, item)
                if not self._dry:
                    self.registry.forget_crd(obj)
        return gone

    def _commit(
        self,
        event_type: str,
        rtype: ResourceType,
        key: Key,
        obj: dict[str, Any],
        prev: dict[str, Any] | None,
    ) -> None:
        if self._dry:  # nothing is stored: a dry-run create has no resourceVersion yet
            if prev is None:
                meta(obj).pop("resourceVersion", None)
            return
        self._rv += 1
        meta(obj)["resourceVersion"] = str(self._rv)
        bucket = self._bucket(rtype)
        if event_type == "DELETED":
            bucket.pop(key, None)
        else:
            bucket[key] = obj
        self.generation += 1
        event = WatchEvent(self._rv, event_type, rtype.key, obj, prev)
        self.watch_cache.add(event)
        self._changed.notify_all()
        self._pending.append(event)
        self._dispatch()

    def _dispatch(self) -> None:
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._pending:
                event = self._pending.popleft()
                rtype = self.registry.get(event.resource)
                for fn in list(self._subscribers):
                    obj = self._out(rtype, event.obj) if rtype else clone(event.obj)
                    try:
                        fn(event.type, event.resource, obj)
                    except Exception as exc:  # a broken subscriber must not undo a commit
                        log.exception("store subscriber %r failed on %s", fn, event.type)
                        self.subscriber_errors.append(exc)
        finally:
            self._dispatching = False


def _crd_key(crd: dict[str, Any]) -> str:
    spec = crd.get("spec") or {}
    return f"{(spec.get('names') or {}).get('plural')}.{spec.get('group')}"


def _with_new_status(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A status write: only ``status`` changes."""
    result = {k: v for k, v in old.items() if k != "status"}
    if new.get("status") is not None:
        result["status"] = new["status"]
    result["metadata"] = dict(old["metadata"])
    return result


def _with_kept_fields(
    rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]
) -> dict[str, Any]:
    """A main-resource write: server-owned metadata and the status subresource are kept."""
    old_meta = old["metadata"]
    metadata = meta(new)
    if metadata.get("name") != old_meta["name"] or (
        rtype.namespaced
        and metadata.get("namespace", old_meta["namespace"]) != old_meta["namespace"]
    ):
        raise BadRequest("the name or namespace of an object cannot be changed")
    for field in _KEEP_ON_UPDATE:
        metadata.pop(field, None)
        if field in old_meta:
            metadata[field] = old_meta[field]
    if rtype.namespaced:
        metadata["namespace"] = old_meta["namespace"]
    if rtype.status_subresource:
        new.pop("status", None)
        if "status" in old:
            new["status"] = old["status"]
    generation = int(old_meta.get("generation", 1))
    metadata["generation"] = generation + 1 if new.get("spec") != old.get("spec") else generation
    return new
