"""``upgrader diagnose`` as text for a terminal and as Markdown for a change ticket."""

from __future__ import annotations

from upgrader.diagnosis.report import Diagnosis, Finding, NodeReport
from upgrader.markdown import code, inline, table


def _verdict(d: Diagnosis) -> str:
    problems = sum(1 for f in d.findings if f.severity == "problem")
    if d.healthy:
        return "healthy: no problem found"
    return f"{problems} problem(s) found (exit 3)"


def text(d: Diagnosis) -> str:
    """Findings first, then one line per node and per subnet."""
    lines = [f"diagnosis of {d.cluster} ({d.region}), VPC CNI {d.cni}: {_verdict(d)}", ""]
    for f in d.findings:
        lines.append(f"{f.code} [{f.severity}] {f.subject}: {f.message}")
        lines += [f"    evidence: {e}" for e in f.evidence]
        lines += [f"    remedy:   {r}" for r in f.remedy]
    if d.findings:
        lines.append("")
    lines.append(
        table(
            ["node", "type", "subnet", "pods (IP)", "capacity", "ipamd total/assigned/free"],
            [
                [
                    n.name,
                    n.instance_type,
                    n.subnet,
                    str(n.pods_needing_ip),
                    str(n.pod_ip_capacity),
                    _pool(n),
                ]
                for n in d.nodes
            ],
        )
    )
    lines.append("")
    lines.append(
        table(
            ["subnet", "AZ", "free", "next allocation"],
            [[f"{s.subnet_id} ({s.name})", s.az, str(s.free), str(s.next_need)] for s in d.subnets],
        )
    )
    if d.deleted_enis:
        lines += ["", f"deleted leaked ENIs: {', '.join(d.deleted_enis)}"]
    return "\n".join(lines)


def _pool(n: NodeReport) -> str:
    if n.pool is None:
        return "not read"
    return f"{n.pool.total}/{n.pool.assigned}/{n.pool.free}"


def _finding_md(f: Finding) -> list[str]:
    out = [f"### {f.code} {f.title}: {f.subject}", "", f"**{f.severity}**: {f.message}", ""]
    named = [
        (what, items)
        for what, items in (
            ("subnets", f.objects.subnets),
            ("nodes", f.objects.nodes),
            ("pods", f.objects.pods),
            ("ENIs", f.objects.enis),
        )
        if items
    ]
    if named:
        out += [f"- {what}: " + ", ".join(inline(i) for i in items) for what, items in named]
        out.append("")
    if f.evidence:
        out += ["Evidence:", "", *(f"- {e}" for e in f.evidence), ""]
    if f.remedy:
        out += ["Remedy:", "", code(f.remedy, "sh"), ""]
    return out


def markdown(d: Diagnosis) -> str:
    """Ready to paste into a change ticket: verdict, findings, per-node facts and the
    commands to confirm each by hand."""
    out = [
        f"# ipamd diagnosis: {d.cluster} ({d.region})",
        "",
        table(
            ["", ""],
            [
                ["VPC CNI", inline(d.cni)],
                ["aws-node env", ", ".join(f"{inline(f'{k}={v}')}" for k, v in d.env) or "—"],
                ["Verdict", _verdict(d)],
            ],
        ),
        "",
        "## Findings",
        "",
    ]
    for f in d.findings:
        out += _finding_md(f)
    if not d.findings:
        out += ["None.", ""]
    out += [
        "## Nodes",
        "",
        table(
            [
                "node",
                "type",
                "subnet",
                "pods needing an IP",
                "max pods",
                "pod-IP capacity",
                "EC2 ENIs (addresses)",
                "ipamd total/assigned/free",
            ],
            [
                [
                    inline(n.name),
                    n.instance_type,
                    n.subnet,
                    str(n.pods_needing_ip),
                    str(n.max_pods),
                    str(n.pod_ip_capacity),
                    ", ".join(f"{e} ({a})" for e, a in n.ec2_enis),
                    _pool(n),
                ]
                for n in d.nodes
            ],
        ),
        "",
        "## Subnets",
        "",
        table(
            ["subnet", "AZ", "free", "next allocation of a node in it"],
            [
                [f"{inline(s.subnet_id)} ({s.name})", s.az, str(s.free), str(s.next_need)]
                for s in d.subnets
            ],
        ),
        "",
        "## Confirm by hand",
        "",
    ]
    for n in d.nodes:
        out += [f"### {n.name}", "", code(n.manual_commands, "sh"), ""]
    return "\n".join(out)
