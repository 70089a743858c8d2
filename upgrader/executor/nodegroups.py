"""Rolling a node group in capacity-aware waves, drained through the Eviction API.

Each wave is re-planned from live state right before it runs: the gates are
re-measured, and the wave is the first wave :func:`upgrader.capacity.waves.plan_roll`
finds for the nodes still at the old version. A wave surges the ASG to its
original size + k, waits until the new nodes are Ready, cordons every old node still to
go (an evicted pod lands on a new node, never on one a later wave drains) and drains k
of them (evictions spread over the nodes, PDB refusals retried, the blocking PDB named),
then terminates them with decrement, which brings the ASG back to its original size,
and waits for EC2 to release their addresses before sizing the next wave. The cordoned
nodes are journaled first: any stop before their termination begins makes them
schedulable again. Every number is derived from live state and the journal, so a run
killed at any point resumes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from upgrader.errors import UpgraderError
from upgrader.executor.errors import GateFailedError, StepFailedError
from upgrader.executor.journal import AsgSnapshot
from upgrader.executor.session import Session
from upgrader.gates import SELF_MANAGED
from upgrader.gates import run as run_gates
from upgrader.model.kube import Node, Pod
from upgrader.model.plan import Severity
from upgrader.model.state import ClusterState
from upgrader.model.steps import NodegroupRollStep, NodegroupStackStep
from upgrader.planner import gate_inputs

SUSPENDED_DURING_ROLL = ("AZRebalance",)
AUTOSCALER = ("kube-system", "cluster-autoscaler")
NODE_READY_TIMEOUT = 15 * 60.0
DRAIN_TIMEOUT = 15 * 60.0
TERMINATE_TIMEOUT = 15 * 60.0
# Polls that pace the roll: a PDB allows the next eviction as soon as a replacement is
# Ready (seconds), and each wave waits on its boots and terminations.
DRAIN_POLL_SECONDS = 0.5
WAVE_POLL_SECONDS = 1.0
MANAGED_TIMEOUT = 120 * 60.0


def minor(version: str) -> str:
    """``v1.12.10-eks-ffbd96`` -> ``1.12``."""
    parts = version.lstrip("v").split(".")
    return ".".join(parts[:2])


def _evictable(pod: Pod) -> bool:
    return pod.owner_kind not in ("DaemonSet", "Node") and pod.phase not in ("Succeeded", "Failed")


def eviction_order(per_node: list[list[Pod]]) -> list[Pod]:
    """The pods still to evict (terminating ones are on their way), the nodes taking
    turns: when a budget allows only some disruptions, they spread over the wave's nodes
    instead of emptying one node while the others wait."""
    queues = [[p for p in pods if not p.terminating] for pods in per_node]
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


class Roll:
    """One nodegroup-roll step."""

    def __init__(self, s: Session, step: NodegroupRollStep | NodegroupStackStep) -> None:
        """A roll step, or a stack step whose nodes CloudFormation replaces (drains only)."""
        self.s, self.step = s, step
        self.group = step.nodegroup
        self.target = s.config.target_kubernetes.minor_str  # the step's hop
        if isinstance(step, NodegroupRollStep):
            self.asg, self.kind = step.asg or "", step.group_kind
            self.planned_waves = max(len(step.waves), 1)
        else:
            self.asg, self.kind, self.planned_waves = "", SELF_MANAGED, 1

    # state --------------------------------------------------------------------

    def _group_nodes(self, state: ClusterState) -> list[Node]:
        ids = set(self.s.aws.asg(self.asg).instance_ids)
        return [n for n in state.nodes if n.instance_id in ids]

    def _old(self, nodes: list[Node]) -> list[Node]:
        done = set(self.s.journal.terminated)
        return sorted(
            (
                n
                for n in nodes
                if minor(n.kubelet_version) != self.target and n.instance_id not in done
            ),
            key=lambda n: n.name,
        )

    def _next_wave(self, state: ClusterState, old: list[Node]) -> list[Node]:
        """Re-measure the gates on live state and take the first wave they allow."""
        old_names = {n.name for n in old}
        pending = dataclasses.replace(
            state,
            nodes=tuple(n for n in state.nodes if minor(n.kubelet_version) != self.target),
        )
        inputs = gate_inputs(pending, self.s.config)
        blocking = [
            f
            for f in run_gates(inputs)
            if f.id in self.step.gates and f.severity is Severity.BLOCKING
        ]
        if blocking:
            raise GateFailedError(
                f"step {self.step.id}",
                "a gate fails right before the next wave: "
                + "; ".join(f"{f.id} {f.subject}: {f.message}" for f in blocking),
                "fix what the gate names, then re-run apply; it resumes with this wave",
            )
        roll = next(g for g in inputs.groups if g.name == self.group).roll
        if not roll.waves:
            raise GateFailedError(
                f"node group {self.group}",
                "no wave can run: "
                + "; ".join(
                    f"{b.subnet_id} has {b.free_ips} free, a wave needs {b.demand} "
                    f"+ {b.reserve} reserve"
                    for b in roll.blockers
                ),
                "free addresses in the subnets named, then re-run apply",
            )
        # AZs take turns so a capped wave still spreads across zones.
        per_az = [list(az.drained) for az in roll.waves[0].steps]
        ordered = [
            name
            for i in range(max(map(len, per_az), default=0))
            for names in per_az
            if i < len(names)
            for name in names[i : i + 1]
        ]
        cap = self.s.config.gate("max_wave_nodes")
        chosen = [name for name in ordered if name in old_names][: cap or None]
        return [n for n in old if n.name in set(chosen)]

    # actions ------------------------------------------------------------------

    def run(self) -> None:
        if isinstance(self.step, NodegroupRollStep) and self.step.successor is not None:
            self._to_successor(self.step.successor)
            return
        if self.kind == "managed":
            self._managed()
            return
        asg = self.s.aws.asg(self.asg)
        self.s.save(
            self.s.journal.snapshot(
                AsgSnapshot(
                    name=asg.name,
                    min_size=asg.min_size,
                    max_size=asg.max_size,
                    desired=asg.desired,
                    suspended=asg.suspended_processes,
                )
            )
        )
        self.s.aws.suspend_processes(self.asg, SUSPENDED_DURING_ROLL)
        self._pause_autoscaler()
        wave = 0
        started = self.s.clock.monotonic()
        while True:
            state = self.s.discover()
            old = self._old(self._group_nodes(state))
            if not old:
                break
            batch = self._next_wave(state, old)
            wave += 1
            done = wave - 1
            per_wave = (self.s.clock.monotonic() - started) / done if done else None
            left = max(self.planned_waves - done, 1)
            names = tuple(n.name for n in batch)
            self.s.emit(
                "wave",
                f"replacing {len(batch)} of {len(old)} old node(s)",
                wave=(wave, done + left),
                nodes=names,
                eta=per_wave * left if per_wave else None,
            )
            self._wave(batch, old)
        self.restore()
        self.s.emit("info", f"node group {self.group}: every node at {self.target}")

    def _wave(self, batch: list[Node], old: list[Node]) -> None:
        original = self.s.journal.asg(self.asg)
        assert original is not None
        k, old_left = len(batch), len(old)
        size = original.desired + k
        asg = self.s.aws.asg(self.asg)
        if asg.desired != size or asg.max_size < size:
            self.s.aws.set_capacity(self.asg, desired=size, max_size=max(original.max_size, size))
        need_new = original.desired - old_left + k
        self.s.emit("wait", f"waiting for {need_new} node(s) Ready at {self.target}")
        self.s.wait(
            lambda: self._new_ready() >= need_new,
            what=f"{need_new} new node(s) of {self.group} Ready at {self.target}",
            timeout=NODE_READY_TIMEOUT,
            hint=f"check the activities of ASG {self.asg} and the new instances' kubelet; "
            "then re-run apply",
            most=WAVE_POLL_SECONDS,
        )
        # The later waves' nodes are cordoned too: a pod this wave evicts lands on a new
        # node, never on an old one a later wave would evict it from again (and grow).
        later = [n for n in old if n not in batch]
        self._mark_cordoned(tuple(n.name for n in (*batch, *later)))
        for node in later:
            if not node.unschedulable:
                self.s.kube.cordon(node.name)
        self.drain(batch)  # on any stop, restore() makes them schedulable again
        # From here on they go: a stop leaves them cordoned and drained for the re-run.
        self.s.save(dataclasses.replace(self.s.journal, cordoned=tuple(n.name for n in later)))
        for node in batch:
            self.s.aws.terminate(node.instance_id, decrement=True)
            self.s.save(self.s.journal.terminate(node.instance_id))
            self.s.emit("node", f"terminated {node.instance_id}", nodes=(node.name,))
        if old_left > k:
            self._wait_terminated(tuple(n.instance_id for n in batch))

    def _wait_terminated(self, ids: tuple[str, ...]) -> None:
        """Until EC2 has terminated ``ids``: their addresses come back to the subnets only
        then, and the next wave is sized on them (sooner, it would be smaller)."""
        self.s.emit("wait", f"waiting for {len(ids)} old instance(s) to terminate")
        self.s.wait(
            lambda: len(self.s.aws.terminated(ids)) == len(ids),
            what=f"EC2 to terminate {', '.join(ids)}",
            timeout=TERMINATE_TIMEOUT,
            hint=f"aws ec2 describe-instances --instance-ids {' '.join(ids)}; then re-run apply",
            most=WAVE_POLL_SECONDS,
        )

    def _mark_cordoned(self, names: tuple[str, ...]) -> None:
        """Journal the nodes a wave cordons before cordoning them; nodes an earlier,
        stopped wave cordoned that this one does not are made schedulable again."""
        for name in self.s.journal.cordoned:
            if name not in names:
                self.s.kube.uncordon(name)
        if self.s.journal.cordoned != names:
            self.s.save(dataclasses.replace(self.s.journal, cordoned=names))

    def _new_ready(self) -> int:
        ids = set(self.s.aws.asg(self.asg).instance_ids)
        return sum(
            1
            for n in self.s.kube.nodes()
            if n.instance_id in ids and n.ready and minor(n.kubelet_version) == self.target
        )

    def drain(self, batch: list[Node]) -> None:
        """Cordon, then evict every pod but DaemonSet and mirror pods, until none is left."""
        names = tuple(n.name for n in batch)
        for name in names:
            self.s.kube.cordon(name)
        blocked: dict[str, str] = {}

        def empty() -> bool:
            per_node = [[p for p in self.s.kube.pods(node=name) if _evictable(p)] for name in names]
            blocked.clear()
            refused: dict[tuple[str, str | None, str | None], str] = {}  # owner -> its PDB
            for pod in eviction_order(per_node):
                owner = (pod.namespace, pod.owner_kind, pod.owner_name)
                # an owner whose budget said no a moment ago is not asked again this poll
                pdb = refused.get(owner) or self.s.kube.evict(pod.namespace, pod.name).blocked_by
                if pdb:
                    blocked[f"{pod.namespace}/{pod.name}"] = pdb
                    if pod.owner_name is not None:
                        refused[owner] = pdb
            return not any(per_node)

        def report(_: float) -> None:
            if blocked:
                pod, pdb = sorted(blocked.items())[0]
                self.s.emit("wait", f"PDB {pdb} refuses to evict {pod} yet; retrying", nodes=names)

        self.s.emit("info", "cordoned; draining through the Eviction API", nodes=names)
        try:
            self.s.wait(
                empty,
                what=f"pods to leave {', '.join(names)}",
                timeout=DRAIN_TIMEOUT,
                hint="the PDB and pod named above block the drain: add replicas or relax the PDB",
                on_poll=report,
                most=DRAIN_POLL_SECONDS,
            )
        except StepFailedError as err:
            detail = ", ".join(f"{pod} (PDB {pdb})" for pod, pdb in sorted(blocked.items()))
            raise StepFailedError(
                err.subject,
                f"{err.message}; still blocked: {detail or 'pods terminating'}",
                err.hint,
            ) from None

    def _pause_autoscaler(self) -> None:
        namespace, name = AUTOSCALER
        replicas = self.s.kube.replicas(namespace, name)
        if replicas is None:
            return
        if self.s.journal.autoscaler_replicas is None:
            self.s.save(dataclasses.replace(self.s.journal, autoscaler_replicas=replicas))
        if replicas:
            self.s.kube.scale(namespace, name, 0)
            self.s.emit("info", "cluster-autoscaler scaled to 0 during the roll")

    def restore(self) -> None:
        """ASG sizes and processes as they were, and the cluster autoscaler back."""
        restore(self.s, self.asg)

    def _to_successor(self, successor: str) -> None:
        """Blue/green: the successor group's nodes Ready at the target, then every node of
        the old group cordoned and drained one by one (the retire step deletes the group).
        Resumable: nodes already drained are drained again at no cost."""
        old = sorted(
            (n for n in self.s.kube.nodes() if n.nodegroup == self.group), key=lambda n: n.name
        )

        def successor_ready() -> int:
            return sum(
                1
                for n in self.s.kube.nodes()
                if n.nodegroup == successor and n.ready and minor(n.kubelet_version) == self.target
            )

        need = len(old)
        self.s.emit("wait", f"waiting for {need} node(s) of {successor} Ready at {self.target}")
        self.s.wait(
            lambda: successor_ready() >= need,
            what=f"{need} node(s) of managed node group {successor} Ready at {self.target}",
            timeout=MANAGED_TIMEOUT,
            hint=f"aws eks describe-nodegroup --nodegroup-name {successor} (health issues); "
            "then re-run apply",
        )
        self._pause_autoscaler()
        names = tuple(n.name for n in old)
        self._mark_cordoned(names)
        for name in names:  # cordoned at once: no evicted pod lands on an old node
            self.s.kube.cordon(name)
        for i, node in enumerate(old, start=1):
            self.s.emit("wave", f"draining {node.name} into {successor}", wave=(i, len(old)))
            self.drain([node])
        # drained and cordoned for the retire step, which deletes the group
        self.s.save(dataclasses.replace(self.s.journal, cordoned=()))
        self.restore()
        self.s.emit("info", f"node group {self.group}: every pod moved to {successor}")

    def _managed(self) -> None:
        """EKS rolled the group during its stack update; check every node is new."""

        def all_new() -> bool:
            state = self.s.discover()
            nodes = [n for n in state.nodes if n.nodegroup == self.group]
            return bool(nodes) and all(minor(n.kubelet_version) == self.target for n in nodes)

        self.s.wait(
            all_new,
            what=f"EKS to replace every node of managed node group {self.group}",
            timeout=MANAGED_TIMEOUT,
            hint=f"aws eks describe-nodegroup --nodegroup-name {self.group}; then re-run apply",
        )


def restore(s: Session, asg_name: str | None = None) -> None:
    """Put back what apply changed: ASG sizes and processes (all, or one), the cluster
    autoscaler, and the nodes a wave cordoned but had not begun to terminate. Every part is
    tried even when one fails; the failures are reported together (exit 4)."""
    problems: list[str] = []

    def attempt(what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except UpgraderError as err:
            problems.append(f"{what}: {err.subject}: {err.message}")

    for snap in s.journal.asgs:
        if asg_name is None or snap.name == asg_name:
            attempt(f"ASG {snap.name}", functools.partial(_restore_asg, s, snap))
    if s.journal.cordoned:
        attempt("cordoned nodes", functools.partial(_uncordon_wave, s))
    if s.journal.autoscaler_replicas:
        namespace, name = AUTOSCALER
        replicas = s.journal.autoscaler_replicas
        attempt(
            f"Deployment {namespace}/{name}",
            functools.partial(s.kube.scale, namespace, name, replicas),
        )
    if problems:
        raise StepFailedError(
            "restore after apply stopped",
            "could not put back " + "; ".join(problems),
            "re-run apply (it restores again, then resumes), or set the ASG sizes, suspended "
            "processes and cluster-autoscaler replicas back by hand",
        )


def _restore_asg(s: Session, snap: AsgSnapshot) -> None:
    live = s.aws.asg(snap.name)
    if len(live.instance_ids) <= snap.desired:
        desired, max_size = snap.desired, snap.max_size
    else:
        # A stop mid-wave: lowering desired now would let the ASG pick which node to
        # terminate, maybe an undrained one. Keep every instance; the re-run finishes
        # the wave and terminates the drained nodes with decrement.
        desired = len(live.instance_ids)
        max_size = max(snap.max_size, desired)
    s.aws.set_capacity(snap.name, desired=desired, min_size=snap.min_size, max_size=max_size)
    ours = [p for p in SUSPENDED_DURING_ROLL if p not in snap.suspended]
    s.emit(
        "info",
        f"restored ASG {snap.name}: desired {desired} (min {snap.min_size}, max {max_size})"
        + (f"; resuming {', '.join(ours)}" if ours else ""),
    )
    s.aws.resume_processes(snap.name, ours)


def _uncordon_wave(s: Session) -> None:
    names = s.journal.cordoned
    for name in names:
        s.kube.uncordon(name)
    s.save(dataclasses.replace(s.journal, cordoned=()))
    s.emit("info", "uncordoned the stopped wave's nodes", nodes=names)


def roll(s: Session, step: NodegroupRollStep) -> None:
    Roll(s, step).run()


def drain_retired(s: Session, step: NodegroupStackStep) -> None:
    """Before the stack update that deletes ``step.retires``: every node of that group
    cordoned and empty (the roll drained them; a pod scheduled since is drained now)."""
    nodes = sorted((n for n in s.kube.nodes() if n.nodegroup == step.retires), key=lambda n: n.name)
    if nodes:
        Roll(s, step).drain(nodes)
