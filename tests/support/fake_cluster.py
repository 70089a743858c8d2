"""In-memory fakes of every outside call apply makes (``upgrader.executor.ports``), on a fake
clock, for the executor's unit tests: no server, no network, seconds to run.

Healthy by default: change sets execute at once, new instances boot into Ready nodes at the
target version after ``boot_seconds``, DaemonSets roll one node per ``roll_seconds``,
evictions succeed and their pods come back on a schedulable node. Tests turn on trouble:
``refusals`` (PDB 429s for a pod, a number of times or for ever), ``stuck_nodes`` (#59:
pods ContainerCreating after aws-node restarts until it is restarted once more, or for
ever), ``fail`` (an exception from a named call, once: ``evict``, ``set_capacity``,
``discover`` ...).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tests.support.scripted_api import Answer, scripted_reader
from upgrader.adapters.errors import CloudError, CloudNotFoundError
from upgrader.adapters.kube_actions import KubeActions
from upgrader.config import Config
from upgrader.model.actions import Eviction, Lease, Rollout
from upgrader.model.addons import EksAddon
from upgrader.model.aws import AutoScalingGroup, Instance, Stack
from upgrader.model.aws import ChangeSet as StackChangeSet
from upgrader.model.ipamd import IpamdView
from upgrader.model.kube import Container, DaemonSet, Node, Pod
from upgrader.model.state import ClusterState
from upgrader.model.steps import ChangeSet
from upgrader.planner.addon_stacks import addon_source
from upgrader.polling import WALL, Clock
from upgrader.runbook.ipamd import IpamdGuide

FOREVER = 10**9


class FakeClock:
    """Monotonic seconds that move only when someone sleeps; every sleep lets the world
    move (``on_sleep``)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.on_sleep: list[Callable[[], None]] = []
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        for tick in self.on_sleep:
            tick()


NO_IP_EVENT = "add cmd: failed to assign an IP address to container"


@dataclass
class _Rolling:
    """A DaemonSet rollout under way: the image it rolls to, nodes still to do."""

    image: str
    pending: list[str]
    next_at: float


@dataclass
class FakeWorld:
    """One cluster: its state, what changed, and the trouble tests asked for."""

    state: ClusterState
    target: str  # the Kubernetes minor new nodes boot with ("1.13")
    clock: FakeClock = field(default_factory=FakeClock)
    boot_seconds: float = 60.0
    roll_seconds: float = 10.0
    refusals: dict[str, int] = field(default_factory=dict)  # "ns/pod" -> 429s left
    stuck_nodes: dict[str, int] = field(default_factory=dict)  # node -> restarts to heal
    ipamd_full: set[str] = field(default_factory=set)  # nodes whose ipamd has no free address
    fail: dict[str, Exception] = field(default_factory=dict)  # call name -> raised once
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    config_maps: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    leases: dict[tuple[str, str], str] = field(default_factory=dict)
    hooks: dict[str, set[str]] = field(default_factory=dict)
    autoscaler: int | None = None
    _booting: list[tuple[float, Node]] = field(default_factory=list)
    _rolls: dict[tuple[str, str], _Rolling] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.clock.on_sleep.append(self.tick)
        labelled = [
            replace(p, labels=(("k8s-app", str(p.owner_name)),))
            if p.owner_kind == "DaemonSet"
            else p
            for p in self.state.pods
        ]
        self.state = replace(self.state, pods=tuple(labelled))

    # bookkeeping -------------------------------------------------------------------

    def record(self, call: str, *args: object) -> None:
        """Note a call that goes through; raise instead if the test made it fail."""
        failure = self.fail.pop(call, None)
        if failure is not None:
            raise failure
        self.calls.append((call, args))

    def count(self, call: str) -> int:
        return sum(1 for name, _ in self.calls if name == call)

    def discover(self, config: Config) -> ClusterState:
        self.record("discover")
        return self.state

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)

    def _name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    # the world moving --------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock.now
        for at, node in [b for b in self._booting if b[0] <= now]:
            self._booting.remove((at, node))
            if any(i.instance_id == node.instance_id for i in self.state.instances):
                self._set(nodes=(*self.state.nodes, node))
                self._start_daemon_pods(node.name)
        for key, rolling in list(self._rolls.items()):
            while rolling.pending and rolling.next_at <= now:
                self._restart_daemon_pod(key, rolling.pending.pop(0), rolling.image)
                rolling.next_at += self.roll_seconds
            if not rolling.pending:
                del self._rolls[key]

    def _daemon_image(self, key: tuple[str, str]) -> str:
        found = next(d for d in self.state.daemonsets if (d.namespace, d.name) == key)
        return found.containers[0].image

    def _start_daemon_pods(self, node: str) -> None:
        for ds in self.state.daemonsets:
            self._add_pod(ds.namespace, ds.name, node)

    def _add_pod(self, namespace: str, owner: str, node: str) -> Pod:
        pod = Pod(
            namespace=namespace,
            name=self._name(owner),
            node=node,
            phase="Running",
            host_network=True,
            ip=None,
            owner_kind="DaemonSet",
            owner_name=owner,
            cpu_m=10,
            memory=0,
            labels=(("k8s-app", owner),),
        )
        self._set(pods=(*self.state.pods, pod))
        return pod

    def _restart_daemon_pod(self, key: tuple[str, str], node: str, image: str) -> None:
        namespace, owner = key
        self._set(
            pods=tuple(
                p
                for p in self.state.pods
                if not (p.node == node and p.owner_kind == "DaemonSet" and p.owner_name == owner)
            )
        )
        self._add_pod(namespace, owner, node)
        if owner == "aws-node":
            self._cni_restarted(node)

    def _cni_restarted(self, node: str) -> None:
        """#59: a node's pods stay ContainerCreating after its aws-node restarts, until it
        has restarted ``stuck_nodes[node]`` more times."""
        left = self.stuck_nodes.get(node, 0)
        if left <= 0:
            self._unstick(node)
            return
        self.stuck_nodes[node] = left - 1
        self._stick(node)

    def _stick(self, node: str) -> None:
        self._set(
            pods=tuple(
                replace(
                    p,
                    phase="Pending",
                    waiting_reason="ContainerCreating",
                    ip=None,
                    last_event=NO_IP_EVENT,
                )
                if p.node == node and p.owner_kind == "ReplicaSet"
                else p
                for p in self.state.pods
            )
        )

    def _unstick(self, node: str) -> None:
        self._set(
            pods=tuple(
                replace(p, phase="Running", waiting_reason=None, ip=p.ip or "10.0.0.1")
                if p.node == node
                else p
                for p in self.state.pods
            )
        )

    def new_node(self, instance: Instance) -> Node:
        template = self.state.nodes[0]
        return replace(
            template,
            name=instance.private_dns_name,
            instance_id=instance.instance_id,
            az=instance.az,
            kubelet_version=f"v{self.target}.0-eks",
            kube_proxy_version=f"v{self.target}.0-eks",
            ready=True,
            unschedulable=False,
        )


class FakeAws:
    """:class:`upgrader.executor.ports.AwsPort` over a :class:`FakeWorld`."""

    def __init__(self, world: FakeWorld) -> None:
        self.w = world

    # CloudFormation
    def stack(self, name: str) -> Stack:
        self.w.record("stack", name)
        return next(s for s in self.w.state.stacks if s.name == name)

    def create_change_set(
        self,
        stack: str,
        parameters: dict[str, str],
        *,
        description: str,
        template: str | None = None,
    ) -> ChangeSet:
        self.w.record("create_change_set", stack, tuple(sorted(parameters.items())))
        name = self.w._name("upgrader")
        found = self.stack(stack)
        pending = StackChangeSet(
            name=name, change_set_id=name, status="CREATE_COMPLETE", execution_status="AVAILABLE"
        )
        self._replace_stack(replace(found, change_sets=(*found.change_sets, pending)))
        self.w.config_maps[("change-set", name)] = dict(parameters)
        return ChangeSet(name=name, id=name, stack=stack, status="CREATE_COMPLETE", changes=())

    def execute_change_set(self, stack: str, change_set: str) -> None:
        self.w.record("execute_change_set", stack, change_set)
        wanted = self.w.config_maps.pop(("change-set", change_set))
        found = self.stack(stack)
        parameters = tuple(sorted({**dict(found.parameters), **wanted}.items()))
        self._replace_stack(
            replace(found, parameters=parameters, status="UPDATE_COMPLETE", change_sets=())
        )
        self._declared_addons(found, wanted)
        version = wanted.get("KubernetesVersion")
        if version and stack.endswith("-eks"):
            cluster = replace(self.w.state.cluster, version=version)
            self.w._set(cluster=cluster, server_version=f"v{version}.0-eks")

    def _declared_addons(self, stack: Stack, wanted: dict[str, str]) -> None:
        """An AWS::EKS::Addon of the stack follows the parameter its AddonVersion takes."""
        versions = {}
        for addon in self.w.state.addons:
            source = addon_source(stack, addon.name) if addon.stack == stack.name else None
            if source is not None and source.parameter in wanted:
                versions[addon.name] = wanted[source.parameter]
        self.w._set(
            addons=tuple(
                replace(a, version=versions.get(a.name, a.version)) for a in self.w.state.addons
            )
        )

    def _replace_stack(self, stack: Stack) -> None:
        self.w._set(stacks=tuple(stack if s.name == stack.name else s for s in self.w.state.stacks))

    def wait_stack(
        self,
        stack: str,
        *,
        timeout_seconds: float,
        poll_seconds: float = 2.0,
        on_poll: Callable[[str, float], None] | None = None,
        clock: Clock = WALL,
    ) -> str:
        status = self.stack(stack).status
        if on_poll is not None:
            on_poll(status, 0.0)
        return status

    # EKS
    def cluster_version(self, cluster: str) -> tuple[str, str]:
        self.w.record("cluster_version", cluster)
        return self.w.state.cluster.version, "ACTIVE"

    def addon(self, cluster: str, name: str) -> tuple[str, str]:
        self.w.record("addon", name)
        found = next((a for a in self.w.state.addons if a.name == name), None)
        if found is None:
            raise CloudNotFoundError(f"EKS add-on {name}", "does not exist", "create it")
        return found.version, "ACTIVE"

    def update_addon(
        self,
        cluster: str,
        name: str,
        *,
        version: str,
        resolve_conflicts: str,
        configuration_values: str | None,
    ) -> str:
        """Updated at once (the fake has no add-on rollout)."""
        self.w.record("update_addon", name, version, resolve_conflicts, configuration_values)
        self.w._set(
            addons=tuple(
                replace(a, version=version) if a.name == name else a for a in self.w.state.addons
            )
        )
        return f"update-{name}-{version}"

    def create_addon(
        self,
        cluster: str,
        name: str,
        *,
        version: str,
        resolve_conflicts: str,
        configuration_values: str | None,
    ) -> None:
        """Created at once, ACTIVE (the fake has no add-on rollout)."""
        self.w.record("create_addon", name, version, resolve_conflicts, configuration_values)
        made = EksAddon(
            name=name,
            version=version,
            status="ACTIVE",
            configuration_values=configuration_values,
            service_account_role_arn=None,
        )
        self.w._set(addons=(*self.w.state.addons, made))

    def addon_update(self, cluster: str, name: str, update_id: str) -> tuple[str, tuple[str, ...]]:
        self.w.record("addon_update", update_id)
        return "Successful", ()

    # Auto Scaling
    def asg(self, name: str) -> AutoScalingGroup:
        self.w.record("asg", name)
        return next(a for a in self.w.state.asgs if a.name == name)

    def _replace_asg(self, asg: AutoScalingGroup) -> None:
        self.w._set(asgs=tuple(asg if a.name == asg.name else a for a in self.w.state.asgs))

    def set_capacity(
        self,
        name: str,
        *,
        desired: int,
        min_size: int | None = None,
        max_size: int | None = None,
    ) -> None:
        self.w.record("set_capacity", name, desired, min_size, max_size)
        asg = self.asg(name)
        launched = list(asg.instance_ids)
        template = next(i for i in self.w.state.instances if i.instance_id in asg.instance_ids)
        while len(launched) < desired:
            number = next(self.w._ids)
            instance = replace(
                template,
                instance_id=f"i-new{number:014d}",
                private_dns_name=f"ip-10-9-0-{number}.{self.w.state.region}.compute.internal",
                private_ip=f"10.9.0.{number}",
            )
            launched.append(instance.instance_id)
            self.w._set(instances=(*self.w.state.instances, instance))
            self.w._booting.append(
                (self.w.clock.now + self.w.boot_seconds, self.w.new_node(instance))
            )
        self._replace_asg(
            replace(
                asg,
                desired=desired,
                instance_ids=tuple(launched),
                min_size=asg.min_size if min_size is None else min_size,
                max_size=asg.max_size if max_size is None else max_size,
            )
        )

    def suspend_processes(self, name: str, processes: Sequence[str]) -> None:
        self.w.record("suspend_processes", name, tuple(processes))
        asg = self.asg(name)
        now = tuple(sorted({*asg.suspended_processes, *processes}))
        self._replace_asg(replace(asg, suspended_processes=now))

    def resume_processes(self, name: str, processes: Sequence[str]) -> None:
        self.w.record("resume_processes", name, tuple(processes))
        asg = self.asg(name)
        now = tuple(p for p in asg.suspended_processes if p not in processes)
        self._replace_asg(replace(asg, suspended_processes=now))

    def terminated(self, instance_ids: Sequence[str]) -> frozenset[str]:
        live = {i.instance_id for i in self.w.state.instances}
        return frozenset(i for i in instance_ids if i not in live)

    def terminate(self, instance_id: str, *, decrement: bool) -> None:
        self.w.record("terminate", instance_id, decrement)
        for asg in self.w.state.asgs:
            if instance_id in asg.instance_ids:
                ids = tuple(i for i in asg.instance_ids if i != instance_id)
                self._replace_asg(
                    replace(asg, instance_ids=ids, desired=asg.desired - int(decrement))
                )
        node = next((n.name for n in self.w.state.nodes if n.instance_id == instance_id), None)
        self.w._set(
            instances=tuple(i for i in self.w.state.instances if i.instance_id != instance_id),
            nodes=tuple(n for n in self.w.state.nodes if n.instance_id != instance_id),
            pods=tuple(p for p in self.w.state.pods if node is None or p.node != node),
        )

    def put_termination_hook(self, asg: str, name: str, *, heartbeat_seconds: int) -> None:
        self.w.record("put_termination_hook", asg, name)
        self.w.hooks.setdefault(asg, set()).add(name)

    def delete_lifecycle_hook(self, asg: str, name: str) -> None:
        self.w.record("delete_lifecycle_hook", asg, name)
        self.w.hooks.get(asg, set()).discard(name)

    def waiting_termination(self, asg: str) -> tuple[str, ...]:
        return ()

    def complete_lifecycle_action(
        self, asg: str, hook: str, instance_id: str, result: str = "CONTINUE"
    ) -> None:
        self.w.record("complete_lifecycle_action", asg, instance_id)

    def record_lifecycle_heartbeat(self, asg: str, hook: str, instance_id: str) -> None:
        self.w.record("record_lifecycle_heartbeat", asg, instance_id)

    # EC2
    def delete_eni(self, eni_id: str) -> None:
        self.w.record("delete_eni", eni_id)
        self.w._set(enis=tuple(e for e in self.w.state.enis if e.eni_id != eni_id))


class FakeKube:
    """:class:`upgrader.executor.ports.KubePort` over a :class:`FakeWorld`."""

    def __init__(self, world: FakeWorld) -> None:
        self.w = world

    def nodes(self) -> tuple[Node, ...]:
        return tuple(sorted(self.w.state.nodes, key=lambda n: n.name))

    def pods(
        self,
        *,
        namespace: str | None = None,
        node: str | None = None,
        label_selector: str | None = None,
    ) -> tuple[Pod, ...]:
        wanted = (
            dict(kv.split("=", 1) for kv in label_selector.split(",")) if label_selector else {}
        )
        return tuple(
            p
            for p in self.w.state.pods
            if (namespace is None or p.namespace == namespace)
            and (node is None or p.node == node)
            and all(dict(p.labels).get(k) == v for k, v in wanted.items())
        )

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (str(meta.get("namespace", "kube-system")), str(meta["name"]))
        self.w.record("apply", obj["kind"], key)
        if obj["kind"] == "DaemonSet":
            image = obj["spec"]["template"]["spec"]["containers"][0]["image"]
            if image != self.w._daemon_image(key):
                self._set_daemon_image(key, image)
                nodes = sorted(n.name for n in self.w.state.nodes)
                first = self.w.clock.now + self.w.roll_seconds
                self.w._rolls[key] = _Rolling(image=image, pending=nodes, next_at=first)
        return obj

    def _set_daemon_image(self, key: tuple[str, str], image: str) -> None:
        def updated(ds: DaemonSet) -> DaemonSet:
            if (ds.namespace, ds.name) != key:
                return ds
            first = ds.containers[0]
            return replace(ds, containers=(Container(name=first.name, image=image, env=first.env),))

        self.w._set(daemonsets=tuple(updated(d) for d in self.w.state.daemonsets))

    def daemonset_rollout(self, namespace: str, name: str) -> Rollout:
        nodes = len(self.w.state.nodes)
        rolling = self.w._rolls.get((namespace, name))
        done = nodes - (len(rolling.pending) if rolling else 0)
        return Rollout(
            generation=1, observed=1, desired=nodes, updated=done, ready=done, available=done
        )

    def deployment_rollout(self, namespace: str, name: str) -> Rollout:
        return Rollout(generation=1, observed=1, desired=1, updated=1, ready=1, available=1)

    def restart_deployment(self, namespace: str, name: str, at: str) -> None:
        """Its pods start again at once, on Fargate nodes of the cluster's version."""
        self.w.record("restart_deployment", f"{namespace}/{name}")
        prefix = f"{name}-"
        nodes = {
            p.node
            for p in self.w.state.pods
            if p.namespace == namespace and (p.owner_name or "").startswith(prefix)
        }
        kubelet = f"v{self.w.state.cluster.version}.0-eks"
        self.w._set(
            nodes=tuple(
                replace(n, kubelet_version=kubelet, kube_proxy_version=kubelet)
                if n.name in nodes
                else n
                for n in self.w.state.nodes
            )
        )

    def _set_node(self, name: str, unschedulable: bool) -> None:
        self.w._set(
            nodes=tuple(
                replace(n, unschedulable=unschedulable) if n.name == name else n
                for n in self.w.state.nodes
            )
        )

    def cordon(self, node: str) -> None:
        self.w.record("cordon", node)
        self._set_node(node, True)

    def uncordon(self, node: str) -> None:
        self.w.record("uncordon", node)
        self._set_node(node, False)

    def evict(self, namespace: str, name: str) -> Eviction:
        key = f"{namespace}/{name}"
        self.w.record("evict", key)
        pod = next(
            (p for p in self.w.state.pods if (p.namespace, p.name) == (namespace, name)), None
        )
        if pod is None:
            return Eviction(evicted=False, gone=True, blocked_by=None, message="")
        if self.w.refusals.get(key, 0) > 0:
            self.w.refusals[key] -= 1
            return Eviction(evicted=False, gone=False, blocked_by=f"{namespace}/pdb", message="429")
        load = {n.name: 0 for n in self.w.state.nodes if not n.unschedulable}
        load.pop(str(pod.node), None)
        for other in self.w.state.pods:
            if other.node in load:
                load[str(other.node)] += 1
        home = min(load, key=lambda n: (load[n], n)) if load else None  # the scheduler spreads
        moved = replace(pod, name=self.w._name(pod.owner_name or "pod"), node=home)
        self.w._set(pods=tuple(moved if p is pod else p for p in self.w.state.pods))
        return Eviction(evicted=True, gone=False, blocked_by=None, message="")

    def delete_pod(self, namespace: str, name: str) -> None:
        self.w.record("delete_pod", f"{namespace}/{name}")
        pod = next(p for p in self.w.state.pods if (p.namespace, p.name) == (namespace, name))
        self.w._set(pods=tuple(p for p in self.w.state.pods if p is not pod))
        if pod.owner_kind == "DaemonSet" and pod.node and pod.owner_name:
            self.w._restart_daemon_pod((namespace, pod.owner_name), pod.node, "")

    def replicas(self, namespace: str, name: str, *, kind: str = "Deployment") -> int | None:
        return self.w.autoscaler if name == "cluster-autoscaler" else None

    def ipamd_view(self, node: str, aws_node: Pod | None, guide: IpamdGuide) -> IpamdView:
        """ipamd holding every address EC2 shows on the node's ENIs, one assigned per pod
        with an IP (all of them for ``ipamd_full`` nodes): a #59 node has free ones."""
        self.w.record("ipamd_view", node)
        state = self.w.state
        instance = next(n.instance_id for n in state.nodes if n.name == node)
        enis = [e for e in state.enis if e.instance_id == instance]
        total = sum(e.addresses - 1 for e in enis)
        used = sum(1 for p in state.pods_on(node) if p.ip and not p.host_network)
        assigned = total if node in self.w.ipamd_full else min(used, total)
        doc = {
            "TotalIPs": total,
            "AssignedIPs": assigned,
            "ENIIPPools": {
                e.eni_id: {
                    "DeviceNumber": i,
                    "IsPrimary": i == 0,
                    "IPv4Addresses": {
                        f"10.{i}.0.{k}": {"Assigned": i * 100 + k < assigned}
                        for k in range(e.addresses - 1)
                    },
                }
                for i, e in enumerate(enis)
            },
        }
        return IpamdView(
            node=node,
            aws_node_pod=aws_node.name if aws_node else None,
            enis=json.dumps(doc),
            enis_source="fake",
        )

    def scale(self, namespace: str, name: str, replicas: int, *, kind: str = "Deployment") -> int:
        self.w.record("scale", f"{namespace}/{name}", replicas)
        previous = self.w.autoscaler or 0
        self.w.autoscaler = replicas
        return previous

    def acquire_lease(
        self,
        name: str,
        namespace: str,
        holder: str,
        *,
        seconds: int,
        stale: Callable[[str], bool] | None = None,
    ) -> Lease:
        current = self.w.leases.get((namespace, name), "")
        if current and current != holder and not (stale and stale(current)):
            return Lease(holder=current, acquired=False, expires_at=0.0)
        self.w.leases[(namespace, name)] = holder
        return Lease(holder=holder, acquired=True, expires_at=self.w.clock.now + seconds)

    def renew_lease(self, name: str, namespace: str, holder: str, *, seconds: int) -> Lease:
        return self.acquire_lease(name, namespace, holder, seconds=seconds)

    def release_lease(self, name: str, namespace: str, holder: str) -> None:
        if self.w.leases.get((namespace, name)) == holder:
            self.w.leases[(namespace, name)] = ""

    def read_config_map(self, name: str, namespace: str) -> dict[str, str] | None:
        found = self.w.config_maps.get((namespace, name))
        return None if found is None else dict(found)

    def write_config_map(self, name: str, namespace: str, data: dict[str, str]) -> None:
        self.w.record("write_config_map", f"{namespace}/{name}")
        self.w.config_maps[(namespace, name)] = dict(data)

    def close(self) -> None:
        pass


def eviction_failure(status: int, message: str) -> CloudError:
    """What the real :meth:`KubeActions.evict` raises when the Eviction API answers
    ``status`` (neither 2xx, 404 nor a PDB's 429) for pod app/web-1."""

    def route(method: str, path: str) -> Answer:
        if path == "/api/v1":
            entry = {"name": "pods/eviction", "group": "policy", "version": "v1beta1"}
            return 200, {"resources": [entry]}, {}
        return status, {"kind": "Status", "code": status, "message": message}, {}

    reader, _ = scripted_reader(route)
    try:
        KubeActions(reader).evict("app", "web-1")
    except CloudError as err:
        return err
    raise AssertionError(f"an eviction answered {status} did not fail")
