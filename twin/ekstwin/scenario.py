"""Sandbox scenario files (DESIGN.md §8, contract: scenario format): parse and validate.

A scenario is a YAML file, or the name of one shipped in ``ekstwin/scenarios``.
Every problem is reported at once, each naming the key, the problem and the fix.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ekstwin.scenario_cni import check_eniconfigs, check_env
from ekstwin.scenario_insights import DeprecatedApiUse, check_usage
from ekstwin.templates import aws_2019_instance_types
from upgrader import textfile
from upgrader.catalog import instances, versions
from upgrader.errors import BadInputError, UpgraderError
from upgrader.semver import Version

AWS_RESERVED_PER_SUBNET = 5  # network, router, DNS, future use, broadcast
_CPU = re.compile(r"^(\d+)(m?)$")
_MEM = re.compile(r"^(\d+)(Ki|Mi|Gi)?$")
_MEM_UNITS = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
# Node-group stack templates: upgrader's own builder (launch template), or AWS's 2019
# template (launch configuration under AutoScalingRollingUpdate; self-managed, AL2 only).
TEMPLATE_UPGRADER = "upgrader"
TEMPLATE_AWS_2019 = "aws-2019"
NODEGROUP_TEMPLATES = (TEMPLATE_UPGRADER, TEMPLATE_AWS_2019)
AL2 = "amazon-linux-2"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSubnet:
    name: str
    az: str
    cidr: str
    used: int = 0

    @property
    def usable(self) -> int:
        """Addresses AWS lets instances use in this subnet."""
        return ipaddress.ip_network(self.cidr).num_addresses - AWS_RESERVED_PER_SUBNET

    @property
    def free(self) -> int:
        return self.usable - self.used


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioNodeGroup:
    name: str
    kind: str
    instance_type: str
    desired: int
    subnets: tuple[str, ...]
    template: str = TEMPLATE_UPGRADER


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdb:
    max_unavailable: int | None = None
    min_available: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    namespace: str
    name: str
    replicas: int
    cpu_millis: int
    memory_bytes: int
    pdb: Pdb | None = None
    # terminationGracePeriodSeconds: the twin's containers take all of it to stop
    grace_seconds: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    leaked_enis: tuple[tuple[str, int], ...] = ()
    stuck_ipamd_nodes: int = 0
    # {service: rate}: that fraction of the service's calls throttled / answered 5xx
    aws_throttle: tuple[tuple[str, float], ...] = ()
    aws_5xx: tuple[tuple[str, float], ...] = ()
    apiserver_429: float = 0.0  # Kubernetes API requests answered 429 (Retry-After: 1)
    apiserver_500: float = 0.0
    slow_control_plane_minutes: int | None = None  # default: the twin's (40 minutes)
    nodegroup_stack_update_fails: str | None = None  # a logical id of the node-group stacks


FAULT_SERVICES = ("ec2", "autoscaling", "cloudformation", "eks", "ssm", "sts", "iam")
FAULT_KEYS = (
    "leaked_enis",
    "stuck_ipamd_nodes",
    "aws_throttle",
    "aws_5xx",
    "apiserver_429",
    "apiserver_500",
    "slow_control_plane_minutes",
    "nodegroup_stack_update_fails",
)


AUTH_MODES = ("none", "eks")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole sandbox world and the upgrade target it is meant for."""

    name: str
    region: str
    kubernetes: Version
    cni_version: Version
    cni_env: tuple[tuple[str, str], ...]
    subnets: tuple[ScenarioSubnet, ...]
    control_plane_subnets: tuple[str, ...]
    nodegroups: tuple[ScenarioNodeGroup, ...]
    workloads: tuple[Workload, ...]
    faults: Faults
    target_kubernetes: Version
    target_cni: Version | None
    coredns_replicas: int = 2
    cni_eniconfigs: tuple[tuple[str, str], ...] = ()  # AZ -> subnet name (custom networking)
    # "eks": the API server demands an EKS token (401 otherwise; 15 virtual minutes each) or
    # the kubeconfig's admin token. "none" (default) until the sandbox serves HTTPS: kubectl
    # sends no bearer token over plain HTTP, so "eks" shuts kubectl out.
    auth: str = "none"
    # clients that called APIs a later minor removes (EKS upgrade insights, last 30 days)
    deprecated_api_usage: tuple[DeprecatedApiUse, ...] = ()
    fargate: tuple[FargateProfileSpec, ...] = ()  # the pods of their namespaces run on Fargate

    def subnet(self, name: str) -> ScenarioSubnet:
        return next(s for s in self.subnets if s.name == name)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(sorted({w.namespace for w in self.workloads}))

    @property
    def pods(self) -> int:
        return sum(w.replicas for w in self.workloads)


@dataclass(frozen=True, slots=True)
class FargateProfileSpec:
    """A Fargate profile: its name, the namespaces it selects and its subnets (names)."""

    name: str
    namespaces: tuple[str, ...]
    subnets: tuple[str, ...]


class ScenarioError(BadInputError):
    """A scenario file that cannot be used; lists every problem."""


def shipped() -> tuple[str, ...]:
    """Names of the scenarios shipped inside the package."""
    folder = resources.files("ekstwin").joinpath("scenarios")
    return tuple(
        sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
    )


def load(ref: str) -> Scenario:
    """Load a scenario by path or shipped name (``dev``, ``staging``, ``modern``, ``tight``)."""
    hint = f"give a path to a scenario YAML, or one of: {', '.join(shipped())}"
    path = Path(ref)
    if ref in shipped() and not path.is_file():
        where = f"shipped scenario {ref!r}"
        text = resources.files("ekstwin").joinpath(f"scenarios/{ref}.yaml").read_text()
        return parse(textfile.parse_yaml(text, where, error=ScenarioError), where)
    if not (path.exists() or path.is_symlink()):
        raise ScenarioError(f"scenario {ref!r}", "is neither a file nor a shipped scenario", hint)
    raw = textfile.load_yaml(path, what="scenario", hint=hint, error=ScenarioError)
    return parse(raw, str(path))


class _Problems:
    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, key: str, problem: str) -> None:
        self.items.append(f"{key}: {problem}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ScenarioError(
                self.where,
                "has problems:\n    " + "\n    ".join(self.items),
                "correct the keys named above (format: DESIGN.md §8)",
            )


def _version(p: _Problems, key: str, value: Any) -> Version | None:
    try:
        return Version.parse(str(value), key)
    except UpgraderError:
        p.add(key, f"{value!r} is not a version like 1.13 or v1.5.5")
        return None


def _int(p: _Problems, key: str, value: Any, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        p.add(key, f"{value!r} must be a whole number >= {minimum}")
        return minimum
    return value


def _rate(p: _Problems, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        p.add(key, f"{value!r} must be a number from 0 to 1")
        return 0.0
    return float(value)


def _service_rates(p: _Problems, key: str, value: Any) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        p.add(key, f"{value!r} must be a mapping of service to rate, like {{ec2: 0.1}}")
        return ()
    out = []
    for service, rate in value.items():
        if service not in FAULT_SERVICES:
            p.add(f"{key}.{service}", f"is not a service (known: {', '.join(FAULT_SERVICES)})")
        out.append((str(service), _rate(p, f"{key}.{service}", rate)))
    return tuple(sorted(out))


def _faults(p: _Problems, raw: Any) -> Faults:
    """The ``faults:`` mapping; every fault off unless set."""
    if not isinstance(raw, dict):
        p.add("faults", f"{raw!r} must be a mapping")
        raw = {}
    for key in sorted(set(raw) - set(FAULT_KEYS)):
        p.add(f"faults.{key}", f"is not a fault (known: {', '.join(sorted(FAULT_KEYS))})")
    leaked = tuple(
        sorted(
            (str(k), _int(p, f"faults.leaked_enis.{k}", v))
            for k, v in (raw.get("leaked_enis") or {}).items()
        )
    )
    slow = raw.get("slow_control_plane_minutes")
    fails = raw.get("nodegroup_stack_update_fails")
    if fails is not None and (not isinstance(fails, str) or not fails):
        p.add("faults.nodegroup_stack_update_fails", f"{fails!r} must be a logical resource id")
        fails = None
    return Faults(
        leaked_enis=leaked,
        stuck_ipamd_nodes=_int(p, "faults.stuck_ipamd_nodes", raw.get("stuck_ipamd_nodes", 0)),
        aws_throttle=_service_rates(p, "faults.aws_throttle", raw.get("aws_throttle")),
        aws_5xx=_service_rates(p, "faults.aws_5xx", raw.get("aws_5xx")),
        apiserver_429=_rate(p, "faults.apiserver_429", raw.get("apiserver_429", 0)),
        apiserver_500=_rate(p, "faults.apiserver_500", raw.get("apiserver_500", 0)),
        slow_control_plane_minutes=None
        if slow is None
        else _int(p, "faults.slow_control_plane_minutes", slow, minimum=1),
        nodegroup_stack_update_fails=fails,
    )


def _quantity(p: _Problems, key: str, value: Any, pattern: re.Pattern[str]) -> int:
    m = pattern.match(str(value))
    if not m:
        p.add(key, f"{value!r} is not a quantity like 100m / 1 (cpu) or 128Mi (memory)")
        return 0
    if pattern is _CPU:
        return int(m.group(1)) * (1 if m.group(2) else 1000)
    return int(m.group(1)) * _MEM_UNITS[m.group(2)]


def _check_template(
    p: _Problems, key: str, template: str, kind: str, itype: str, kube: Version | None
) -> None:
    if template not in NODEGROUP_TEMPLATES:
        p.add(f"{key}.template", f"{template!r} must be {' or '.join(NODEGROUP_TEMPLATES)}")
        return
    if template != TEMPLATE_AWS_2019:
        return
    if kind != "self-managed":
        p.add(f"{key}.template", f"{template} makes a self-managed group; set kind: self-managed")
    if itype not in aws_2019_instance_types():
        p.add(
            f"{key}.instance_type", f"{itype!r} is not among {template}'s NodeInstanceType values"
        )
    if kube is None:
        return
    try:
        release = versions.catalog().kubernetes(kube)
    except UpgraderError:
        return  # reported under `kubernetes`
    if AL2 not in release.ami_families:
        p.add(
            f"{key}.template",
            f"{template} launches Amazon Linux 2 nodes and EKS publishes no AL2 AMI for "
            f"{kube.minor_str}; use template: {TEMPLATE_UPGRADER}",
        )


def parse(raw: Any, where: str = "scenario") -> Scenario:  # noqa: PLR0912, PLR0915 - one pass over a flat format
    """Validate a parsed scenario document; every problem is reported together."""
    p = _Problems(where)
    if not isinstance(raw, dict):
        p.add("(top level)", "must be a mapping")
        p.raise_if_any()
    for key in ("name", "region", "kubernetes", "cni", "subnets", "nodegroups", "target"):
        if key not in raw:
            p.add(key, "is required")
    p.raise_if_any()
    known = {
        "name",
        "region",
        "kubernetes",
        "cni",
        "subnets",
        "control_plane_subnets",
        "nodegroups",
        "workloads",
        "faults",
        "target",
        "coredns",
        "auth",
        "deprecated_api_usage",
        "fargate",
    }
    for key in sorted(set(raw) - known):
        p.add(key, f"is not a scenario key (known: {', '.join(sorted(known))})")

    region = str(raw["region"])
    kube = _version(p, "kubernetes", raw["kubernetes"])
    cat = versions.catalog()
    if kube is not None:
        try:
            cat.kubernetes(kube)
        except UpgraderError as err:
            p.add("kubernetes", err.message)
    cni_raw = raw["cni"] if isinstance(raw["cni"], dict) else {}
    cni_version = _version(p, "cni.version", cni_raw.get("version"))
    env = {str(k): str(v) for k, v in (cni_raw.get("env") or {}).items()}

    subnets: list[ScenarioSubnet] = []
    for i, s in enumerate(raw["subnets"] or []):
        key = f"subnets[{i}]"
        try:
            net = ipaddress.ip_network(str(s.get("cidr")))
        except ValueError:
            p.add(f"{key}.cidr", f"{s.get('cidr')!r} is not a CIDR like 10.0.0.0/24")
            continue
        az = str(s.get("az", ""))
        if not az.startswith(region):
            p.add(f"{key}.az", f"{az!r} is not an AZ of region {region}")
        sub = ScenarioSubnet(
            name=str(s.get("name", f"subnet-{i}")),
            az=az,
            cidr=str(net),
            used=_int(p, f"{key}.used", s.get("used", 0)),
        )
        if sub.used > sub.usable:
            p.add(f"{key}.used", f"{sub.used} exceeds the {sub.usable} usable addresses of {net}")
        subnets.append(sub)
    names = [s.name for s in subnets]
    if len(set(names)) != len(names):
        p.add("subnets", "subnet names must be unique")
    nets = [ipaddress.ip_network(s.cidr) for s in subnets]
    for a in range(len(nets)):
        for b in range(a + 1, len(nets)):
            if nets[a].overlaps(nets[b]):
                p.add("subnets", f"{names[a]} and {names[b]} overlap")

    def refs(key: str, values: Any) -> tuple[str, ...]:
        out = tuple(str(v) for v in values or [])
        for v in out:
            if v not in names:
                p.add(key, f"names unknown subnet {v!r} (known: {', '.join(names)})")
        return out

    cp_subnets = refs("control_plane_subnets", raw.get("control_plane_subnets") or names)
    groups: list[ScenarioNodeGroup] = []
    types = instances.bundled()
    for i, g in enumerate(raw["nodegroups"] or []):
        key = f"nodegroups[{i}]"
        kind = str(g.get("kind", "self-managed"))
        if kind not in ("self-managed", "managed"):
            p.add(f"{key}.kind", f"{kind!r} must be self-managed or managed")
        itype = str(g.get("instance_type"))
        if itype not in types:
            p.add(f"{key}.instance_type", f"{itype!r} is not in the instance catalog")
        elif types.get(itype).vcpus is None or types.get(itype).memory_mib is None:
            p.add(
                f"{key}.instance_type",
                f"{itype!r} has no vCPU/memory figures in the catalog (only ENI limits); "
                "the twin needs them for node allocatable: pick a type from the EC2 table",
            )
        template = str(g.get("template", TEMPLATE_UPGRADER))
        _check_template(p, key, template, kind, itype, kube)
        groups.append(
            ScenarioNodeGroup(
                name=str(g.get("name", f"ng-{i}")),
                kind=kind,
                instance_type=itype,
                desired=_int(p, f"{key}.desired", g.get("desired", 1), 1),
                subnets=refs(f"{key}.subnets", g.get("subnets") or names),
                template=template,
            )
        )

    check_env(p.add, env)
    eniconfigs = check_eniconfigs(
        p.add,
        cni_raw.get("eniconfigs"),
        env,
        {s.name: s.az for s in subnets},
        {s.az for g in groups for s in subnets if s.name in g.subnets},
    )

    workloads: list[Workload] = []
    for i, w in enumerate(raw.get("workloads") or []):
        key = f"workloads[{i}]"
        pdb = None
        if w.get("pdb") is not None:
            spec = w["pdb"]
            if (
                not isinstance(spec, dict)
                or len(spec) != 1
                or not (set(spec) <= {"max_unavailable", "min_available"})
            ):
                p.add(f"{key}.pdb", "needs exactly one of max_unavailable or min_available")
            else:
                ((field, value),) = spec.items()
                pdb = Pdb(**{field: _int(p, f"{key}.pdb.{field}", value)})
        workloads.append(
            Workload(
                namespace=str(w.get("namespace", "default")),
                name=str(w.get("name", f"w{i}")),
                replicas=_int(p, f"{key}.replicas", w.get("replicas", 1)),
                cpu_millis=_quantity(p, f"{key}.cpu", w.get("cpu", "100m"), _CPU),
                memory_bytes=_quantity(p, f"{key}.memory", w.get("memory", "128Mi"), _MEM),
                pdb=pdb,
                grace_seconds=None
                if w.get("grace_seconds") is None
                else _int(p, f"{key}.grace_seconds", w["grace_seconds"]),
            )
        )

    fargate = _fargate(p, raw.get("fargate"), {s.name for s in subnets})
    faults = _faults(p, raw.get("faults") or {})
    deprecated_api_usage = check_usage(p.add, raw.get("deprecated_api_usage"))
    refs("faults.leaked_enis", [k for k, _ in faults.leaked_enis])

    target = raw["target"] if isinstance(raw["target"], dict) else {}
    target_kube = _version(p, "target.kubernetes", target.get("kubernetes"))
    target_cni = _version(p, "target.cni", target["cni"]) if target.get("cni") else None
    if kube is not None and target_kube is not None and target_kube < kube:
        # any later minor: upgrader plans one hop per minor up to it
        p.add("target.kubernetes", f"is {target_kube.minor_str}, older than {kube.minor_str}")
    coredns = raw.get("coredns") or {}
    coredns_replicas = _int(p, "coredns.replicas", coredns.get("replicas", 2))
    auth = str(raw.get("auth", "none"))
    if auth not in AUTH_MODES:
        p.add("auth", f"is {auth!r}; one of {', '.join(AUTH_MODES)}")
    p.raise_if_any()
    assert kube is not None and cni_version is not None and target_kube is not None
    return Scenario(
        name=str(raw["name"]),
        region=region,
        kubernetes=kube,
        cni_version=cni_version,
        cni_env=tuple(sorted(env.items())),
        subnets=tuple(subnets),
        control_plane_subnets=cp_subnets,
        nodegroups=tuple(groups),
        workloads=tuple(workloads),
        faults=faults,
        target_kubernetes=target_kube,
        target_cni=target_cni,
        coredns_replicas=coredns_replicas,
        cni_eniconfigs=eniconfigs,
        auth=auth,
        deprecated_api_usage=deprecated_api_usage,
        fargate=fargate,
    )


def _fargate(p: _Problems, raw: Any, subnets: set[str]) -> tuple[FargateProfileSpec, ...]:
    """``fargate: [{name, namespaces: [...], subnets: [...]}]``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add("fargate", "must be a list of profiles")
        return ()
    found = []
    for i, item in enumerate(raw):
        key = f"fargate[{i}]"
        if not isinstance(item, dict) or not item.get("name") or not item.get("namespaces"):
            p.add(key, "needs a name and namespaces: [...]")
            continue
        unknown = sorted(set(item.get("subnets") or ()) - subnets)
        if unknown or not item.get("subnets"):
            p.add(f"{key}.subnets", f"must name scenario subnets; unknown: {unknown or 'none'}")
            continue
        found.append(
            FargateProfileSpec(
                name=str(item["name"]),
                namespaces=tuple(str(n) for n in item["namespaces"]),
                subnets=tuple(str(n) for n in item["subnets"]),
            )
        )
    return tuple(found)
