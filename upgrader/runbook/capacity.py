"""The capacity section: instance limits, node groups, subnets per AZ, and each roll's budget
and chart."""

from __future__ import annotations

from collections import defaultdict

from upgrader.catalog.instances import shown
from upgrader.markdown import inline, table
from upgrader.model.context import SubnetContext
from upgrader.model.plan import Plan
from upgrader.model.steps import NodegroupRollStep
from upgrader.runbook.chart import roll_chart
from upgrader.runbook.placeholder import UNKNOWN

CONTROL_PLANE_MIN_FREE = 5  # CAP002: EKS needs >= 5 free addresses in >= 2 AZs


def _subnets(plan: Plan) -> list[SubnetContext]:
    """The cluster's subnets, by AZ then name."""
    return sorted(plan.context.subnets, key=lambda s: (s.az, s.name, s.subnet_id))


def instance_table(plan: Plan) -> str:
    """The seed's ``| API Name | Memory | vCPUs | Max IPs | Max ENIs |`` table plus max pods."""
    seen: dict[str, list[str]] = {}
    for g in plan.context.nodegroups:
        seen.setdefault(
            g.instance_type,
            [
                g.instance_type,
                g.memory,
                shown(g.vcpus),
                str(g.max_ips),
                str(g.max_enis),
                str(g.ipv4_per_eni),
                str(g.max_pods),
            ],
        )
    return table(
        ["API Name", "Memory", "vCPUs", "Max IPs", "Max ENIs", "IPv4 per ENI", "Max pods"],
        [seen[name] for name in sorted(seen)],
    )


def nodegroup_table(plan: Plan) -> str:
    """One row per node group."""
    rows = [
        [
            inline(g.name),
            g.kind,
            inline(g.stack),
            inline(g.asg) if g.asg else "-",
            g.instance_type,
            str(g.nodes),
            str(g.pods),
            str(g.max_pods),
            ", ".join(plan.context.subnet_label(s) for s in g.subnet_ids) or UNKNOWN,
            f"{inline(g.image_from)} → {inline(g.image_to)}",
        ]
        for g in plan.context.nodegroups
    ]
    return table(
        [
            "Node group",
            "Kind",
            "Stack",
            "ASG",
            "Instance type",
            "Nodes",
            "Pods",
            "Max pods per node",
            "Subnets",
            "AMI",
        ],
        rows,
    )


def az_tables(plan: Plan) -> str:
    """Per AZ, then per subnet: free addresses now (never summed across AZs for a gate)."""
    subnets = _subnets(plan)
    by_az: dict[str, list[int]] = defaultdict(list)
    cp_ok: dict[str, int] = defaultdict(int)
    for s in subnets:
        by_az[s.az].append(s.free)
        if s.control_plane and s.free >= CONTROL_PLANE_MIN_FREE:
            cp_ok[s.az] += 1
    az_rows = [
        [az, str(len(by_az[az])), str(sum(by_az[az])), str(cp_ok[az])] for az in sorted(by_az)
    ]
    subnet_rows = [
        [s.az, s.label, s.cidr, "yes" if s.control_plane else "no", str(s.free)] for s in subnets
    ]
    return "\n\n".join(
        [
            table(
                [
                    "AZ",
                    "Subnets",
                    "Free IPs now",
                    f"Control-plane subnets with ≥ {CONTROL_PLANE_MIN_FREE} free",
                ],
                az_rows,
            ),
            table(["AZ", "Subnet", "CIDR", "Control plane", "Free IPs now"], subnet_rows),
        ]
    )


def roll_table(plan: Plan, step: NodegroupRollStep) -> str:
    """A roll step's per-subnet budget: peak demand, release, and the lowest free count."""
    rows = [
        [
            s.az,
            plan.context.subnet_label(s.subnet_id, s.name),
            str(s.free_before),
            str(s.peak_demand),
            str(s.released),
            str(s.free_after),
            str(s.min_free),
            str(s.reserve),
            str(s.min_free - s.reserve),
            "✅ ok" if s.min_free >= s.reserve else "❌ below reserve",
        ]
        for s in sorted(step.subnets, key=lambda s: (s.az, s.name))
    ]
    return table(
        [
            "AZ",
            "Subnet",
            "Free now",
            "Predicted peak demand",
            "Released",
            "Free after",
            "Min free during roll",
            "Reserve",
            "Margin",
            "",
        ],
        rows,
    )


def section(plan: Plan) -> str:
    """The whole "Capacity" section."""
    parts = [
        "## Capacity",
        "",
        "Addresses are counted per subnet and per AZ, never summed across AZs: a new node"
        " launches in one AZ and takes its addresses from that AZ's subnet.",
        "",
        "### Instance types",
        "",
        instance_table(plan),
        "",
        "### Node groups",
        "",
        nodegroup_table(plan),
        "",
        "### Subnets by AZ",
        "",
        az_tables(plan),
    ]
    for step in plan.steps:
        if not isinstance(step, NodegroupRollStep):
            continue
        lower = step.lower_bound
        parts += [
            "",
            f"### Rolling {inline(step.nodegroup)} (step {inline(step.id)})",
            "",
            f"{step.predicted_waves} wave(s)"
            + ("" if lower is None else f", at least {lower} needed whatever the gates")
            + "; each wave's new nodes take their peak addresses before the old nodes"
            " release theirs. Margin = min free during the roll - reserve.",
            "",
            roll_table(plan, step),
            "",
            roll_chart(plan, step),
        ]
    return "\n".join(parts)
