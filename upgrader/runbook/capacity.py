"""The capacity section: instance limits, node groups, subnets per AZ, and each roll's budget."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from upgrader.markdown import inline, table
from upgrader.model.plan import Plan, Step
from upgrader.runbook.context import UNKNOWN, nodegroups, number, subnet_label, subnets

CONTROL_PLANE_MIN_FREE = 5  # CAP002: EKS needs >= 5 free addresses in >= 2 AZs


def _int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def instance_table(plan: Plan) -> str:
    """The seed's ``| API Name | Memory | vCPUs | Max IPs | Max ENIs |`` table plus max pods."""
    seen: dict[str, list[str]] = {}
    for g in nodegroups(plan):
        seen.setdefault(
            g.instance_type,
            [
                g.instance_type,
                g.memory,
                number(g.vcpus),
                number(g.ips),
                number(g.max_enis),
                number(g.ipv4_per_eni),
                number(g.max_pods),
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
            number(g.nodes),
            number(g.pods),
            number(g.max_pods),
            ", ".join(subnet_label(plan, s) for s in g.subnet_ids) or UNKNOWN,
            f"{inline(g.image_from)} → {inline(g.image_to)}",
        ]
        for g in nodegroups(plan)
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
    views = subnets(plan)
    by_az: dict[str, list[int | None]] = defaultdict(list)
    cp_ok: dict[str, int] = defaultdict(int)
    for s in views:
        by_az[s.az].append(s.free)
        if s.control_plane and s.free is not None and s.free >= CONTROL_PLANE_MIN_FREE:
            cp_ok[s.az] += 1
    az_rows = []
    for az in sorted(by_az):
        frees = by_az[az]
        total = None if any(f is None for f in frees) else sum(f for f in frees if f is not None)
        az_rows.append([az, str(len(frees)), number(total), str(cp_ok[az])])
    subnet_rows = [
        [s.az, s.label, s.cidr, "yes" if s.control_plane else "no", number(s.free)] for s in views
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


def roll_table(plan: Plan, step: Step) -> str:
    """A roll step's per-subnet budget: peak demand, release, and the lowest free count."""
    rows = []
    raw_subnets = [s for s in step.predicted.get("subnets", []) if isinstance(s, dict)]
    raw_subnets.sort(key=lambda s: (str(s.get("az", "")), str(s.get("name", ""))))
    for raw in raw_subnets:
        min_free, reserve = _int(raw, "min_free"), _int(raw, "reserve")
        if min_free is None or reserve is None:
            margin, verdict = UNKNOWN, UNKNOWN
        else:
            margin = str(min_free - reserve)
            verdict = "✅ ok" if min_free >= reserve else "❌ below reserve"
        rows.append(
            [
                str(raw.get("az", UNKNOWN)),
                subnet_label(plan, str(raw.get("subnet_id", UNKNOWN)), str(raw.get("name", ""))),
                number(_int(raw, "free_before")),
                number(_int(raw, "peak_demand")),
                number(_int(raw, "released")),
                number(_int(raw, "free_after")),
                number(min_free),
                number(reserve),
                margin,
                verdict,
            ]
        )
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
        if step.kind != "nodegroup-roll":
            continue
        waves, lower = step.predicted.get("waves"), step.predicted.get("lower_bound")
        group = step.params.get("nodegroup", step.id)
        parts += [
            "",
            f"### Rolling {inline(group)} (step {inline(step.id)})",
            "",
            f"{number(waves if isinstance(waves, int) else None)} wave(s)"
            + (f", at least {lower} needed whatever the gates" if isinstance(lower, int) else "")
            + "; each wave's new nodes take their peak addresses before the old nodes"
            " release theirs. Margin = min free during the roll - reserve.",
            "",
            roll_table(plan, step),
        ]
    return "\n".join(parts)
