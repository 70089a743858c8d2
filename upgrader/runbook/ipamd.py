"""ipamd troubleshooting per VPC CNI release: ports, ``/v1/enis`` shapes, metric names.

Facts: research/vpc-cni.md §6 and ``upgrader/catalog/data/cni_behaviours.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from upgrader.catalog.cni import behaviour
from upgrader.catalog.cni_metrics import METRICS_PORT
from upgrader.markdown import code, inline, table
from upgrader.model.plan import Plan
from upgrader.model.steps import CniStep
from upgrader.semver import Version

INTROSPECTION_PORT = 61679
LOG_GLOB = "/var/log/aws-routed-eni/ipamd.log*"
ENIS_V1_7 = Version(1, 7, 0)
ENIS_V1_20 = Version(1, 20, 0)
LATENCY_SPELLING_FIXED = Version(1, 5, 0)  # "lantency" (sic) before v1.5
ERROR_LABEL_DROPPED = Version(1, 5, 0)  # #467: error strings removed from labels
NO_AVAILABLE_IP_METRIC = Version(1, 16, 0)
BIND_ADDRESS_ENV = Version(1, 5, 3)  # INTROSPECTION_BIND_ADDRESS, #501
DISABLE_ENVS = Version(1, 4, 1)  # DISABLE_INTROSPECTION / DISABLE_METRICS, #436


@dataclass(frozen=True, slots=True, kw_only=True)
class IpamdGuide:
    """Where and how to look into ipamd of one CNI release."""

    version: Version
    introspection: str  # host:port of the introspection server
    separate_introspection: bool
    enis_shape: str  # short name of the /v1/enis format
    enis_format: str
    enis_jq: str
    pods_endpoint: bool
    metric_prefix: str
    error_labels: str
    latency_metric: str
    no_available_metric: bool
    notes: tuple[str, ...]

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{METRICS_PORT}/metrics"

    def url(self, path: str) -> str:
        return f"http://{self.introspection}{path}"

    def metric(self, name: str) -> str:
        return self.metric_prefix + name


def _enis(version: Version) -> tuple[str, str, str]:
    totals = "TotalIPs, AssignedIPs, free: (.TotalIPs - .AssignedIPs)"
    if version < ENIS_V1_7:
        return (
            "v1.3-v1.6: ENIIPPools",
            '{"TotalIPs", "AssignedIPs", "ENIIPPools": {eni: {"IsPrimary", "DeviceNumber", '
            '"AssignedIPv4Addresses", "IPv4Addresses": {ip: {"Assigned"}}}}}',
            f"{{{totals}, enis: (.ENIIPPools | length)}}",
        )
    if version < ENIS_V1_20:
        return (
            "v1.7-v1.19: ENIs",
            '{"TotalIPs", "AssignedIPs", "ENIs": {eni: {...}}}',
            f"{{{totals}, enis: (.ENIs | length)}}",
        )
    return (
        "v1.20+: per network card",
        'keyed by network card: {"0": {"TotalIPs", "AssignedIPs", "ENIs": {...}}} '
        "(ContainerID and IfName scrubbed)",
        "to_entries[] | {card: .key, TotalIPs: .value.TotalIPs, AssignedIPs: "
        ".value.AssignedIPs, free: (.value.TotalIPs - .value.AssignedIPs), "
        "enis: (.value.ENIs | length)}",
    )


def _is_true(env: Mapping[str, str], key: str) -> bool:
    return env.get(key, "").strip().lower() == "true"


def guide(version: Version, env: Mapping[str, str]) -> IpamdGuide:
    """The troubleshooting facts for CNI ``version`` run with the user's ``env``."""
    flags = behaviour(version)
    separate = flags.introspection_local_only  # #436: v1.3.4 and v1.4.1 on (not v1.4.0)
    host_port = f"127.0.0.1:{INTROSPECTION_PORT}" if separate else f"127.0.0.1:{METRICS_PORT}"
    notes: list[str] = []
    bind = env.get("INTROSPECTION_BIND_ADDRESS", "").strip()
    if bind and version >= BIND_ADDRESS_ENV:
        host_port = bind
        notes.append(f"INTROSPECTION_BIND_ADDRESS moves introspection to {inline(bind)}.")
    if version >= DISABLE_ENVS:
        if _is_true(env, "DISABLE_INTROSPECTION"):
            notes.append("DISABLE_INTROSPECTION=true: the introspection endpoints are off.")
        if _is_true(env, "DISABLE_METRICS"):
            notes.append("DISABLE_METRICS=true: the :61678/metrics endpoint is off.")
    if not separate:
        notes.append(
            "Introspection and metrics share one server on :61678 (all interfaces); "
            "from v1.3.4 / v1.4.1 introspection moves to 127.0.0.1:61679."
        )
    shape, form, jq = _enis(version)
    return IpamdGuide(
        version=version,
        introspection=host_port,
        separate_introspection=separate,
        enis_shape=shape,
        enis_format=form,
        enis_jq=jq,
        pods_endpoint=flags.pods_introspection_endpoint,
        metric_prefix="awscni_" if flags.metrics_awscni_prefix else "",
        error_labels="{fn,error}" if version < ERROR_LABEL_DROPPED else "{fn}",
        latency_metric=(
            "aws_api_latency_ms" if version >= LATENCY_SPELLING_FIXED else "aws_api_lantency_ms"
        ),
        no_available_metric=version >= NO_AVAILABLE_IP_METRIC,
        notes=tuple(notes),
    )


def plan_cni_versions(plan: Plan) -> list[tuple[Version, str]]:
    """Every CNI release the plan runs, in order, with when it runs."""
    seen: dict[Version, str] = {}
    seen[Version.parse(plan.from_.cni)] = "now, before the upgrade"
    for step in plan.steps:
        if isinstance(step, CniStep):
            seen.setdefault(Version.parse(step.to), f"after step {inline(step.id)}")
    seen.setdefault(Version.parse(plan.to.cni), "target")
    return list(seen.items())


def plan_guides(plan: Plan) -> list[IpamdGuide]:
    """The guide of every CNI release the plan runs, in order."""
    env = dict(plan.context.cni.env)
    return [guide(v, env) for v, _ in plan_cni_versions(plan)]


def _metric_names(g: IpamdGuide) -> list[str]:
    names = [
        "total_ip_addresses",
        "assigned_ip_addresses",
        "eni_allocated",
        "eni_max",
        "ip_max",
        "ipamd_error_count",
        "ipamd_action_inprogress",
    ]
    if g.no_available_metric:
        names.append("no_available_ip_addresses")
    return [g.metric(n) for n in names]


def _commands(g: IpamdGuide) -> list[str]:
    metrics = "|".join(_metric_names(g))
    lines = [
        "# on the node: aws ssm start-session --target <instance-id>  (or ssh)",
        f"curl -s {g.url('/v1/enis')} | jq '{g.enis_jq}'",
        f"curl -s {g.url('/v1/ipamd-env-settings')} | jq .",
    ]
    if g.pods_endpoint:
        lines.append(f"curl -s {g.url('/v1/pods')} | jq 'length'")
    lines += [
        f"curl -s {g.metrics_url} | grep -E '^({metrics})'",
        f"sudo grep -hiE 'InsufficientFreeAddressesInSubnet|InsufficientCidrBlocks|"
        f"no available IP' {LOG_GLOB} | tail -n 20",
        "# from your workstation, through the API server's node proxy (metrics listen on all"
        " interfaces):",
        f'kubectl get --raw "/api/v1/nodes/<node-name>:{METRICS_PORT}/proxy/metrics"'
        f" | grep -E '^({g.metric('total_ip_addresses')}|{g.metric('assigned_ip_addresses')}"
        f"|{g.metric('eni_allocated')}|{g.metric('eni_max')})'",
    ]
    return lines


def _signals(g: IpamdGuide) -> list[str]:
    out = [
        f"{inline(g.metric('assigned_ip_addresses'))} / {inline(g.metric('total_ip_addresses'))}"
        f" near 1 while {inline(g.metric('eni_allocated'))} == {inline(g.metric('eni_max'))}:"
        " the node is full.",
        f"{inline(g.metric('ipamd_error_count') + g.error_labels)} rising for"
        ' `fn=~"increaseIPPool.*"`: ipamd cannot grow the pool (subnet empty or EC2 throttling).',
    ]
    if g.no_available_metric:
        out.append(
            f"{inline(g.metric('no_available_ip_addresses'))} rising: pods were refused an address."
        )
    return out


def section(plan: Plan) -> str:
    """The "ipamd troubleshooting" section for every CNI release the plan runs."""
    env = dict(plan.context.cni.env)
    guides = [(guide(v, env), when) for v, when in plan_cni_versions(plan)]
    parts = [
        "## ipamd troubleshooting",
        "",
        "Pods stuck in `ContainerCreating` with `failed to assign an IP address to container`"
        " mean ipamd on that node has no address to give. Free = TotalIPs - AssignedIPs"
        " (addresses in their 30 s cooldown count as free but cannot be reused yet).",
        "",
        table(
            ["CNI", "Runs", "Introspection", "Metrics", "/v1/enis shape", "/v1/pods", "Names"],
            [
                [
                    inline(g.version.tag),
                    when,
                    inline(g.introspection),
                    inline(f":{METRICS_PORT}/metrics"),
                    g.enis_shape,
                    "yes" if g.pods_endpoint else "removed in v1.7.0",
                    inline(g.metric("total_ip_addresses")),
                ]
                for g, when in guides
            ],
        ),
    ]
    if any(g.metric_prefix for g, _ in guides) and any(not g.metric_prefix for g, _ in guides):
        parts += [
            "",
            "> **Metric names change during this upgrade**: v1.4.0 added the `awscni_` prefix"
            " (aws/amazon-vpc-cni-k8s#348). Dashboards and alerts built on the old names go"
            " silent; update them with the CNI steps.",
        ]
    for g, when in guides:
        parts += ["", f"### CNI {g.version.tag}: {when}", ""]
        parts += [f"- {note}" for note in g.notes]
        parts.append(f"- `/v1/enis` returns {inline(g.enis_format)}.")
        parts += [f"- {s}" for s in _signals(g)]
        parts += ["", code(_commands(g))]
    parts += [
        "",
        "If a node's pods stay in `ContainerCreating` while `/v1/enis` shows free addresses,"
        " ipamd's datastore is stale (aws/amazon-vpc-cni-k8s#59): restart aws-node on that"
        " node once, then re-check.",
        "",
        code(
            [
                "kubectl -n kube-system delete pod -l k8s-app=aws-node"
                " --field-selector spec.nodeName=<node-name>",
                "kubectl get pods --all-namespaces -o wide"
                " --field-selector spec.nodeName=<node-name>,status.phase=Pending",
            ]
        ),
    ]
    return "\n".join(parts)
