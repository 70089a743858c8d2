"""The runbook document: header, order and why, the chain of hops (plans of several minors),
findings, EKS upgrade insights, capacity, add-ons, nodes upgrader does not own, steps,
timeline, sign-off."""

from __future__ import annotations

from upgrader.catalog.versions import catalog
from upgrader.errors import UpgraderError
from upgrader.gates import rule
from upgrader.markdown import bullets, cell, code, inline, table
from upgrader.model.plan import Finding, Plan, Severity
from upgrader.model.steps import (
    CniStep,
    ControlPlaneStep,
    ManagedAddonStackStep,
    NodegroupStackStep,
    Step,
)
from upgrader.runbook import capacity, insights, inventory, ipamd
from upgrader.runbook.durations import step_minutes
from upgrader.runbook.hops import section as chain_section
from upgrader.runbook.placeholder import UNKNOWN
from upgrader.runbook.redact import safe_mapping, scrub
from upgrader.runbook.steps import cni_path, step_guide
from upgrader.runbook.timeline import gantt
from upgrader.runbook.titles import title

SEVERITY = {Severity.BLOCKING: "❌ blocking", Severity.ADVISORY: "⚠️ advisory"}


def _gate_title(gate_id: str) -> str:
    try:
        return rule(gate_id).title
    except KeyError:
        return ""


def _arrow(old: str, new: str) -> str:
    return inline(old) if old == new else f"{inline(old)} → {inline(new)}"


def _sorted_findings(plan: Plan) -> list[Finding]:
    return sorted(
        plan.findings,
        key=lambda f: (f.severity is not Severity.BLOCKING, f.id, f.subject, f.message),
    )


def _blocking_steps(plan: Plan) -> frozenset[str]:
    blocking = {f.id for f in plan.findings if f.severity is Severity.BLOCKING}
    return frozenset(s.id for s in plan.steps if blocking.intersection(s.gates))


def header(plan: Plan) -> str:
    """Title, status banner and the summary table."""
    groups = "; ".join(
        f"{inline(g.name)}: {g.kind}, {g.nodes} x {g.instance_type} (stack {inline(g.stack)})"
        for g in plan.context.nodegroups
    )
    cni, stacks = plan.context.cni, plan.context.stacks
    env = safe_mapping(dict(cni.env))
    settings = ", ".join(inline(f"{k}={v}") for k, v in env.items()) or "defaults"
    thresholds = safe_mapping(dict(plan.context.gates))
    blocking = [f for f in _sorted_findings(plan) if f.severity is Severity.BLOCKING]
    status = f"❌ **BLOCKED**: {len(blocking)} blocking finding(s)" if plan.blocked else "✅ ready"
    rows = [
        ["Cluster", inline(plan.cluster)],
        ["Region", inline(plan.region)],
        ["Kubernetes", _arrow(plan.from_.kubernetes, plan.to.kubernetes)],
        ["VPC CNI", " → ".join(inline(v) for v in cni_path(plan))],
        ["kube-proxy", _arrow(plan.from_.kube_proxy, plan.to.kube_proxy)],
        ["CoreDNS", _arrow(plan.from_.coredns, plan.to.coredns)],
        ["Node groups", groups or UNKNOWN],
        [
            "Stacks",
            f"control plane {inline(stacks.control_plane)}; node groups "
            + (", ".join(inline(s) for s in stacks.nodegroups) or UNKNOWN),
        ],
        ["CNI settings", f"{settings}; mode {inline(cni.mode)}"],
        ["Gate thresholds", ", ".join(f"{k}={v}" for k, v in thresholds.items()) or "defaults"],
        ["Plan digest", inline(plan.digest)],
        ["Plan fingerprint", inline(plan.fingerprint)],
        ["Status", status],
    ]
    parts = [
        f"# Upgrade runbook: {plan.cluster} ({plan.region}), Kubernetes"
        f" {plan.from_.kubernetes} → {plan.to.kubernetes}",
        "",
        "Rendered by `upgrader runbook` from the plan file alone. `upgrader apply` runs exactly"
        " these steps in this order, re-checks each step's gates right before it, and exits 5"
        " if the cluster changed since planning (the fingerprint no longer matches). It refuses"
        " a plan file whose content no longer matches its digest, and with"
        f" `--expect-digest {plan.digest}` any plan but this one.",
        "",
    ]
    if plan.blocked:
        parts += [
            "> [!CAUTION]",
            f"> **BLOCKED**: `upgrader apply` will not start. {len(blocking)} blocking"
            " finding(s) must be fixed and the plan made again:",
            ">",
            *(
                f"> - **{f.id}** {cell(scrub(f.subject))}: {cell(scrub(f.message))}"
                for f in blocking
            ),
            "",
        ]
    parts.append(table(["", ""], rows))
    notes = [scrub(n) for n in cni.notes]
    if notes:
        parts += ["", "CNI notes:", "", bullets(notes)]
    return "\n".join(parts)


def _kubelet_skew(plan: Plan) -> str:
    try:
        return str(catalog().kubernetes(plan.to.kubernetes).kubelet_skew)
    except UpgraderError:
        return "2 (3 from 1.28)"


def order(plan: Plan) -> str:
    """The "Order and why" section (users are confused about it: eksctl#910)."""
    steps = [
        f"{n}. {scrub(title(s))} ({inline(s.id)}, {step_minutes(s)})"
        for n, s in enumerate(plan.steps, 1)
    ]
    hops = len([s for s in plan.steps if isinstance(s, CniStep)])
    why = [
        "**Control plane first.** The API server must be the newest component: kubelets may"
        f" be up to {_kubelet_skew(plan)} minors older than it and never newer, so nodes can"
        " only follow it. EKS moves the control plane one minor at a time, and a cluster"
        " stopped right after this step is still within the skew policy.",
        "**Add-ons next** (kube-proxy, CoreDNS, VPC CNI), in the order of the EKS update"
        " guide: they must never be newer than the API server, and the new nodes should boot"
        " with the add-on versions they will run with.",
        f"**VPC CNI one minor per step** ({hops} step(s) here): each minor's manifest changes"
        " RBAC, the ENIConfig CRD and ipamd's rules, AWS supports one minor at a time, v1.5.4"
        " is never applied (aws/amazon-vpc-cni-k8s#641), v1.7 must run before v1.12, and the"
        " user's env is carried into every step (eksctl#933 lost it). Every step is checked"
        " node by node for pods stuck in `ContainerCreating` before the next one starts.",
        "**Node groups last**: the new kubelets are never newer than the API server, and the"
        " new nodes boot with the target ipamd, whose warm-pool rules the capacity gate"
        " (CAP001) used to predict each subnet's peak.",
        "**Why upgrader drains nodes itself instead of CloudFormation's rolling update**:"
        " `AutoScalingRollingUpdate` terminates instances in batches without cordoning or"
        " draining them, ignores PodDisruptionBudgets and knows nothing about subnet"
        " addresses. upgrader surges k new nodes (k = the largest wave every gate allows),"
        " drains old nodes through the Eviction API (PDB refusals retried, the blocking PDB"
        " named), terminates them, and restores the ASG sizes and processes even on failure.",
    ]
    return "\n".join(["## Order and why", "", *steps, "", bullets(why)])


def findings(plan: Plan) -> str:
    """The findings table, blocking first."""
    rows = [
        [inline(f.id), SEVERITY[f.severity], scrub(f.subject), scrub(f.message)]
        for f in _sorted_findings(plan)
    ]
    body = table(["ID", "Severity", "Subject", "Message"], rows) if rows else "No findings."
    return "\n".join(["## Findings", "", body])


def _gate_rows(plan: Plan, step: Step) -> list[list[str]]:
    rows = []
    for gate in step.gates:
        hits = [f for f in _sorted_findings(plan) if f.id == gate]
        check = _gate_title(gate)
        if not hits:
            rows.append([inline(gate), check, "✅ pass", "", ""])
        rows += [
            [inline(gate), check, SEVERITY[f.severity], scrub(f.subject), scrub(f.message)]
            for f in hits
        ]
    return rows


def step_section(plan: Plan, n: int, step: Step, plan_file: str) -> str:
    """One step: what, gates, commands, duration, rollback."""
    guide = step_guide(plan, step, plan_file)
    parts = [
        f"### {n}. {scrub(title(step))} ({inline(step.id)})",
        "",
        f"Kind {inline(step.kind)} · expected duration **{step_minutes(step)}**",
        "",
        f"*Plan:* {scrub(' '.join(step.description.split()))}",
        "",
    ]
    stoppers = sorted(
        {f.id for f in plan.findings if f.severity is Severity.BLOCKING and f.id in step.gates}
    )
    if stoppers:
        parts += [
            "> [!CAUTION]",
            f"> Blocked by {', '.join(stoppers)}: `upgrader apply` stops before this step.",
            "",
        ]
    parts.append(scrub(guide.what))
    for block in guide.details:
        parts += ["", block]
    parts += ["", "**Gates** (re-checked by `upgrader apply` right before this step):", ""]
    gate_rows = _gate_rows(plan, step)
    parts.append(
        table(["Gate", "Checks", "Result", "Subject", "Message"], gate_rows)
        if gate_rows
        else "No gate."
    )
    if guide.commands:
        parts += ["", "**Commands** (to watch it, or to do it by hand):", "", code(guide.commands)]
    if guide.rollback or guide.rollback_commands:
        parts += ["", "**Rollback**: " + guide.rollback]
        if guide.rollback_commands:
            parts += ["", code(guide.rollback_commands)]
    return "\n".join(parts)


def _metric_names_change(plan: Plan) -> bool:
    prefixes = {bool(g.metric_prefix) for g in ipamd.plan_guides(plan)}
    return len(prefixes) > 1


def sign_off(plan: Plan) -> str:
    """Checkboxes for the reviewers and the operator."""
    change_sets = sorted(
        {
            s.change_set.name
            for s in plan.steps
            if isinstance(s, ControlPlaneStep | NodegroupStackStep | ManagedAddonStackStep)
            and s.change_set is not None
        }
    )
    boxes = [
        f"[ ] Plan reviewed: digest {inline(plan.digest)}, every finding understood",
        "[ ] Change sets reviewed: " + (", ".join(inline(c) for c in change_sets) or "none"),
        "[ ] Capacity reviewed: every roll margin ≥ 0",
        "[ ] Maintenance window agreed; the on-call engineer has this runbook",
        *(f"[ ] Step {n} {inline(s.id)} done and checked" for n, s in enumerate(plan.steps, 1)),
    ]
    if _metric_names_change(plan):
        boxes.append("[ ] Dashboards and alerts use the new `awscni_` metric names")
    return "\n".join(
        [
            "## Sign-off",
            "",
            bullets(boxes),
            "",
            table(
                ["Role", "Name", "Date"],
                [["Author", "", ""], ["Reviewer", "", ""], ["Approver", "", ""]],
            ),
        ]
    )


def render(plan: Plan, plan_file: str = "PLAN.json") -> str:
    """The Markdown runbook of ``plan``; ``plan_file`` is the path the commands read it from."""
    steps = [step_section(plan, n, s, plan_file) for n, s in enumerate(plan.steps, 1)]
    chain = chain_section(plan)
    sections = [
        header(plan),
        order(plan),
        *([chain] if chain else []),
        findings(plan),
        insights.section(plan, plan_file),
        capacity.section(plan),
        inventory.addons(plan),
        inventory.unowned(plan),
        "\n\n".join(["## Steps", *steps]),
        "\n".join(["## Timeline", "", gantt(plan, _blocking_steps(plan))]),
        ipamd.section(plan),
        sign_off(plan),
    ]
    return "\n\n".join(sections) + "\n"
