"""The chain of a plan of several hops: each hop's versions, node groups rolled and
predicted time, the bake points between hops, and where control-plane rollback is possible.
A plan of one minor (``plan.hops == ()``) has no chain section."""

from __future__ import annotations

from itertools import pairwise
from typing import TypeAlias

from upgrader.gates import MANAGED
from upgrader.markdown import bullets, inline, table
from upgrader.model.plan import Hop, Plan
from upgrader.model.steps import ControlPlaneStep, NodegroupRollStep, NodegroupStackStep, Step
from upgrader.runbook.durations import Minutes, step_minutes

Numbered: TypeAlias = list[tuple[int, Step]]
NODEGROUP_STEPS = (NodegroupStackStep, NodegroupRollStep)


def _hop_steps(plan: Plan, hop: Hop) -> Numbered:
    """The hop's steps with their numbers in the runbook, in plan order."""
    return [(n, s) for n, s in enumerate(plan.steps, 1) if s.id in hop.steps]


def _rolls(steps: Numbered) -> list[tuple[int, NodegroupRollStep]]:
    return [(n, s) for n, s in steps if isinstance(s, NodegroupRollStep)]


def _total(steps: list[Step]) -> Minutes:
    spans = [step_minutes(s) for s in steps]
    return Minutes(sum(m.low for m in spans), sum(m.high for m in spans))


def _ref(n: int, step: Step) -> str:
    return f"step {n} {inline(step.id)}"


def _span(steps: Numbered) -> str:
    if not steps:
        return "none"
    first, last = steps[0][0], steps[-1][0]
    return str(first) if first == last else f"{first}-{last}"


def _group(step: NodegroupRollStep) -> str:
    return f"{inline(step.nodegroup)} ({step.group_kind})"


def _table(plan: Plan, chain: list[tuple[Hop, Numbered]]) -> str:
    rows = []
    before = plan.from_.kubernetes
    for i, (hop, steps) in enumerate(chain, 1):
        groups = ", ".join(_group(s) for _, s in _rolls(steps)) or "none"
        rows.append(
            [
                str(i),
                _span(steps),
                f"{inline(before)} → {inline(hop.kubernetes)}",
                inline(hop.to.cni),
                inline(hop.to.kube_proxy),
                inline(hop.to.coredns),
                groups,
                str(_total([s for _, s in steps])),
            ]
        )
        before = hop.kubernetes
    header = ["Hop", "Steps", "Control plane", "VPC CNI", "kube-proxy", "CoreDNS"]
    return table([*header, "Node groups rolled", "Predicted time"], rows)


def _bake_points(chain: list[tuple[Hop, Numbered]]) -> list[str]:
    points = []
    for i, ((hop, steps), (_, following)) in enumerate(pairwise(chain), 1):
        if steps and following:
            points.append(
                f"After hop {i} (Kubernetes {hop.kubernetes}): after {_ref(*steps[-1])},"
                f" before {_ref(*following[0])}."
            )
    return points


def _rollback_windows(chain: list[tuple[Hop, Numbered]]) -> list[str]:
    windows = []
    for i, (hop, steps) in enumerate(chain, 1):
        control = next(((n, s) for n, s in steps if isinstance(s, ControlPlaneStep)), None)
        if control is None:
            continue
        # a managed group's stack update already replaces its nodes: any node-group step ends it
        groups = [(n, s) for n, s in steps if n > control[0] and isinstance(s, NODEGROUP_STEPS)]
        until = f"until {_ref(*groups[0])} starts" if groups else "until the hop ends"
        windows.append(f"Hop {i} (to {hop.kubernetes}): after {_ref(*control)}, {until}.")
    return windows


def _times(hops: list[str]) -> str:
    count = "once" if len(hops) == 1 else f"{len(hops)} times"
    return f"{count}, at {', '.join(hops)}"


def _why(chain: list[tuple[Hop, Numbered]]) -> str:
    """One sentence: why managed groups roll every hop and self-managed ones fewer times."""
    at: dict[tuple[str, str], list[str]] = {}
    for hop, steps in chain:
        for _, roll in _rolls(steps):
            at.setdefault((roll.nodegroup, roll.group_kind), []).append(hop.kubernetes)

    def here(managed: bool) -> str:
        groups = [
            f"{inline(name)}: {_times(hops)}"
            for (name, kind), hops in at.items()
            if (kind == MANAGED) == managed
        ]
        return "here " + "; ".join(groups) if groups else "none in this plan"

    return (
        "**Why managed node groups roll at every hop and self-managed ones fewer times:**"
        " EKS's `UpdateClusterVersion` refuses while a managed node group or Fargate is"
        f" behind the cluster's version, so every managed group rolls at every hop ({here(True)}),"
        " while a self-managed group rolls only when the next hop would put its kubelets"
        " beyond the kubelet version-skew policy (at most 2 minors older than the API server"
        f" before 1.28, 3 from 1.28) and at the last hop ({here(False)})."
    )


def section(plan: Plan) -> str | None:
    """The "Chain of hops" section; None for a plan of one minor."""
    if not plan.hops:
        return None
    chain = [(hop, _hop_steps(plan, hop)) for hop in plan.hops]
    hopped = {s for hop in plan.hops for s in hop.steps}
    after = [(n, s) for n, s in enumerate(plan.steps, 1) if s.id not in hopped]
    total = _total(list(plan.steps))
    tail = ", ".join(f"{_ref(n, s)} ({step_minutes(s)})" for n, s in after)
    parts = [
        "## Chain of hops",
        "",
        f"EKS moves the control plane one minor per update, so this plan runs {len(chain)}"
        " hops, each planned as an upgrade of one minor on the state the hops before it"
        " leave. Versions are those running once the hop is done; times are the sums of"
        " the hop's step estimates.",
        "",
        _table(plan, chain),
        "",
        (f"Then {tail}. " if tail else "") + f"The whole plan: {total}.",
        "",
        _why(chain),
        "",
        "### Bake points",
        "",
        "Between hops the cluster runs one consistent set of versions: pause there and check"
        " workloads (pods Ready, error rates, dashboards) before the next hop starts."
        " `upgrader apply` can be stopped at a bake point and run again later with the same"
        " plan: it resumes from its journal (`upgrader status` shows it), checks the next"
        " hop against the live cluster first, and exits 5 if the cluster is not what the"
        " plan predicted (then plan again).",
        "",
        bullets(_bake_points(chain)),
        "",
        "### Control-plane rollback window",
        "",
        "EKS version rollback, where offered, takes the control plane back one minor only"
        " while every node is still at the previous minor: after a hop's control-plane step"
        " and before that hop's first node-group step (put the hop's add-ons back first: none"
        " may be newer than the API server). `upgrader rollback PLAN.json` does it for the"
        " last control-plane step the plan ran, and refuses, saying why, outside that window."
        " Once a hop's nodes roll, rollback of that hop is no longer offered: managed node"
        " group nodes cannot go back.",
        "",
        bullets(_rollback_windows(chain)),
    ]
    return "\n".join(parts)
