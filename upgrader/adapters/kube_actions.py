"""The Kubernetes calls ``upgrader apply`` makes: apply manifests, watch rollouts,
cordon, evict, scale, hold the apply lock (a Lease) and keep the journal (a ConfigMap).

Objects stay plain JSON at the apiVersion given, so the same code drives a 1.12
cluster (``policy/v1beta1`` evictions, ``coordination.k8s.io/v1beta1`` leases)
and a current one. Reads return the discovery model records.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NoReturn, TypeVar

import tenacity

from upgrader.adapters import aws_state, eks_auth, ipamd, kube, kube_state, kube_watch
from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.errors import CloudAccessError, CloudError, CloudNotFoundError, scrub
from upgrader.adapters.kube import Json, KubeReader
from upgrader.adapters.kube_state import newest_warnings
from upgrader.config import Config
from upgrader.model.actions import Eviction, Lease, Rollout
from upgrader.model.ipamd import IpamdView
from upgrader.model.kube import Node, Pod
from upgrader.runbook.ipamd import IpamdGuide

CONFLICT_RETRIES = 5
CONFLICT_JITTER_SECONDS = 0.2
T = TypeVar("T")


class _Conflict(Exception):  # noqa: N818 - a signal, not an error
    """A write answered 409: someone changed the object since it was read."""


@dataclass(frozen=True, slots=True)
class _Write:
    """One attempt's write: ``method`` ``body`` to ``path``."""

    method: str
    path: str
    body: Json


@dataclass(frozen=True, slots=True)
class _Done(Generic[T]):
    """No write needed: the answer is ``value``."""

    value: T


TOKEN_REFRESH_SECONDS = kube.TOKEN_REFRESH_SECONDS  # EKS tokens are valid for 15 minutes
DISCOVERY_TTL_SECONDS = 60.0  # served APIs change when the control plane is upgraded
LAST_APPLIED = kube_state.LAST_APPLIED
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # what `kubectl rollout restart` sets
_BUDGET = re.compile(r"disruption budget (\S+)")
_SCALABLE = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "ReplicaSet": "replicasets",
}
_MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
LEASE_VERSIONS = ("coordination.k8s.io/v1", "coordination.k8s.io/v1beta1")


def _meta(obj: Json) -> dict[str, Any]:
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    return meta


def _micro_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(_MICRO_TIME)


def _epoch(text: Any) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class KubeActions:
    """Writes and reads against one cluster's API server."""

    _node_watch: kube_watch.WatchCache | None = None  # set by start_watches()
    _pod_watch: kube_watch.WatchCache | None = None

    def __init__(self, reader: KubeReader) -> None:
        self.reader = reader
        self._discovery: dict[str, tuple[float, Json | None]] = {}
        self._last_call = ""  # method and path of the latest request, for errors

    @classmethod
    def connect(cls, config: Config, aws: AwsActions | None = None) -> KubeActions:
        """From the config's kubeconfig, else the EKS endpoint and CA with an IAM token;
        either token is made anew before it expires (applies run longer than 15 minutes)
        and after a 401 (see :class:`kube.Credentials`)."""
        if config.kubeconfig is not None:
            return cls(KubeReader.from_kubeconfig(config.kubeconfig))
        aws = aws or AwsActions.connect(config.region)
        _, access = aws_state.eks_cluster(aws.aws, config.cluster)
        session = aws.aws.session
        reader = KubeReader.from_endpoint(
            access.endpoint,
            access.certificate_authority,
            eks_auth.credentials(config.cluster, session, refresh_after=TOKEN_REFRESH_SECONDS),
            cluster=config.cluster,
        )
        return cls(reader)

    def close(self) -> None:
        self.stop_watches()
        self.reader.close()

    def start_watches(self, *, wait_seconds: float = 0.0) -> bool:
        """Keep every node and pod in watch caches from now on: :meth:`nodes` and
        :meth:`pods` answer from them (not a list per call) once their first list is in
        and while their watch is up. Waits up to ``wait_seconds`` for the first lists;
        whether both are in. :meth:`close` stops them."""
        if self._node_watch is None or self._pod_watch is None:
            self._node_watch = kube_watch.WatchCache(self.reader, "/api/v1/nodes").start()
            self._pod_watch = kube_watch.WatchCache(self.reader, "/api/v1/pods").start()
        deadline = time.monotonic() + wait_seconds
        return all(
            w.synced.wait(max(deadline - time.monotonic(), 0.0))
            for w in (self._node_watch, self._pod_watch)
        )

    def stop_watches(self) -> None:
        """Stop the watch caches; nodes and pods are listed over HTTP again."""
        watches = (self._node_watch, self._pod_watch)
        self._node_watch = self._pod_watch = None
        for watch in watches:
            if watch is not None:
                watch.stop()

    @staticmethod
    def _current(watch: kube_watch.WatchCache | None) -> list[Json] | None:
        """The watch cache's objects when it is current; None to list over HTTP instead."""
        return watch.items() if watch is not None and watch.fresh else None

    # plumbing -----------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        body: Json | None = None,
        *,
        query: tuple[tuple[str, str], ...] = (),
        content_type: str = "application/json",
    ) -> tuple[int, Json]:
        self._last_call = f"{method} {path}"
        status, raw = self.reader.request(method, path, query, body=body, content_type=content_type)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"message": raw[:300].decode("utf-8", "replace")}
        return status, data if isinstance(data, dict) else {}

    def _fail(self, subject: str, doing: str, status: int, body: Json) -> NoReturn:
        message = scrub(str(body.get("message", "")))[:300]
        if status in (401, 403):
            raise CloudAccessError(
                subject,
                f"{doing} was refused (HTTP {status}): {message}",
                "check that your identity may change this object (kubeconfig user, or the "
                "IAM identity's group in the aws-auth ConfigMap)",
            )
        if status == 404:
            raise CloudNotFoundError(
                subject,
                f"does not exist ({message})",
                "check the name and namespace; run `upgrader plan` again if the cluster changed",
            )
        raise CloudError(
            subject,
            f"{doing} failed: {self._last_call} answered HTTP {status}: {message}",
            "retry; if it keeps failing, check the object and the API server's health",
        )

    def _read_modify_write(
        self,
        subject: str,
        path: str,
        attempt: Callable[[int, Json], _Write | _Done[T]],
        written: Callable[[Json], T],
        *,
        doing: str,
        hint: str,
    ) -> T:
        """GET ``path``, let ``attempt`` decide the write from the status (200 or 404) and the
        live object, send it; again on 409 (a stale resourceVersion), after a short jittered
        pause, up to :data:`CONFLICT_RETRIES` times. ``written`` turns the server's answer
        into the result."""

        def once() -> T:
            status, live = self._send("GET", path)
            if status >= 300 and status != 404:
                self._fail(subject, "reading it", status, live)
            step = attempt(status, live)
            if isinstance(step, _Done):
                return step.value
            status, body = self._send(step.method, step.path, step.body)
            if status == 409:
                raise _Conflict
            if status >= 300:
                self._fail(subject, doing, status, body)
            return written(body)

        try:
            return tenacity.Retrying(
                stop=tenacity.stop_after_attempt(CONFLICT_RETRIES),
                wait=tenacity.wait_random(0, CONFLICT_JITTER_SECONDS),
                retry=tenacity.retry_if_exception_type(_Conflict),
                sleep=self.reader.sleep,
                reraise=True,
            )(once)
        except _Conflict:
            raise CloudError(
                subject,
                f"kept changing while {doing} ({CONFLICT_RETRIES} conflicts in a row)",
                hint,
            ) from None

    def _resources(self, group_version: str) -> Json | None:
        """The APIResourceList of a group version (cached briefly); None when not served."""
        now = time.monotonic()
        cached = self._discovery.get(group_version)
        if cached is not None and now - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
        path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        found = self.reader.get_optional(path)
        self._discovery[group_version] = (now, found)
        return found

    def _path(self, api_version: str, kind: str, namespace: str | None, name: str = "") -> str:
        """The REST path of ``kind`` at ``api_version`` (collection when ``name`` is empty)."""
        resources = self._resources(api_version)
        entry = next(
            (
                r
                for r in (resources or {}).get("resources", [])
                if r.get("kind") == kind and "/" not in str(r.get("name", ""))
            ),
            None,
        )
        if entry is None:
            self._discovery.pop(api_version, None)
            raise CloudError(
                f"{kind} {name}".strip(),
                f"{api_version} {kind} is not served by this cluster ({self.server_version()})",
                "compile the manifests for this cluster's Kubernetes version "
                "(`upgrader compile`), or upgrade the control plane first",
            )
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if entry.get("namespaced"):
            base += f"/namespaces/{namespace or 'default'}"
        base += f"/{entry['name']}"
        return f"{base}/{name}" if name else base

    def _preferred(self, kind: str, versions: tuple[str, ...]) -> str:
        """The first of ``versions`` (``group/version``, newest first) serving ``kind``."""
        for api_version in versions:
            listed = (self._resources(api_version) or {}).get("resources", [])
            if any(r.get("kind") == kind for r in listed):
                return api_version
        return versions[-1]

    # apply ----------------------------------------------------------------------

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj``, or replace the live object with it (keeping its
        resourceVersion; retried on 409). Records kubectl's last-applied annotation,
        so ``kubectl apply`` and API001 see the apiVersion used. Returns the server's copy."""
        desired: Json = json.loads(json.dumps(obj))
        api_version, kind = str(desired.get("apiVersion", "")), str(desired.get("kind", ""))
        meta = _meta(desired)
        name, namespace = str(meta.get("name", "")), meta.get("namespace")
        subject = f"{kind} {namespace + '/' if namespace else ''}{name}"
        if not (api_version and kind and name):
            raise CloudError(
                subject or "manifest object",
                "lacks apiVersion, kind or metadata.name",
                "fix the manifest (`upgrader compile` validates them)",
            )
        for key in ("resourceVersion", "uid", "creationTimestamp", "generation"):
            meta.pop(key, None)
        desired.pop("status", None)
        applied = json.dumps(desired, separators=(",", ":"), sort_keys=True)
        meta.setdefault("annotations", {})[LAST_APPLIED] = applied
        path = self._path(api_version, kind, namespace, name)

        def attempt(status: int, live: Json) -> _Write | _Done[Json]:
            if status == 404:
                return _Write("POST", path.rsplit("/", 1)[0], desired)
            return _Write("PUT", path, _replacement(desired, live))

        return self._read_modify_write(
            subject,
            path,
            attempt,
            lambda body: body,
            doing="applying it",
            hint="find what else writes this object (a controller, another apply), then re-run",
        )

    # rollouts ---------------------------------------------------------------------

    def daemonset_rollout(self, namespace: str, name: str) -> Rollout:
        """Progress of a DaemonSet's rolling update."""
        obj = self._read_workload("DaemonSet", namespace, name, kube_state.DAEMONSET_VERSIONS)
        meta, status = _meta(obj), obj.get("status") or {}
        return Rollout(
            generation=int(meta.get("generation", 0)),
            observed=int(status.get("observedGeneration", 0)),
            desired=int(status.get("desiredNumberScheduled", 0)),
            updated=int(status.get("updatedNumberScheduled", 0)),
            ready=int(status.get("numberReady", 0)),
            available=int(status.get("numberAvailable", 0)),
        )

    def deployment_rollout(self, namespace: str, name: str) -> Rollout:
        """Progress of a Deployment's rollout; ``desired`` is ``spec.replicas``."""
        obj = self._read_workload("Deployment", namespace, name, kube_state.DEPLOYMENT_VERSIONS)
        meta, spec, status = _meta(obj), obj.get("spec") or {}, obj.get("status") or {}
        replicas = spec.get("replicas")
        return Rollout(
            generation=int(meta.get("generation", 0)),
            observed=int(status.get("observedGeneration", 0)),
            desired=1 if replicas is None else int(replicas),
            updated=int(status.get("updatedReplicas", 0)),
            ready=int(status.get("readyReplicas", 0)),
            available=int(status.get("availableReplicas", 0)),
        )

    def restart_deployment(self, namespace: str, name: str, at: str) -> None:
        """``kubectl rollout restart``: the pod template's ``restartedAt`` annotation set to
        ``at``, so the Deployment replaces every pod under its own strategy."""
        path = self._path(
            self._preferred("Deployment", kube_state.DEPLOYMENT_VERSIONS), "Deployment",
            namespace, name,
        )  # fmt: skip
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}
        status, body = self._send(
            "PATCH", path, patch, content_type="application/strategic-merge-patch+json"
        )
        if status >= 300:
            self._fail(f"Deployment {namespace}/{name}", "restarting it", status, body)

    def _read_workload(
        self, kind: str, namespace: str, name: str, versions: tuple[str, ...]
    ) -> Json:
        path = self._path(self._preferred(kind, versions), kind, namespace, name)
        status, body = self._send("GET", path)
        if status >= 300:
            self._fail(f"{kind} {namespace}/{name}", "reading it", status, body)
        return body

    # nodes and pods -----------------------------------------------------------------

    def nodes(self) -> tuple[Node, ...]:
        """Every node, as discovery reads them (from the watch cache when it is current)."""
        raw = self._current(self._node_watch)
        if raw is None:
            raw = self.reader.list_all("/api/v1/nodes")
        return tuple(sorted((kube_state.node(o) for o in raw), key=lambda n: n.name))

    def pods(
        self,
        *,
        namespace: str | None = None,
        node: str | None = None,
        label_selector: str | None = None,
    ) -> tuple[Pod, ...]:
        """Pods matching the filters; stuck ones carry their newest Warning event. From the
        watch cache when it is current and ``label_selector`` is ``a=b,c=d`` (or none)."""
        base = f"/api/v1/namespaces/{namespace}" if namespace else "/api/v1"
        labels = kube_watch.equality_selector(label_selector)
        cached = self._current(self._pod_watch) if labels is not None else None
        if cached is not None:
            raw = kube_watch.select(cached, namespace=namespace, node=node, labels=labels)
        else:
            query: list[tuple[str, str]] = []
            if node:
                query.append(("fieldSelector", f"spec.nodeName={node}"))
            if label_selector:
                query.append(("labelSelector", label_selector))
            raw = self.reader.list_all(f"{base}/pods", tuple(query))
        warnings: dict[tuple[str, str], str] = {}
        if any(kube_state.pod(o, {}).stuck_creating for o in raw):
            events = self.reader.list_all(f"{base}/events", (("fieldSelector", "type=Warning"),))
            warnings = newest_warnings(events)
        return tuple(
            sorted((kube_state.pod(o, warnings) for o in raw), key=lambda p: (p.namespace, p.name))
        )

    def ipamd_view(self, node: str, aws_node: Pod | None, guide: IpamdGuide) -> IpamdView:
        """ipamd's metrics and pool on ``node``, as ``upgrader diagnose`` reads them."""
        return ipamd.read_view(self.reader, node, aws_node, guide)

    def cordon(self, node: str) -> None:
        """Mark the node unschedulable."""
        self._set_unschedulable(node, True)

    def uncordon(self, node: str) -> None:
        """Mark the node schedulable again; a node that no longer exists is left alone."""
        self._set_unschedulable(node, None)

    def _set_unschedulable(self, node: str, value: bool | None) -> None:
        status, body = self._send(
            "PATCH",
            f"/api/v1/nodes/{node}",
            {"spec": {"unschedulable": value}},
            content_type="application/merge-patch+json",
        )
        if status == 404 and value is None:
            return
        if status >= 300:
            self._fail(f"node {node}", "cordon" if value else "uncordon", status, body)

    def evict(self, namespace: str, name: str) -> Eviction:
        """Ask the Eviction API to evict the pod (PDBs apply); never raises for a 429."""
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/eviction"
        status, body = 0, Json()
        for api_version in dict.fromkeys((self._eviction_version(), "policy/v1beta1")):
            eviction = {
                "apiVersion": api_version,
                "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace},
            }
            status, body = self._send("POST", path, eviction)
            # A server that does not know this Eviction version answers 400 naming it.
            if not (status == 400 and api_version in str(body.get("message", ""))):
                break
        message = scrub(str(body.get("message", "")))
        if status < 300:
            return Eviction(evicted=True, gone=False, blocked_by=None, message=message)
        if status == 404:
            return Eviction(evicted=False, gone=True, blocked_by=None, message=message)
        if status == 429:
            causes = (body.get("details") or {}).get("causes") or []
            budget = next(
                (m.group(1) for c in causes if (m := _BUDGET.search(str(c.get("message", ""))))),
                None,
            )
            blocked = f"{namespace}/{budget}" if budget else None
            text = "; ".join([message, *(str(c.get("message", "")) for c in causes)])
            return Eviction(evicted=False, gone=False, blocked_by=blocked, message=scrub(text))
        self._fail(f"pod {namespace}/{name}", "evicting it", status, body)

    def _eviction_version(self) -> str:
        """The Eviction apiVersion the server takes, from the pods/eviction discovery entry."""
        for entry in (self._resources("v1") or {}).get("resources", []):
            if entry.get("name") == "pods/eviction" and entry.get("version"):
                return f"{entry.get('group') or 'policy'}/{entry['version']}"
        return "policy/v1beta1"

    def delete_pod(self, namespace: str, name: str) -> None:
        """Delete the pod (no PDB check); one already gone is fine."""
        status, body = self._send("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}")
        if status >= 300 and status != 404:
            self._fail(f"pod {namespace}/{name}", "deleting it", status, body)

    # scale ----------------------------------------------------------------------------

    def _scale_path(self, namespace: str, name: str, kind: str) -> str:
        plural = _SCALABLE.get(kind)
        if plural is None:
            raise CloudError(
                f"{kind} {namespace}/{name}",
                f"cannot be scaled (scalable kinds: {', '.join(sorted(_SCALABLE))})",
                "pass a Deployment, StatefulSet or ReplicaSet",
            )
        return f"/apis/apps/v1/namespaces/{namespace}/{plural}/{name}/scale"

    def replicas(self, namespace: str, name: str, *, kind: str = "Deployment") -> int | None:
        """``spec.replicas`` through the scale subresource; None when the object is absent."""
        status, body = self._send("GET", self._scale_path(namespace, name, kind))
        if status == 404:
            return None
        if status >= 300:
            self._fail(f"{kind} {namespace}/{name}", "reading its scale", status, body)
        return int((body.get("spec") or {}).get("replicas", 0))

    def scale(self, namespace: str, name: str, replicas: int, *, kind: str = "Deployment") -> int:
        """Set the replica count through the scale subresource; returns the previous one."""
        path = self._scale_path(namespace, name, kind)
        subject = f"{kind} {namespace}/{name}"
        previous = 0

        def attempt(status: int, scale: Json) -> _Write | _Done[int]:
            nonlocal previous
            if status == 404:
                self._fail(subject, "reading its scale", status, scale)
            previous = int((scale.get("spec") or {}).get("replicas", 0))
            return _Write(
                "PUT", path, {**scale, "spec": {**(scale.get("spec") or {}), "replicas": replicas}}
            )

        return self._read_modify_write(
            subject,
            path,
            attempt,
            lambda _: previous,
            doing=f"scaling it to {replicas}",
            hint="find what else scales it (an autoscaler?), then re-run",
        )

    # leases ------------------------------------------------------------------------

    def _lease_path(self, namespace: str, name: str) -> tuple[str, str]:
        """The Lease apiVersion served (v1 from 1.14, v1beta1 before) and the lease's path."""
        api_version = self._preferred("Lease", LEASE_VERSIONS)
        return api_version, self._path(api_version, "Lease", namespace, name)

    def acquire_lease(
        self,
        name: str,
        namespace: str,
        holder: str,
        *,
        seconds: int,
        stale: Callable[[str], bool] | None = None,
    ) -> Lease:
        """Take the lease when it is free, expired, already ours, or held by a holder
        ``stale`` says is gone; else report its holder."""
        return self._claim(name, namespace, holder, seconds, take_free=True, stale=stale)

    def renew_lease(self, name: str, namespace: str, holder: str, *, seconds: int) -> Lease:
        """Extend the lease while ours; ``acquired`` False when someone else took it."""
        return self._claim(name, namespace, holder, seconds, take_free=False)

    def _claim(
        self,
        name: str,
        namespace: str,
        holder: str,
        seconds: int,
        *,
        take_free: bool,
        stale: Callable[[str], bool] | None = None,
    ) -> Lease:
        subject = f"lease {namespace}/{name}"
        api_version, path = self._lease_path(namespace, name)
        now = 0.0

        def attempt(status: int, live: Json) -> _Write | _Done[Lease]:
            nonlocal now
            now = time.time()
            if status == 404:
                if not take_free:
                    return _Done(Lease(holder="", acquired=False, expires_at=0.0))
                fresh: Json = {
                    "holderIdentity": holder,
                    "leaseDurationSeconds": seconds,
                    "acquireTime": _micro_time(now),
                    "renewTime": _micro_time(now),
                    "leaseTransitions": 0,
                }
                lease = {
                    "apiVersion": api_version,
                    "kind": "Lease",
                    "metadata": {"name": name, "namespace": namespace},
                    "spec": fresh,
                }
                return _Write("POST", path.rsplit("/", 1)[0], lease)
            spec: Json = live.get("spec") or {}
            current = str(spec.get("holderIdentity") or "")
            renewed = _epoch(spec.get("renewTime") or spec.get("acquireTime"))
            expires = (renewed or 0.0) + float(spec.get("leaseDurationSeconds") or 0)
            free = not current or expires <= now or (stale is not None and stale(current))
            if current != holder and not (take_free and free):
                return _Done(Lease(holder=current, acquired=False, expires_at=expires))
            new_spec = {**spec, "holderIdentity": holder, "leaseDurationSeconds": seconds}
            new_spec["renewTime"] = _micro_time(now)
            if current != holder:
                new_spec["acquireTime"] = _micro_time(now)
                new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
            return _Write("PUT", path, {**live, "spec": new_spec})

        return self._read_modify_write(
            subject,
            path,
            attempt,
            lambda _: Lease(holder=holder, acquired=True, expires_at=now + seconds),
            doing="taking it",
            hint="another apply is competing for the lock; wait for it, then re-run",
        )

    def release_lease(self, name: str, namespace: str, holder: str) -> None:
        """Give the lease up if ours (clears the holder; the object stays)."""
        subject = f"lease {namespace}/{name}"
        _, path = self._lease_path(namespace, name)

        def attempt(status: int, live: Json) -> _Write | _Done[None]:
            spec = live.get("spec") or {}
            if status == 404 or spec.get("holderIdentity") != holder:
                return _Done(None)
            spec = {**spec, "holderIdentity": None, "leaseDurationSeconds": 1}
            return _Write("PUT", path, {**live, "spec": spec})

        self._read_modify_write(
            subject,
            path,
            attempt,
            lambda _: None,
            doing="releasing it",
            hint="it expires by itself; re-run once it has",
        )

    # config maps --------------------------------------------------------------------

    def read_config_map(self, name: str, namespace: str) -> dict[str, str] | None:
        """The ConfigMap's ``data``; None when it does not exist."""
        found = self.reader.get_optional(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        if found is None:
            return None
        return {str(k): str(v) for k, v in (found.get("data") or {}).items()}

    def write_config_map(self, name: str, namespace: str, data: dict[str, str]) -> None:
        """Create the ConfigMap, or replace its ``data`` (labels and annotations kept)."""
        path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"

        def attempt(status: int, live: Json) -> _Write | _Done[None]:
            if status == 404:
                new = {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": namespace},
                    "data": dict(data),
                }
                return _Write("POST", path.rsplit("/", 1)[0], new)
            return _Write("PUT", path, {**live, "data": dict(data)})

        self._read_modify_write(
            f"ConfigMap {namespace}/{name}",
            path,
            attempt,
            lambda _: None,
            doing="writing it",
            hint="another apply may be running; check the lease, then re-run",
        )

    def server_version(self) -> str:
        """The API server's ``gitVersion`` (``v1.12.10-eks-...``)."""
        return str(self.reader.get("/version").get("gitVersion", ""))


def _replacement(desired: Json, live: Json) -> Json:
    """``desired`` as a PUT body over ``live``: its resourceVersion, and the fields the
    server assigned that a replace may not clear (a Service's cluster IP)."""
    body: Json = json.loads(json.dumps(desired))
    _meta(body)["resourceVersion"] = _meta(live).get("resourceVersion")
    if body.get("kind") == "Service":
        spec, live_spec = body.setdefault("spec", {}), live.get("spec") or {}
        for key in ("clusterIP", "clusterIPs"):
            if key in live_spec and key not in spec:
                spec[key] = live_spec[key]
    return body
