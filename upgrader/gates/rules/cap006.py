"""CAP006: every node group's instance types are known to the ipamd running at each point."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.catalog.ipamd_types import IpamdTypes, ipamd_types
from upgrader.gates.findings import advisory, blocking
from upgrader.gates.inputs import GateInputs, GroupRoll
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity
from upgrader.semver import Version


def _nodes_of_type(inputs: GateInputs, group: GroupRoll, type_: str) -> str:
    names = set(group.nodes)
    found = [n.name for n in inputs.state.nodes if n.name in names and n.instance_type == type_]
    return ", ".join(sorted(found)) or f"its {type_} nodes"


def _check(
    inputs: GateInputs,
    table: IpamdTypes,
    path: tuple[Version, ...],
    group: GroupRoll,
    instance_type: str,
    running: bool,
) -> Finding | None:
    unknown = [r for r in path if not table.knows(r, instance_type)]
    if not unknown:
        return None
    subject = f"node group {group.name}"
    now, target = path[0], path[-1]
    gap = table.gap(target if target in unknown else unknown[0], instance_type)
    assert gap is not None  # that release does not know the type
    use = (gap.usable or gap.first_knowing).tag
    if target in unknown:
        return blocking(
            "CAP006",
            subject,
            f"{instance_type}: the plan ends on VPC CNI {target.tag}, and {gap.problem}; "
            f"{gap.fixed_by}. Fix: set target.cni to {use} or later (the plan then steps "
            "the CNI there before any node group rolls).",
        )
    if running and unknown == list(path[: len(unknown)]):
        nodes = _nodes_of_type(inputs, group, instance_type)
        fixer = path[len(unknown)].tag
        return advisory(
            "CAP006",
            subject,
            f"{nodes} run {instance_type} now: {gap.problem}. The plan's VPC CNI step to "
            f"{fixer} fixes it ({gap.fixed_by}) and runs before the node groups roll. Fix "
            "sooner: upgrade the CNI alone first (a plan "
            f'with target.kubernetes "{inputs.from_.kubernetes}" and target.cni {fixer}).',
        )
    where = ", ".join(r.tag for r in unknown)
    what = "nodes" if running else "new nodes (the group's launch type)"
    known = [t for t, _ in group.instance_types if all(table.knows(r, t) for r in path)]
    such = f" (such as {', '.join(known)})" if known else ""
    return blocking(
        "CAP006",
        subject,
        f"{instance_type} {what} would run VPC CNI {where} at some point of the plan, and "
        f"{gap.problem}; {gap.fixed_by}. Fix: launch only types VPC CNI {now.tag} knows"
        f"{such} until the CNI runs {use} or later, then change the group's instance type "
        "in a later plan.",
    )


def cap006_ipamd_knows_instance_types(inputs: GateInputs) -> Iterator[Finding]:
    """At every point of the plan (now, after each CNI step, during the rolls) each node
    group's current and new instance types are known to the VPC CNI release running then.

    Before v1.6.0 ipamd knows only the types compiled into it. Node-group steps come after
    every CNI step, so new nodes run the target release; the ASG may still launch its
    launch type at any point. A running node whose type the running release does not know
    is advisory when the plan's CNI steps fix it (blocking would keep the fix from being
    applied), and blocking when the target release does not know it either.
    """
    table = ipamd_types()
    path = (Version.parse(inputs.from_.cni, "aws-node image tag"), *inputs.cni_steps)
    for group in inputs.groups:
        for instance_type, running in group.instance_types:
            finding = _check(inputs, table, path, group, instance_type, running)
            if finding is not None:
                yield finding


RULE = Rule(
    id="CAP006",
    title="node groups' instance types known to the ipamd running at each point",
    severity=Severity.BLOCKING,
    inputs=("state", "from_", "cni_steps", "groups"),
    check=cap006_ipamd_knows_instance_types,
    description=(
        "Before v1.6.0, ipamd knows only the instance types compiled into its limits table "
        "(upstream vpc-cni-limits); on any other type a node cannot grow its address pool "
        "past its first ENI and pods stay ContainerCreating. Every node group's current and "
        "launch types must be known to the CNI release running now, after each CNI step "
        "and during the rolls; the finding names the first release that knows the type. A "
        "running node already on an unknown type is advisory when the plan's CNI steps "
        "(which run before the node groups) fix it, blocking when the target does not."
    ),
)
