"""The runbook's inventory: the add-ons table, and the nodes upgrader does not own
(Fargate, Karpenter, nodes of no configured node group) with how each follows."""

from __future__ import annotations

from upgrader.markdown import bullets, code, inline, table
from upgrader.model.context import AddonContext, FargateWorkloadContext, UnownedNodesContext
from upgrader.model.plan import Plan
from upgrader.model.steps import (
    FargateRestartStep,
    ManagedAddonAdoptStep,
    ManagedAddonStackStep,
    ManagedAddonStep,
    StepKind,
)
from upgrader.model.unowned import FARGATE, KARPENTER, NODEPOOL_LABEL
from upgrader.runbook.redact import scrub

# the step kind that applies an add-on's manifest, when it is self-managed
MANIFEST_KINDS = {
    "vpc-cni": StepKind.CNI,
    "kube-proxy": StepKind.KUBE_PROXY,
    "coredns": StepKind.COREDNS,
}
NODES_SHOWN = 5
FARGATE_SELECTOR = "eks.amazonaws.com/compute-type=fargate"


def _managed_by(addon: AddonContext) -> str:
    if addon.managed:
        return f"EKS add-on ({addon.status or 'status unknown'})"
    kind, _, obj = addon.runs_as.partition(" ")
    return f"self-managed ({kind} {inline(obj)})"


def _addon_commands(plan: Plan, addon: AddonContext) -> list[str]:
    name, cluster = addon.name, plan.cluster
    update = (
        f"aws eks update-addon --cluster-name {cluster} --addon-name {name}"
        " --addon-version VERSION --resolve-conflicts PRESERVE"
    )
    lines = [
        f"aws eks describe-addon-versions --addon-name {name} --kubernetes-version"
        f" {plan.to.kubernetes} --query 'addons[].addonVersions[].addonVersion'",
    ]
    if addon.configured:  # passed back as they are, byte for byte
        lines.append(
            f"aws eks describe-addon --cluster-name {cluster} --addon-name {name}"
            f" --query addon.configurationValues --output text > {name}-values.json"
        )
        update += f" --configuration-values file://{name}-values.json"
    return [
        *lines,
        update,
        f"aws eks wait addon-active --cluster-name {cluster} --addon-name {name}",
    ]


def addons(plan: Plan) -> str:
    """The add-ons table, and how each EKS managed add-on follows the plan."""
    rows = [
        [
            inline(a.name),
            _managed_by(a),
            inline(a.version) if a.version else "—",
            ("yes" if a.configured else "no") if a.managed else "—",
            f"yes: {inline(a.stack)}" if a.stack else "no",
        ]
        for a in plan.context.addons
    ]
    if not rows:
        return "\n".join(
            ["## Add-ons", "", "No add-on found (neither EKS managed nor self-managed)."]
        )
    parts = [
        "## Add-ons",
        "",
        table(["Add-on", "Managed by", "Version now", "configurationValues", "In a stack"], rows),
    ]
    own = [a.name for a in plan.context.addons if not a.managed and a.name in MANIFEST_KINDS]
    other = [a.name for a in plan.context.addons if not a.managed and a.name not in own]
    notes = []
    if own:
        notes.append(f"{', '.join(map(inline, own))}: updated by this plan's manifest steps.")
    if other:
        notes.append(f"{', '.join(map(inline, other))}: self-managed; upgrader does not update it.")
    if notes:
        parts += ["", bullets(notes)]
    managed = [a for a in plan.context.addons if a.managed]
    if not managed:
        return "\n".join(parts)
    kinds = {s.kind for s in plan.steps}
    clash = [a.name for a in managed if MANIFEST_KINDS.get(a.name) in kinds]
    if clash:
        parts += [
            "",
            "> [!WARNING]",
            f"> {', '.join(map(inline, clash))}: EKS manages it, yet a step of this plan applies"
            " its manifest. EKS may revert that change on its next update of the add-on, or"
            " report a conflict: prefer updating it through EKS (below).",
        ]
    adopting = {s.addon for s in plan.steps if isinstance(s, ManagedAddonAdoptStep)}
    stepped = {
        s.addon
        for s in plan.steps
        if isinstance(s, ManagedAddonStep)
        and not isinstance(s, ManagedAddonStackStep | ManagedAddonAdoptStep)
    }
    stacked = {s.addon for s in plan.steps if isinstance(s, ManagedAddonStackStep)}
    by_hand = [a for a in managed if not a.stack and a.name not in stepped | adopting]
    in_stacks = [a for a in managed if a.stack and a.name not in stacked]
    notes = []
    if adopting:
        notes.append(
            f"{', '.join(map(inline, sorted(adopting)))}: self-managed now; made EKS managed"
            " add-ons by this plan's first steps (`addons.adopt`: `CreateAddon`,"
            " `resolveConflicts` OVERWRITE, vpc-cni's `configurationValues` from `cni.env`)."
        )
    if stepped:
        notes.append(
            f"{', '.join(map(inline, sorted(stepped)))}: updated by this plan's EKS add-on steps"
            " (`UpdateAddon`, `resolveConflicts` PRESERVE, `configurationValues` sent back as"
            " they are) to versions EKS offers for each Kubernetes minor."
        )
    if stacked:
        notes.append(
            f"{', '.join(map(inline, sorted(stacked)))}: declared in a stack"
            " (`AWS::EKS::Addon`); updated by this plan through change sets on that stack"
            " setting the parameter its `AddonVersion` refers to (its `ResolveConflicts` and"
            " `ConfigurationValues` as the template has them), to versions EKS offers for each"
            " Kubernetes minor."
        )
    if in_stacks:
        notes.append(
            f"{', '.join(inline(a.name) for a in in_stacks)}: declared in a stack; no step,"
            " because EKS offers the running version for the target or did not answer"
            " `DescribeAddonVersions`."
        )
    if by_hand:
        notes.append(
            f"{', '.join(inline(a.name) for a in by_hand)}: no step, because EKS offers the"
            " running version for the target or did not answer `DescribeAddonVersions`. Check,"
            " and if needed update it after the control-plane step, keeping its"
            " `configurationValues` as they are:"
        )
    parts += ["", bullets(notes)]
    commands = [line for a in by_hand for line in _addon_commands(plan, a)]
    if commands:
        parts += ["", code(commands)]
    return "\n".join(parts)


def _nodes_shown(group: UnownedNodesContext) -> str:
    names = ", ".join(group.nodes[:NODES_SHOWN])
    more = len(group.nodes) - NODES_SHOWN
    return names + (f" and {more} more" if more > 0 else "")


def _owner(group: UnownedNodesContext) -> str:
    if group.owner == KARPENTER:
        return f"Karpenter NodePool {inline(group.pool)}"
    return "Fargate" if group.owner == FARGATE else "no configured node group"


def _karpenter(plan: Plan) -> list[str]:
    pools = plan.context.unowned.nodepools
    rows = [
        [
            inline(p.name),
            inline(p.api_version),
            inline(p.node_class) if p.node_class else "—",
            ", ".join(inline(s) for s in p.ami_selectors) or "—",
            {True: "yes", False: "**no: pinned**", None: "unknown (no EC2NodeClass)"}[
                p.follows_control_plane
            ],
            ", ".join(inline(b) for b in p.budgets) or "default (10%)",
        ]
        for p in pools
    ]
    pinned = [p.name for p in pools if p.follows_control_plane is not True]
    to = plan.to.kubernetes
    parts = [
        "### Karpenter",
        "",
        table(
            [
                "NodePool",
                "API",
                "EC2NodeClass",
                "AMI selector",
                "Follows the control plane",
                "Disruption budgets",
            ],
            rows,
        )
        if rows
        else "No NodePool is served (Karpenter nodes were found by their label only).",
        "",
        "Karpenter replaces its nodes by itself: after the control plane is at"
        f" {to}, a NodePool whose EC2NodeClass resolves the EKS-optimized AMI of the"
        " cluster's version (an `@latest` alias; in v1beta1, no `amiSelectorTerms`) marks its"
        " nodes `Drifted` and replaces them within its disruption budgets. A pinned AMI (an ID,"
        " name, tags or a versioned alias) never drifts: change the EC2NodeClass's"
        f" `amiSelectorTerms` to a {to} AMI after the control-plane step.",
    ]
    if pinned:
        parts += ["", f"Pinned or unknown here: {', '.join(inline(n) for n in pinned)}."]
    parts += [
        "",
        code(
            [
                "kubectl get nodepools,ec2nodeclasses",
                "kubectl get nodeclaims -o custom-columns='NAME:.metadata.name,NODE:.status."
                'nodeName,DRIFTED:.status.conditions[?(@.type=="Drifted")].status\'',
                f"kubectl get nodes -l {NODEPOOL_LABEL} -o custom-columns='NAME:.metadata.name,"
                f"NODEPOOL:.metadata.labels.{NODEPOOL_LABEL.replace('.', chr(92) + '.')},"
                "KUBELET:.status.nodeInfo.kubeletVersion'",
            ]
        ),
    ]
    return parts


def _restart(w: FargateWorkloadContext) -> str:
    """The command (or comment) that puts a Fargate workload's pods on the new version."""
    if w.kind in ("Deployment", "StatefulSet"):
        return f"kubectl rollout restart -n {w.namespace} {w.kind.lower()}/{w.name}"
    if w.kind == "Job":
        return f"# Job {w.namespace}/{w.name}: runs to completion; its next pods start new"
    if w.kind == "Pod":
        return f"# Pod {w.namespace}/{w.name} has no owner: delete and re-create it"
    return f"# {w.kind} {w.namespace}/{w.name}: delete its pods; {w.kind} starts new ones"


def _fargate(plan: Plan) -> list[str]:
    unowned = plan.context.unowned
    rows = [
        [inline(f.name), f.status, ", ".join(inline(s) for s in f.selectors), len(f.subnet_ids)]
        for f in unowned.fargate_profiles
    ]
    restarts = [_restart(w) for w in unowned.fargate_workloads]
    steps = [s for s in plan.steps if isinstance(s, FargateRestartStep)]
    return [
        "### Fargate",
        "",
        table(["Profile", "Status", "Selectors", "Subnets"], rows)
        if rows
        else "No Fargate profile (Fargate nodes were found by their label only).",
        "",
        "A Fargate pod keeps the kubelet it started with. "
        + (
            f"The plan's {', '.join(inline(s.id) for s in steps)} restart(s) the Deployments"
            " with pods on Fargate after each control-plane step, so each new pod starts on"
            " that step's kubelet; pods no Deployment owns are listed there, to restart by"
            " hand."
            if steps
            else f"After the control-plane step, restart every workload with pods on Fargate:"
            f" each new pod starts on a {plan.to.kubernetes} kubelet. Do it before the next"
            " upgrade, or VER001 blocks it."
        ),
        "",
        code(
            [
                *restarts,
                f"kubectl get nodes -l {FARGATE_SELECTOR} -o custom-columns="
                "'NAME:.metadata.name,KUBELET:.status.nodeInfo.kubeletVersion'",
            ]
        ),
    ]


def unowned(plan: Plan) -> str:
    """Nodes upgrader does not drain or replace, and how they follow the control plane."""
    found = plan.context.unowned
    head = ["## Nodes upgrader does not own", ""]
    if not (found.nodes or found.nodepools or found.fargate_profiles):
        return "\n".join(
            [*head, "None: every node belongs to a node group of the config's stacks."]
        )
    rows = [
        [_owner(g), inline(g.kubelet), len(g.nodes), scrub(_nodes_shown(g))] for g in found.nodes
    ]
    parts = [
        *head,
        "upgrader rolls only the node groups of the config's stacks; it never drains or"
        " replaces the nodes below. VER001 counts their kubelets: the control-plane step is"
        " blocked while one of them is outside the skew the target allows.",
        "",
        table(["Owner", "Kubelet", "Nodes", "Names"], rows) if rows else "No such node now.",
    ]
    if any(g.owner == KARPENTER for g in found.nodes) or found.nodepools:
        parts += ["", *_karpenter(plan)]
    if any(g.owner == FARGATE for g in found.nodes) or found.fargate_profiles:
        parts += ["", *_fargate(plan)]
    if any(g.owner not in (FARGATE, KARPENTER) for g in found.nodes):
        parts += [
            "",
            bullets(
                [
                    "Nodes of no configured node group stay at their version: add their stack"
                    " to `stacks.nodegroups` in the config, or upgrade them yourself before the"
                    " next control-plane upgrade."
                ]
            ),
        ]
    return "\n".join(parts)
