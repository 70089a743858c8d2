"""One running sandbox: the AWS twin and the Kubernetes API emulator on
127.0.0.1, the controllers, and the tick loop that drives virtual time.

Lock order is always the twin's lock, then the store's: the tick loop takes
both for each pass; HTTP requests to moto take the twin's (and its hooks then
the store's); HTTP requests to the Kubernetes API take only the store's.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ekstwin import system
from ekstwin.aws import AwsTwin, eks_insights
from ekstwin.aws.server import FAULTS_PATH
from ekstwin.clock import DEFAULT_SPEED, VirtualClock
from ekstwin.controllers.addons import ManagedAddonObjects
from ekstwin.controllers.base import ControllerManager
from ekstwin.controllers.fargate import FargateController
from ekstwin.controllers.ipamd import Ipamd
from ekstwin.controllers.ipamd.eniconfig import RESOURCE as ENICONFIGS
from ekstwin.controllers.ipamd.eniconfig import eniconfig_object
from ekstwin.controllers.kubelet import Kubelet
from ekstwin.controllers.managed_updates import ManagedNodegroupUpdates
from ekstwin.controllers.node_endpoints import NodeEndpoints
from ekstwin.controllers.nodes import NodeLifecycle
from ekstwin.controllers.standard import status_controllers, workload_controllers
from ekstwin.kubeapi import KubeApiServer, Store
from ekstwin.kubeapi.auth import Authenticator
from ekstwin.scenario import Scenario
from ekstwin.world import World, build_aws, create_all
from upgrader.errors import BadInputError

SETTLE_TIMEOUT_SECONDS = 60.0
SETTLE_SECONDS_PER_NODE = 0.25  # wall time: a 1,000-node world takes minutes to settle
NODEGROUP_STACK_FAILURE = (
    'Resource handler returned message: "Internal Failure" (HandlerErrorCode: InternalFailure)'
)


class SandboxError(BadInputError):
    """The scenario's world could not start or settle."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    aws: str
    kubernetes: str
    token: str
    region: str
    cluster: str


class Sandbox:
    """A scenario's world, live on 127.0.0.1 until :meth:`stop`."""

    def __init__(
        self, scenario: Scenario, *, speed: float = DEFAULT_SPEED, stepped: bool = False
    ) -> None:
        self.scenario = scenario
        # one clock for every service's timestamps, starting at wall-clock now (DESIGN §8)
        self.clock = VirtualClock(speed, stepped=stepped)
        self.store = Store(kubernetes_version=scenario.kubernetes.minor_str, now=self.clock.now)
        self.token = secrets.token_urlsafe(24)
        # A token sent must be valid, as on EKS: the kubeconfig's own admin token or an EKS
        # token (15 virtual minutes from first use, see kubeapi.auth); anything else is a
        # 401. Without scenario `auth: eks`, a request with no token at all is let in:
        # kubectl sends none over the twin's plain HTTP.
        self.auth = Authenticator(self.clock.now, static_tokens=[self.token])
        self.kube = KubeApiServer(
            self.store, now=self.clock.now, auth=self.auth, anonymous=scenario.auth != "eks"
        )
        self.twin: AwsTwin | None = None
        self.world: World | None = None
        self.ipamd: Ipamd | None = None
        self.nodes: NodeLifecycle | None = None
        self.managed_updates: ManagedNodegroupUpdates | None = None
        self.manager: ControllerManager | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    def start(self) -> Endpoints:
        """Start both servers, build the world and let it settle."""
        s = self.scenario
        kube_url = self.kube.start()
        slow = s.faults.slow_control_plane_minutes
        if slow is None:
            twin = AwsTwin(self.clock, region=s.region, kube_endpoint=kube_url)
        else:
            twin = AwsTwin(
                self.clock,
                region=s.region,
                kube_endpoint=kube_url,
                control_plane_update_seconds=slow * 60.0,
            )
        self.twin = twin
        aws_url = twin.start()
        self.auth.sts_endpoints.append(aws_url)  # clients sign STS URLs for AWS_ENDPOINT_URL
        twin.hooks.cluster_version_changed.append(self._cluster_version_changed)
        with twin.lock:
            self.world = build_aws(s, twin)
            for use in s.deprecated_api_usage:
                eks_insights.report_deprecated_api_usage(
                    s.name,
                    use.api_version,
                    use.kind,
                    user_agent=use.user_agent,
                    requests=use.requests,
                )
            create_all(self.store, system.add_ons(s))
            roles = [
                str(o["OutputValue"])
                for stack in self.world.nodegroup_stacks
                for o in twin.cloudformation.get_stack(stack).outputs or []
                if o["OutputKey"] == "NodeInstanceRole"
            ]
            create_all(
                self.store,
                system.cluster_config_maps(s, endpoint=kube_url, node_role_arns=roles),
            )
            self.ipamd = Ipamd(twin, self.clock)
            eniconfigs = [
                (ENICONFIGS, eniconfig_object(az, self.world.subnet_ids[subnet]))
                for az, subnet in s.cni_eniconfigs
            ]
            create_all(self.store, eniconfigs)
            self.nodes = NodeLifecycle(
                self.store,
                twin,
                self.clock,
                self.ipamd,
                cluster=s.name,
                eniconfig_by_az=bool(eniconfigs),
                stuck_instances=self._stuck_instances(),
            )
            kubelet = Kubelet(self.store, self.clock, self.ipamd, self.nodes)
            # pods/log, pods/exec and nodes/proxy: the kubelet's and ipamd's ports
            self.kube.nodes = NodeEndpoints(
                self.store,
                self.clock,
                self.ipamd,
                twin.lock,
                {self.world.subnet_ids[sub.name]: sub.cidr for sub in s.subnets},
            )
            # EKS's managed nodegroup updates (drain, replace) after the twin's setup phase
            self.managed_updates = ManagedNodegroupUpdates(self.store, twin, self.clock, self.nodes)
            # EKS managed add-ons: a completed create or update sets their object's image
            addons = ManagedAddonObjects(self.store, twin.hooks, cluster=s.name)
            self.manager = ControllerManager(
                self.store,
                self.clock,
                [
                    self.nodes,
                    self.managed_updates,
                    addons,
                    *workload_controllers(
                        self.store,
                        random.Random(0),
                        # Fargate's scheduler claims its pods before kube-scheduler looks
                        before_scheduler=[FargateController(self.store, twin, self.clock, s.name)],
                    ),
                    kubelet,
                    *status_controllers(self.store),
                ],
            )
        self._thread = threading.Thread(target=self._loop, name="sandbox-tick", daemon=True)
        self._thread.start()
        # Workloads arrive once the nodes are Ready, so they spread as on a cluster in use.
        settle = SETTLE_TIMEOUT_SECONDS + SETTLE_SECONDS_PER_NODE * sum(
            g.desired for g in s.nodegroups
        )
        self.wait_until(self.settled, settle, "the nodes to be Ready")
        create_all(self.store, system.workloads(s))
        self.wait_until(self.settled, settle, "the workloads to run")
        self._inject_faults(aws_url)
        self.clock.free_running = False  # a stepped clock now moves only when asked
        return Endpoints(aws_url, kube_url, self.token, s.region, s.name)

    def _inject_faults(self, aws_url: str) -> None:
        """The scenario's request faults, on once the world has settled (setup is fault-free)."""
        f = self.scenario.faults
        assert self.world is not None
        self.kube.faults.configure(
            {"apiserver_429": f.apiserver_429, "apiserver_500": f.apiserver_500}
        )
        specs: list[dict[str, Any]] = []
        if f.aws_throttle or f.aws_5xx:
            specs.append({"aws_throttle": dict(f.aws_throttle), "aws_5xx": dict(f.aws_5xx)})
        if f.nodegroup_stack_update_fails:
            resource = f.nodegroup_stack_update_fails
            specs += [
                {
                    "fail_stack_update": {
                        "stack": stack,
                        "resource": resource,
                        "reason": NODEGROUP_STACK_FAILURE,
                    }
                }
                for stack in self.world.nodegroup_stacks
            ]
        for spec in specs:
            request = urllib.request.Request(
                aws_url + FAULTS_PATH,
                data=json.dumps(spec).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()

    def _stuck_instances(self) -> frozenset[str]:
        assert self.twin is not None
        count = self.scenario.faults.stuck_ipamd_nodes
        ids = sorted(i.instance_id for i in self.twin.instances(running=True))
        return frozenset(ids[:count])

    def _cluster_version_changed(self, cluster: str, version: str) -> None:
        if cluster == self.scenario.name:
            self.store.set_kubernetes_version(version)

    def _loop(self) -> None:
        assert self.twin is not None and self.manager is not None
        try:
            while not self._stop.is_set():
                with self.twin.lock:
                    fired = self.clock.run_due()
                    changed = self.manager.step()
                    idle = not (fired or changed)
                    moved = idle and self.clock.step_idle(self.manager.next_wakeup)
                if idle and not moved:
                    self._stop.wait(0.005)
        except BaseException as err:  # the daemon reports it and exits
            self.failure = err
            raise

    def settled(self) -> bool:
        """Every running instance is a Ready node; every pod runs; no rollout pending."""
        assert self.twin is not None and self.nodes is not None
        with self.twin.lock, self.store.lock:
            running = {i.instance_id for i in self.twin.instances(running=True)}
            if set(self.nodes.node_of_instance) != running:
                return False
            for node in self.store.list("nodes"):
                ready = [c for c in node["status"].get("conditions", []) if c["type"] == "Ready"]
                if not ready or ready[0]["status"] != "True":
                    return False
            for d in self.store.list("deployments.apps"):
                status = d.get("status", {})
                if status.get("observedGeneration") != d["metadata"].get("generation") or (
                    status.get("availableReplicas", 0) != d["spec"].get("replicas", 1)
                    or status.get("updatedReplicas", 0) != d["spec"].get("replicas", 1)
                ):
                    return False
            for ds in self.store.list("daemonsets.apps"):
                status = ds.get("status", {})
                want = status.get("desiredNumberScheduled", -1)
                if status.get("observedGeneration") != ds["metadata"].get("generation") or (
                    status.get("numberAvailable", 0) != want
                    or status.get("updatedNumberScheduled", 0) != want
                ):
                    return False
            return all(
                p.get("status", {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")
                for p in self.store.list("pods")
            )

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.failure is not None:
                raise SandboxError("sandbox", f"crashed: {self.failure!r}", "see the sandbox log")
            if predicate():
                return
            time.sleep(0.02)
        raise SandboxError(
            f"scenario {self.scenario.name}",
            f"timed out after {timeout:.0f} s waiting for {what}",
            "check the scenario's node groups have room for its workloads",
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.twin is not None:
            self.twin.stop()
        self.kube.stop()
