"""``diagnose``: the seed's troubleshooting guide as checks over one read of the cluster.

Per node it sets EC2's ENIs, ipamd's pool (``/v1/enis``) and metrics, the pods waiting
for an address and the type's limits side by side; per subnet, the free addresses
against what each node's next ENI, IP or prefix takes. Pure: the reading is done by
the adapters, the findings here name objects, evidence and remedy commands.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from upgrader.capacity.node import max_pods
from upgrader.capacity.settings import CniSettings
from upgrader.catalog.cni_metrics import METRICS_PORT
from upgrader.catalog.instances import InstanceType, bundled
from upgrader.catalog.ipamd_types import ipamd_types
from upgrader.diagnosis.pool import PREFIX_ADDRESSES, Pool, PoolFormatError, parse_pool
from upgrader.diagnosis.report import (
    Diagnosis,
    Finding,
    NodeReport,
    Objects,
    Severity,
    SubnetReport,
)
from upgrader.errors import UpgraderError
from upgrader.gates.pool import eni_addresses, leaked_enis
from upgrader.model.aws import Subnet
from upgrader.model.ipamd import IpamdView
from upgrader.model.kube import Node, Pod
from upgrader.model.state import ClusterState
from upgrader.runbook.ipamd import IpamdGuide, guide
from upgrader.semver import Version

AWS_NODE = ("kube-system", "aws-node")
# The aws-node settings that shape the pool: the only env a diagnosis shows.
POOL_ENV = frozenset(
    {
        "WARM_ENI_TARGET",
        "WARM_IP_TARGET",
        "MINIMUM_IP_TARGET",
        "WARM_PREFIX_TARGET",
        "MAX_ENI",
        "ENABLE_PREFIX_DELEGATION",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
        "INTROSPECTION_BIND_ADDRESS",
        "DISABLE_INTROSPECTION",
        "DISABLE_METRICS",
        "IP_COOLDOWN_PERIOD",
    }
)
SUBNET_RESERVED = 5  # addresses AWS keeps in every subnet
IP_WAIT_TEXTS = (
    "failed to assign an IP address",
    "InsufficientFreeAddressesInSubnet",
    "no available IP",
    "add cmd:",
    "failed to setup network for sandbox",
    "NetworkPlugin cni failed",
)
_DONE = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Node:
    node: Node
    subnet: Subnet | None
    inst: InstanceType | None
    aws_node: Pod | None
    waiting: tuple[Pod, ...]
    needing_ip: int
    pool: Pool | None
    view: IpamdView | None
    report: NodeReport


def _label(subnet: Subnet | None, subnet_id: str = "") -> str:
    if subnet is None:
        return subnet_id or "unknown subnet"
    return subnet.subnet_id if subnet.name == subnet_id else f"{subnet.subnet_id} ({subnet.name})"


def _pod_name(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.name}"


def _waits_for_ip(pod: Pod) -> bool:
    if pod.host_network or pod.phase != "Pending" or pod.ip or not pod.node:
        return False
    event = pod.last_event or ""
    return pod.stuck_creating or any(t in event for t in IP_WAIT_TEXTS)


def aws_node_pod(state: ClusterState, node: str) -> Pod | None:
    """The aws-node pod running on ``node`` (not one being deleted)."""
    return next(
        (
            p
            for p in state.pods
            if (p.namespace, p.owner_name) == AWS_NODE and p.node == node and not p.terminating
        ),
        None,
    )


def _manual(node: Node, aws_node: Pod | None, g: IpamdGuide, pool: Pool | None) -> list[str]:
    pod = aws_node.name if aws_node else "<aws-node pod on the node>"
    enis = g.url("/v1/enis")
    out = [
        f"kubectl get --raw /api/v1/nodes/{node.name}:{METRICS_PORT}/proxy/metrics"
        f" | grep -E '^{g.metric_prefix}(total|assigned)_ip_addresses|^{g.metric_prefix}eni_'",
        f"kubectl -n kube-system exec {pod} -c aws-node -- curl -s {enis}",
        f"aws ec2 describe-network-interfaces --filters "
        f"Name=attachment.instance-id,Values={node.instance_id}",
        f"# on the node ({node.instance_id}, e.g. through SSM):",
        f"curl -s {enis} | jq '{g.enis_jq}'",
        "ip rule list",
    ]
    secondary = sorted({e.device_number for e in pool.enis if e.device_number > 0}) if pool else []
    out += [f"ip route show table {n + 1}" for n in secondary] or ["ip route show table 2"]
    return out


def _next_need(inst: InstanceType | None, cni: CniSettings, pool: Pool | None) -> int:
    """Addresses the node's next allocation takes from its subnet (0: it cannot grow)."""
    if inst is None:
        return 0
    limits = max_pods(inst, cni)
    if (
        pool is not None
        and len(pool.enis) >= limits.pod_enis
        and pool.total >= (limits.pod_ip_capacity)
    ):
        return 0
    if limits.prefix_delegation:
        return PREFIX_ADDRESSES
    if cni.ip_target_mode:
        return 1
    return inst.ipv4_per_eni  # a whole new ENI: its primary and every secondary address


def _node(
    state: ClusterState, node: Node, view: IpamdView | None, cni: CniSettings, g: IpamdGuide
) -> _Node:
    instance = next((i for i in state.instances if i.instance_id == node.instance_id), None)
    subnet = state.subnet(instance.subnet_id) if instance else None
    try:
        inst: InstanceType | None = bundled().get(node.instance_type)
    except UpgraderError:
        inst = None
    pods = [p for p in state.pods_on(node.name) if p.phase not in _DONE and not p.terminating]
    waiting = tuple(sorted((p for p in pods if _waits_for_ip(p)), key=_pod_name))
    needing = sum(1 for p in pods if p.needs_vpc_ip)
    aws_node = aws_node_pod(state, node.name)
    problems = list(view.problems) if view else ["ipamd was not asked"]
    pool = None
    if view is not None and view.enis is not None:
        try:
            pool = parse_pool(view.enis)
        except PoolFormatError as err:
            problems.append(f"/v1/enis could not be read: {err}")
    limits = max_pods(inst, cni) if inst else None
    report = NodeReport(
        name=node.name,
        instance_id=node.instance_id,
        instance_type=node.instance_type,
        subnet=_label(subnet, instance.subnet_id if instance else ""),
        az=node.az,
        max_pods=limits.value if limits else None,
        pod_ip_capacity=limits.pod_ip_capacity if limits else None,
        pods_needing_ip=needing,
        pods_waiting=tuple(_pod_name(p) for p in waiting),
        ec2_enis=tuple(
            sorted(
                (e.eni_id, eni_addresses(e))
                for e in state.enis
                if e.instance_id == node.instance_id
            )
        ),
        ipv4_per_eni=inst.ipv4_per_eni if inst else None,
        pool=pool,
        ipamd_sources=tuple(s for s in (view.metrics_source, view.enis_source) if s)
        if view
        else (),
        ipamd_problems=tuple(problems),
        metrics=view.metrics if view else (),
        manual_commands=tuple(_manual(node, aws_node, g, pool)),
    )
    return _Node(
        node=node,
        subnet=subnet,
        inst=inst,
        aws_node=aws_node,
        waiting=waiting,
        needing_ip=needing,
        pool=pool,
        view=view,
        report=report,
    )


def _aws_node_findings(
    state: ClusterState, running: Version | None, planned: str | None
) -> Iterator[Finding]:
    ds = state.daemonset(*AWS_NODE)
    if ds is None:
        yield Finding(
            code="IPAMD008",
            severity=Severity.PROBLEM,
            subject="DaemonSet kube-system/aws-node",
            message="does not exist: no node runs ipamd, so no pod gets a VPC address",
            remedy=("upgrader compile -c CONFIG -o manifests && kubectl apply -f manifests",),
        )
        return
    broken = sorted(
        p.name
        for p in state.pods
        if (p.namespace, p.owner_name) == AWS_NODE and p.phase != "Running"
    )
    if ds.ready < ds.desired or broken:
        yield Finding(
            code="IPAMD008",
            severity=Severity.PROBLEM,
            subject="DaemonSet kube-system/aws-node",
            message=f"{ds.ready} of {ds.desired} pods Ready",
            objects=Objects(pods=tuple(f"kube-system/{p}" for p in broken)),
            evidence=tuple(f"kube-system/{p} is not Running" for p in broken),
            remedy=(
                "kubectl -n kube-system describe pod -l k8s-app=aws-node",
                "kubectl -n kube-system logs -l k8s-app=aws-node -c aws-node --tail=50",
            ),
        )
    if ds.updated < ds.desired:
        yield Finding(
            code="IPAMD008",
            severity=Severity.PROBLEM,
            subject="DaemonSet kube-system/aws-node",
            message=f"rollout unfinished: {ds.updated} of {ds.desired} pods run the new template",
            remedy=("kubectl -n kube-system rollout status daemonset/aws-node",),
        )
    if planned and running is not None and running.tag != planned:
        yield Finding(
            code="IPAMD008",
            severity=Severity.NOTE,
            subject="DaemonSet kube-system/aws-node",
            message=f"runs {running.tag}; the config's target is {planned}",
            remedy=("upgrader plan -c CONFIG",),
        )


def _node_findings(n: _Node, running: Version | None) -> Iterator[Finding]:
    node, pods = n.node.name, tuple(_pod_name(p) for p in n.waiting)
    objects = Objects(subnets=(n.report.subnet,), nodes=(node,), pods=pods)
    gap = ipamd_types().gap(running, n.node.instance_type) if running is not None else None
    if gap is not None:
        yield Finding(
            code="IPAMD003",
            severity=Severity.PROBLEM,
            subject=f"node {node}",
            message=f"{gap.problem}; {gap.fixed_by}",
            objects=objects,
            evidence=(f"aws-node runs {gap.release.tag}; the node is a {n.node.instance_type}",),
            remedy=(
                f"upgrader plan -c CONFIG   # with target.cni {gap.usable.tag}"
                if gap.usable
                else "move the node group to a type the running CNI knows",
            ),
        )
    elif n.inst is None and n.node.instance_type:
        yield Finding(
            code="IPAMD003",
            severity=Severity.PROBLEM,
            subject=f"node {node}",
            message=f"instance type {n.node.instance_type} is in no instance table upgrader knows",
            objects=objects,
            remedy=("upgrader catalog refresh --region REGION",),
        )
    if n.view is not None and n.report.ipamd_problems:
        yield Finding(
            code="IPAMD010",
            severity=Severity.NOTE,
            subject=f"node {node}",
            message="ipamd's own view is incomplete: " + "; ".join(n.report.ipamd_problems),
            objects=Objects(nodes=(node,)),
            remedy=n.report.manual_commands,
        )
    if not n.waiting:
        return
    cap = n.report.pod_ip_capacity
    pool = n.pool
    evidence = [
        f"{len(n.waiting)} pod(s) wait for an address: {', '.join(pods)}",
        f"{n.needing_ip} pod(s) on the node need a VPC address; pod-IP capacity {cap}",
    ]
    if pool is not None:
        evidence.append(
            f"ipamd pool: {pool.total} addresses, {pool.assigned} assigned, "
            f"{pool.free} free, {pool.cooling if pool.cooling is not None else '?'} cooling, "
            f"{len(pool.enis)} ENI(s)"
        )
    events = sorted({p.last_event for p in n.waiting if p.last_event})
    evidence += [f"event: {e}" for e in events[:3]]
    if cap is not None and n.needing_ip > cap:
        yield Finding(
            code="IPAMD002",
            severity=Severity.PROBLEM,
            subject=f"node {node}",
            message=f"{n.needing_ip} pods need a VPC address, {cap} can have one on "
            f"{n.node.instance_type}",
            objects=objects,
            evidence=tuple(evidence),
            remedy=(
                "spread the pods (topologySpreadConstraints) or add nodes; check kubelet "
                "--max-pods against `upgrader capacity --instance-type "
                f"{n.node.instance_type}` (CAP004)",
            ),
        )
    elif pool is not None and pool.free > 0:
        yield Finding(
            code="IPAMD004",
            severity=Severity.PROBLEM,
            subject=f"node {node}",
            message=f"ipamd has {pool.free} free address(es) while {len(n.waiting)} pod(s) "
            "wait: the #59 pattern",
            objects=Objects(
                nodes=(node,),
                pods=(*pods, *((f"kube-system/{n.aws_node.name}",) if n.aws_node else ())),
            ),
            evidence=tuple(evidence),
            remedy=(
                f"kubectl -n kube-system delete pod "
                f"{n.aws_node.name if n.aws_node else '<aws-node pod on ' + node + '>'}",
                f"kubectl get pods -A --field-selector spec.nodeName={node} -w",
            ),
        )
    elif pool is not None and pool.cooling:
        yield Finding(
            code="IPAMD006",
            severity=Severity.NOTE,
            subject=f"node {node}",
            message=f"{pool.cooling} address(es) are in ipamd's 30 s cooldown; the waiting "
            "pods get them when it ends",
            objects=objects,
            evidence=tuple(evidence),
        )


def _subnet_findings(
    state: ClusterState, nodes: Sequence[_Node], cni: CniSettings
) -> tuple[list[SubnetReport], list[Finding]]:
    reports: list[SubnetReport] = []
    findings: list[Finding] = []
    by_subnet: dict[str, list[_Node]] = {}
    for n in nodes:
        if n.subnet is not None:
            by_subnet.setdefault(n.subnet.subnet_id, []).append(n)
    for subnet_id in sorted(by_subnet):
        group = by_subnet[subnet_id]
        subnet = group[0].subnet
        assert subnet is not None
        needs = {n.node.name: _next_need(n.inst, cni, n.pool) for n in group}
        need = max(needs.values(), default=0)
        reports.append(
            SubnetReport(
                subnet_id=subnet.subnet_id,
                name=subnet.name,
                az=subnet.az,
                free=subnet.available_ips,
                next_need=need,
            )
        )
        short = sorted(name for name, k in needs.items() if k > subnet.available_ips)
        if short:
            waiting = tuple(_pod_name(p) for n in group for p in n.waiting)
            leaked = [e for e in leaked_enis(state) if e.subnet_id == subnet_id]
            evidence = [f"free {subnet.available_ips} < next allocation {need} ({cni_words(cni)})"]
            if waiting:
                evidence.append(f"{len(waiting)} pod(s) wait for an address")
            if leaked:
                held = sum(eni_addresses(e) for e in leaked)
                evidence.append(f"{len(leaked)} leaked ENI(s) hold {held} address(es) (IPAMD005)")
            findings.append(
                Finding(
                    code="IPAMD001",
                    severity=Severity.PROBLEM,
                    subject=f"subnet {_label(subnet)}",
                    message=f"{subnet.available_ips} free address(es) in {subnet.az}; the next "
                    f"ENI/IP/prefix of {', '.join(short)} takes {need}",
                    objects=Objects(
                        subnets=(_label(subnet),),
                        nodes=tuple(short),
                        pods=waiting,
                        enis=tuple(e.eni_id for e in leaked),
                    ),
                    evidence=tuple(evidence),
                    remedy=(
                        "upgrader diagnose -c CONFIG --delete-leaked-enis --yes   # if IPAMD005",
                        "set WARM_IP_TARGET/MINIMUM_IP_TARGET instead of whole-ENI warm pools "
                        "(config cni.env), or move the node group to a larger subnet",
                        f"aws ec2 describe-subnets --subnet-ids {subnet.subnet_id} "
                        "--query 'Subnets[].AvailableIpAddressCount'",
                    ),
                )
            )
        warm = _warm_per_node(group[0].inst, cni)
        usable = _usable(subnet)
        if warm and usable is not None and warm * len(group) > usable:
            findings.append(
                Finding(
                    code="IPAMD007",
                    severity=Severity.PROBLEM,
                    subject=f"subnet {_label(subnet)}",
                    message=f"{cni_words(cni)} keeps {warm} warm address(es) per node; "
                    f"{len(group)} node(s) need {warm * len(group)}, the subnet has {usable}",
                    objects=Objects(
                        subnets=(_label(subnet),), nodes=tuple(n.node.name for n in group)
                    ),
                    remedy=("lower WARM_ENI_TARGET / WARM_IP_TARGET in config cni.env",),
                )
            )
    return reports, findings


def _warm_per_node(inst: InstanceType | None, cni: CniSettings) -> int:
    if inst is None:
        return 0
    if cni.ip_target_mode:
        return max(cni.effective_warm_ip, cni.effective_minimum_ip)
    return (cni.warm_eni_target or 1) * inst.ipv4_per_eni


def _usable(subnet: Subnet) -> int | None:
    try:
        bits = int(subnet.cidr.split("/")[1])
    except (IndexError, ValueError):
        return None
    return (1 << (32 - bits)) - SUBNET_RESERVED


def cni_words(cni: CniSettings) -> str:
    if cni.ip_target_mode:
        return (
            f"WARM_IP_TARGET={cni.warm_ip_target or 0}, "
            f"MINIMUM_IP_TARGET={cni.minimum_ip_target or 0}"
        )
    return f"WARM_ENI_TARGET={cni.warm_eni_target or 1}"


def _leak_findings(state: ClusterState) -> Iterator[Finding]:
    leaked = leaked_enis(state)
    if not leaked:
        return
    subnets = sorted({_label(state.subnet(e.subnet_id), e.subnet_id) for e in leaked})
    yield Finding(
        code="IPAMD005",
        severity=Severity.PROBLEM,
        subject=f"{len(leaked)} ENI(s)",
        message=f"available ENIs ipamd created for instances that are gone hold "
        f"{sum(eni_addresses(e) for e in leaked)} address(es)",
        objects=Objects(subnets=tuple(subnets), enis=tuple(e.eni_id for e in leaked)),
        evidence=tuple(
            f"{e.eni_id} in {e.subnet_id}: {e.status}, {e.description!r}, "
            f"{eni_addresses(e)} address(es)"
            for e in leaked
        ),
        remedy=(
            "upgrader diagnose -c CONFIG --delete-leaked-enis --yes",
            "upgrader apply PLAN.json --cleanup-leaked-enis",
            *(
                f"aws ec2 delete-network-interface --network-interface-id {e.eni_id}"
                for e in leaked
            ),
        ),
    )


def running_cni(state: ClusterState) -> tuple[Version | None, dict[str, str]]:
    """The CNI release aws-node runs (None without a tagged image) and its literal env."""
    ds = state.daemonset(*AWS_NODE)
    container = ds.containers[0] if ds and ds.containers else None
    running = Version.parse(container.tag) if container and container.tag else None
    return running, dict(container.env) if container else {}


def diagnose(
    state: ClusterState,
    views: Mapping[str, IpamdView],
    *,
    planned_cni: str | None = None,
    only_node: str | None = None,
) -> Diagnosis:
    """Findings about ``state`` and each node's ipamd ``views`` (by node name)."""
    running, env = running_cni(state)
    cni = CniSettings.from_env(running or Version(1, 6, 0), env)
    g = guide(cni.version, env)
    chosen = [n for n in state.nodes if only_node in (None, n.name)]
    nodes = [_node(state, n, views.get(n.name), cni, g) for n in chosen]
    subnets, subnet_findings = _subnet_findings(state, nodes, cni)
    findings = [
        *_aws_node_findings(state, running, planned_cni),
        *(f for n in nodes for f in _node_findings(n, running)),
        *subnet_findings,
        *_leak_findings(state),
    ]
    explained = {
        p
        for f in findings
        if f.code in ("IPAMD001", "IPAMD002", "IPAMD004")
        for p in f.objects.pods
    }
    for n in nodes:
        rest = [p for p in n.report.pods_waiting if p not in explained]
        if rest:
            namespace, name = rest[0].split("/", 1)
            findings.append(
                Finding(
                    code="IPAMD009",
                    severity=Severity.PROBLEM,
                    subject=f"node {n.node.name}",
                    message=f"{len(rest)} pod(s) wait for an IP address",
                    objects=Objects(nodes=(n.node.name,), pods=tuple(rest)),
                    evidence=tuple(n.report.manual_commands[:2]),
                    remedy=(f"kubectl -n {namespace} describe pod {name}",),
                )
            )
    order = {c: i for i, c in enumerate(sorted({f.code for f in findings}))}
    findings.sort(key=lambda f: (f.severity is not Severity.PROBLEM, order[f.code], f.subject))
    return Diagnosis(
        cluster=state.cluster.name,
        region=state.region,
        cni=running.tag if running else "unknown",
        env=tuple(sorted((k, v) for k, v in env.items() if k in POOL_ENV)),
        nodes=tuple(n.report for n in nodes),
        subnets=tuple(subnets),
        findings=tuple(findings),
    )
