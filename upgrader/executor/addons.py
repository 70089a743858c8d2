"""Add-on steps: kube-proxy, CoreDNS and the VPC CNI, applied from the plan's
compiled manifests and watched until rolled out.

For the CNI, every node whose aws-node pod restarted is gated: no pod of that
node may stay ContainerCreating. A node whose pods do is diagnosed as ``upgrader
diagnose`` does (ipamd's pool and metrics, EC2's ENIs, the subnet): the #59 pattern
(ipamd's datastore stuck with free addresses) is remediated once by restarting that
node's aws-node; any other cause (a dry subnet, a type the new ipamd does not know, the
node's limit), or pods still stuck after the restart, stops apply (exit 4) with the
diagnosis in the message and the journal.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NoReturn

from upgrader.diagnosis import Finding, Severity, diagnose
from upgrader.diagnosis.checks import running_cni
from upgrader.errors import UpgraderError
from upgrader.executor.errors import StepFailedError
from upgrader.executor.session import Session
from upgrader.model.kube import Pod
from upgrader.model.records import JsonObject
from upgrader.model.steps import AddonStep, CniStep, ManifestStep, Step
from upgrader.runbook.ipamd import guide

SYSTEM = "kube-system"
ROLLOUT_TIMEOUT_PER_NODE = 5 * 60.0
DEFAULT_GRACE_SECONDS = 60
# Findings a restart of aws-node may cure: #59, and pods waiting without another cause.
RESTART_HELPS = frozenset({"IPAMD004", "IPAMD009", "IPAMD006"})


def _workload(step: ManifestStep) -> JsonObject:
    manifest = step.manifest
    if not manifest:
        raise StepFailedError(
            f"step {step.id}",
            "the plan holds no compiled manifest for it",
            "re-run `upgrader plan` (it compiles the manifests) and apply the new plan",
        )
    kinds = {"DaemonSet", "Deployment"}
    return next(o for o in manifest if o.get("kind") in kinds)


def _selector(obj: JsonObject) -> str:
    spec = obj.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    labels = selector.get("matchLabels") if isinstance(selector, dict) else None
    if not isinstance(labels, dict):
        return ""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def addon(s: Session, step: AddonStep | CniStep) -> None:
    """Apply the manifest and wait for the rollout (CNI steps gate each node)."""
    workload = _workload(step)
    selector = _selector(workload)
    cni = isinstance(step, CniStep)
    before = before_rollout(s, selector, journaled=cni)
    for obj in step.manifest or ():
        s.kube.apply(obj)
    s.emit("info", f"applied {len(step.manifest or ())} object(s) of {step.namespace}/{step.name}")
    rollout(s, step, str(workload["kind"]), step.name, selector, before, gate_nodes=cni)


def rollout(
    s: Session,
    step: Step,
    kind: str,
    name: str,
    selector: str,
    before: dict[str, str],
    *,
    gate_nodes: bool,
) -> None:
    """Wait for ``kind`` kube-system/``name`` to roll out; with ``gate_nodes`` (the CNI),
    no pod of a node whose aws-node restarted may stay ContainerCreating."""
    namespace = SYSTEM
    nodes = max(len(s.kube.nodes()), 1)
    timeout = ROLLOUT_TIMEOUT_PER_NODE * nodes
    if kind == "Deployment":
        s.wait(
            lambda: s.kube.deployment_rollout(namespace, name).done,
            what=f"Deployment {namespace}/{name} to roll out",
            timeout=timeout,
            hint=f"kubectl -n {namespace} rollout status deployment/{name}; then re-run apply",
        )
        return
    gate = _NodeGate(s, step, namespace, selector, before) if gate_nodes else None

    def rolled() -> bool:
        if gate is not None:
            gate.check()
        return s.kube.daemonset_rollout(namespace, name).done and (gate is None or gate.idle())

    s.wait(
        rolled,
        what=f"DaemonSet {namespace}/{name} to roll out",
        timeout=timeout,
        hint=f"kubectl -n {namespace} rollout status daemonset/{name}; then re-run apply",
    )
    if gate is not None:
        gate.finish()


def before_rollout(s: Session, selector: str, *, journaled: bool) -> dict[str, str]:
    """Each node's pod of the object before it changes. Journaled (the CNI) first, so a
    run resuming the step gates the nodes restarted before the stop."""
    if journaled and s.journal.rollout_before:
        return dict(s.journal.rollout_before)
    pods = s.kube.pods(namespace=SYSTEM, label_selector=selector)
    before = {p.node: p.name for p in pods if p.node}
    if journaled:
        s.save(replace(s.journal, rollout_before=tuple(sorted(before.items()))))
    return before


class _NodeGate:
    """After a node's aws-node restarts: no pod of the node stuck in ContainerCreating."""

    def __init__(
        self,
        s: Session,
        step: Step,
        namespace: str,
        selector: str,
        before: dict[str, str],
    ) -> None:
        self.s, self.step = s, step
        self.namespace, self.selector, self.before = namespace, selector, before
        self.grace = float(
            dict(s.plan.context.gates).get("cni_restart_grace_seconds", DEFAULT_GRACE_SECONDS)
        )
        self.stuck_since: dict[str, float] = {}
        self.remediated: dict[str, str] = {}  # node -> aws-node pod we restarted
        self.passed: set[str] = set()

    def _restarted(self) -> dict[str, Pod]:
        pods = self.s.kube.pods(namespace=self.namespace, label_selector=self.selector)
        return {
            p.node: p
            for p in pods
            if p.node
            and p.phase == "Running"
            and not p.terminating
            and p.name != self.before.get(p.node)
        }

    def check(self) -> None:
        now = self.s.clock.monotonic()
        for node, cni_pod in sorted(self._restarted().items()):
            if node in self.passed or self.remediated.get(node) == cni_pod.name:
                continue
            stuck = [p for p in self.s.kube.pods(node=node) if p.stuck_creating]
            if not stuck:
                self.stuck_since.pop(node, None)
                self.passed.add(node)
                self.s.emit("gate", f"POD001 ok on {node} after aws-node restarted", nodes=(node,))
                continue
            since = self.stuck_since.setdefault(node, now)
            if now - since < self.grace:
                continue
            findings = self._diagnose(node, cni_pod)
            causes = [f for f in findings if f.code not in RESTART_HELPS]
            if node not in self.remediated and not causes:
                self._remediate(node, cni_pod, stuck, findings)
                continue
            self._stop(node, stuck, causes or findings)

    def _diagnose(self, node: str, cni_pod: Pod) -> list[Finding]:
        """The node's problems as ``upgrader diagnose --node`` finds them (none when the
        diagnosis itself cannot be made: then the restart is tried, as before)."""
        try:
            state = self.s.discover()
            version, env = running_cni(state)
            if version is None:
                return []
            view = self.s.kube.ipamd_view(node, cni_pod, guide(version, env))
            result = diagnose(state, {node: view}, only_node=node)
        except UpgraderError as err:
            self.s.emit("gate", f"could not diagnose {node}: {err.message}", nodes=(node,))
            return []
        return [
            f for f in result.findings if f.severity is Severity.PROBLEM and node in f.objects.nodes
        ]

    def _stop(self, node: str, stuck: list[Pod], findings: list[Finding]) -> NoReturn:
        pods = ", ".join(f"{p.namespace}/{p.name}" for p in stuck[:5])
        restarted = " after aws-node restarted twice" if node in self.remediated else ""
        why = [f"{f.code} {f.subject}: {f.message}" for f in findings]
        self.s.save(
            replace(
                self.s.journal,
                notes=(*self.s.journal.notes, f"{self.step.id} stopped on {node}: {pods}", *why),
            )
        )
        remedy = next((f.remedy[0] for f in findings if f.remedy), None)
        raise StepFailedError(
            f"node {node}",
            f"{len(stuck)} pod(s) stay ContainerCreating{restarted} ({pods}); "
            + ("diagnosis: " + "; ".join(why) if why else f"last event: {stuck[0].last_event}"),
            (f"{remedy}; then " if remedy else "")
            + f"re-run apply, which resumes this step (`upgrader diagnose -c CONFIG --node "
            f"{node}` shows ipamd's view)",
        )

    def _remediate(self, node: str, cni_pod: Pod, stuck: list[Pod], why: list[Finding]) -> None:
        evidence = f" ({why[0].code}: {why[0].message})" if why else ""
        self.s.emit(
            "gate",
            f"{len(stuck)} pod(s) stuck ContainerCreating on {node}{evidence}: restarting its "
            "aws-node once (aws/amazon-vpc-cni-k8s#59)",
            nodes=(node,),
        )
        self.s.kube.delete_pod(self.namespace, cni_pod.name)
        self.remediated[node] = cni_pod.name
        self.stuck_since.pop(node, None)

    def idle(self) -> bool:
        """Every node with a restarted aws-node has passed its check."""
        restarted = self._restarted()
        return all(node in self.passed for node in restarted)

    def finish(self) -> None:
        if self.remediated:
            nodes = ", ".join(sorted(self.remediated))
            self.s.emit("gate", f"#59 remediated by restarting aws-node on {nodes}")
