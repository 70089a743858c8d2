"""An Amazon Linux 2 node's user data read as what it asks ``/etc/eks/bootstrap.sh`` for,
and its AL2023 equivalent: a nodeadm ``NodeConfig`` in MIME multi-part user data.

Amazon Linux 2 EKS AMIs end at Kubernetes 1.32; AL2023 has no bootstrap.sh. What the
bootstrap.sh call sets is carried into the NodeConfig (cluster, endpoint, CA, DNS IP,
max pods, kubelet flags); other shell lines become a ``text/x-shellscript`` part that runs
before nodeadm joins the node. What cannot be carried is a :class:`Problem` (gate AMI001).
Pure: the user data is a template's ``UserData`` value (``Fn::Base64`` of a string or of
``Fn::Sub``), read with the stack's parameter values.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from upgrader.catalog.versions import catalog
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import load_template

SSM_PREFIX = "/aws/service/eks/optimized-ami/"
AL2 = "amazon-linux-2"
AL2023 = "amazon-linux-2023"
# AL2 family segment -> AL2023 architecture/variant segments
AL2023_VARIANTS = {
    AL2: "x86_64/standard",
    f"{AL2}-arm64": "arm64/standard",
    f"{AL2}-gpu": "x86_64/nvidia",
}
ENDPOINT_PARAMETER = "ClusterEndpoint"
CA_PARAMETER = "ClusterCertificateAuthority"
CIDR_PARAMETER = "ServiceCidr"
NODE_CONFIG_PARAMETERS = (ENDPOINT_PARAMETER, CA_PARAMETER, CIDR_PARAMETER)
LAUNCH_TYPES = ("AWS::EC2::LaunchTemplate", "AWS::AutoScaling::LaunchConfiguration")
BOUNDARY = "BOUNDARY"

# bootstrap.sh flags that take a value and are carried into the NodeConfig
_CARRIED = frozenset(
    {"--b64-cluster-ca", "--apiserver-endpoint", "--dns-cluster-ip", "--use-max-pods",
     "--kubelet-extra-args", "--container-runtime", "--ip-family"}
)  # fmt: skip
_PORT_TO = {
    "--enable-docker-bridge": "AL2023 runs containerd only (no Docker bridge); drop it",
    "--docker-config-json": "port it to NodeConfig spec.containerd.config",
    "--pause-container-account": "nodeadm picks the pause image; drop it or set "
    "spec.containerd.config",
    "--pause-container-version": "nodeadm picks the pause image; drop it or set "
    "spec.containerd.config",
    "--service-ipv6-cidr": "IPv6 clusters: set NodeConfig spec.cluster.cidr by hand",
    "--local-disks": "port it to NodeConfig spec.instance.localStorage",
}
# kubelet flags the kubelet of the AL2023 AMIs (1.33+) no longer has
_REMOVED_KUBELET_FLAGS = frozenset(
    {"--network-plugin", "--network-plugin-mtu", "--cni-bin-dir", "--cni-conf-dir",
     "--cni-cache-dir", "--docker-endpoint", "--image-pull-progress-deadline",
     "--container-runtime", "--experimental-allocatable-ignore-eviction",
     "--cloud-provider", "--pod-infra-container-image"}
)  # fmt: skip
# shell lines that assume AL2 or bootstrap.sh's files
_UNPORTABLE_LINES = (
    (re.compile(r"\bamazon-linux-extras\b"), "amazon-linux-extras does not exist on AL2023; "
     "install with dnf (or drop the line)"),
    (re.compile(r"/etc/eks/"), "AL2023 has no /etc/eks/ bootstrap files; port the setting "
     "to NodeConfig"),
    (re.compile(r"/etc/kubernetes/kubelet/|kubelet-config\.json"), "nodeadm writes the "
     "kubelet config; port the change to NodeConfig spec.kubelet.config"),
    (re.compile(r"\bdocker\b|/etc/docker/"), "AL2023 runs containerd only; port the change "
     "to NodeConfig spec.containerd.config"),
)  # fmt: skip
_SET_LINE = re.compile(r"^set(\s+(-[A-Za-z]+|-o\s+\w+|\+[A-Za-z]+))+\s*$")
_REF = re.compile(r"\$\{([A-Za-z0-9_:]+)\}")
_OPERATORS = frozenset({";", "&&", "||", "|", "&", ">", ">>", "<", "(", ")"})


@dataclass(frozen=True, slots=True)
class Problem:
    """A part of the user data that cannot be carried to AL2023: the line or flag, why,
    and what to port it to."""

    text: str
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bootstrap:
    """What an AL2 user data's bootstrap.sh call and other lines ask for.

    ``cluster`` is Fn::Sub text (``${ClusterName}`` when the call named that parameter);
    ``endpoint``/``certificate_authority`` are the values the call passed, if any;
    ``shell`` the other lines, as written (Fn::Sub text), run before nodeadm."""

    resource: str
    cluster: str = ""
    endpoint: str | None = None
    certificate_authority: str | None = None
    cluster_dns: str | None = None
    max_pods: int | None = None
    use_max_pods: bool = True
    kubelet_flags: tuple[str, ...] = ()
    shell: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    def carried(self) -> tuple[str, ...]:
        """What the NodeConfig takes over from the call, for the plan and runbook."""
        out = [f"cluster name {self.cluster} (spec.cluster.name)"]
        if self.endpoint is not None:
            out.append(
                f"--apiserver-endpoint (spec.cluster.apiServerEndpoint, {ENDPOINT_PARAMETER})"
            )
        if self.certificate_authority is not None:
            out.append(f"--b64-cluster-ca (spec.cluster.certificateAuthority, {CA_PARAMETER})")
        if self.cluster_dns is not None:
            out.append(f"--dns-cluster-ip {self.cluster_dns} (spec.kubelet.config.clusterDNS)")
        if self.max_pods is not None:
            out.append(f"--max-pods={self.max_pods} (spec.kubelet.config.maxPods)")
        out += [f"{flag} (spec.kubelet.flags)" for flag in self.kubelet_flags]
        return tuple(out)


def ami_family(path: str) -> str | None:
    """The family segment of an EKS AMI SSM path (``amazon-linux-2``...), or None."""
    if not path.startswith(SSM_PREFIX):
        return None
    parts = path[len(SSM_PREFIX) :].split("/")
    return parts[1] if len(parts) > 1 else None


def is_al2(path: str) -> bool:
    """Whether ``path`` names an Amazon Linux 2 EKS AMI (not AL2023)."""
    family = ami_family(path) or ""
    return family.startswith(AL2) and not family.startswith(AL2023)


def al2023_path(path: str, minor: str) -> str | None:
    """The AL2023 AMI path of ``minor`` with the architecture and variant of the AL2
    ``path``; None for an AL2 family without an AL2023 counterpart."""
    variant = AL2023_VARIANTS.get(ami_family(path) or "")
    if variant is None:
        return None
    return f"{SSM_PREFIX}{minor}/{AL2023}/{variant}/recommended/image_id"


def al2_parameter(stack: Stack) -> tuple[str, str] | None:
    """(key, value) of the stack parameter naming an Amazon Linux 2 EKS AMI path."""
    return next(((k, v) for k, v in sorted(stack.parameters) if is_al2(v)), None)


def moves_to_al2023(stack: Stack, minor: str) -> bool:
    """Whether the self-managed group of ``stack`` runs AL2 AMIs and Kubernetes ``minor``
    has none (its nodes must move to AL2023 when they roll to ``minor``)."""
    return al2_parameter(stack) is not None and AL2 not in catalog().kubernetes(minor).ami_families


def stack_bootstraps(stack: Stack) -> tuple[Bootstrap, ...]:
    """What each launch template / configuration of ``stack`` asks bootstrap.sh for."""
    try:
        template = load_template(stack.template_body)
    except yaml.YAMLError as error:
        template = None
        problem = f"is not valid YAML or JSON ({error})"
    else:
        problem = "has no Resources"
    values = user_data_values(template) if isinstance(template, Mapping) else []
    if not isinstance(template, Mapping) or not isinstance(template.get("Resources"), Mapping):
        return (Bootstrap(resource="template", problems=(Problem("the template", problem),)),)
    if not values:
        return (
            Bootstrap(
                resource="template",
                problems=(Problem("the template", "has no launch template or configuration"),),
            ),
        )
    parameters = dict(stack.parameters)
    return tuple(read_bootstrap(name, value, parameters) for name, value in values)


def user_data_values(template: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(logical id, UserData value) of each launch template / configuration, by id."""
    resources = template.get("Resources") or {}
    found = []
    for name in sorted(resources):
        resource = resources[name]
        if not isinstance(resource, Mapping) or resource.get("Type") not in LAUNCH_TYPES:
            continue
        props = resource.get("Properties") or {}
        data = props.get("LaunchTemplateData", props) if isinstance(props, Mapping) else {}
        found.append((name, data.get("UserData") if isinstance(data, Mapping) else None))
    return found


def sub_text(value: Any) -> tuple[str | None, bool]:
    """The script of a ``UserData`` value, and whether it is Fn::Sub text (else a
    literal); (None, False) when it is neither a plain string nor Fn::Sub."""
    if isinstance(value, Mapping) and set(value) == {"Fn::Base64"}:
        value = value["Fn::Base64"]
    if isinstance(value, str):
        return value, False
    if isinstance(value, Mapping) and set(value) == {"Fn::Sub"}:
        body = value["Fn::Sub"]
        if isinstance(body, str):
            return body, True
        if (
            isinstance(body, list)
            and len(body) == 2
            and isinstance(body[0], str)
            and isinstance(body[1], Mapping)
            and all(isinstance(v, str) for v in body[1].values())
        ):
            text = _REF.sub(lambda m: str(body[1].get(m.group(1), m.group(0))), body[0])
            return text, True
    return None, False


def _logical_lines(text: str) -> list[tuple[str, str]]:
    """(line with backslash continuations joined, the line as written)."""
    out: list[tuple[str, str]] = []
    pending, written = "", ""
    for line in text.splitlines():
        written += line
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            written += "\n"
            continue
        out.append((pending + line, written))
        pending, written = "", ""
    if pending:
        out.append((pending, written))
    return out


def _tokens(text: str) -> list[str] | None:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return None


def _flag(tokens: list[str], i: int, valued: bool = False) -> tuple[str, str | None, int]:
    """(flag, value, next index) at ``tokens[i]`` (``--f=v`` or ``--f v``; ``valued``: the
    flag always takes the next token)."""
    flag, eq, value = tokens[i].partition("=")
    if eq:
        return flag, value, i + 1
    if i + 1 < len(tokens) and (valued or not tokens[i + 1].startswith("--")):
        return flag, tokens[i + 1], i + 2
    return flag, None, i + 1


class _Reader:
    def __init__(self, resource: str, parameters: Mapping[str, str]) -> None:
        self.parameters = parameters
        self.fields: dict[str, Any] = {"resource": resource}
        self.flags: list[str] = []
        self.problems: list[Problem] = []

    def expand(self, text: str) -> str:
        return _REF.sub(lambda m: self.parameters.get(m.group(1), m.group(0)), text)

    def kubelet_args(self, value: str) -> None:
        tokens = _tokens(value) or []
        i = 0
        while i < len(tokens):
            if not tokens[i].startswith("--"):
                self.problems.append(
                    Problem(
                        tokens[i], "is not a kubelet flag (--name=value) in --kubelet-extra-args"
                    )
                )
                i += 1
                continue
            flag, arg, i = _flag(tokens, i)
            shown = flag if arg is None else f"{flag}={arg}"
            if flag == "--max-pods" and arg is not None and arg.isdigit():
                self.fields["max_pods"] = int(arg)
            elif flag in _REMOVED_KUBELET_FLAGS:
                self.problems.append(
                    Problem(
                        f"--kubelet-extra-args {shown}",
                        "the kubelet of the AL2023 AMIs no longer has this flag (nodeadm "
                        "configures the runtime and cloud provider); drop it or port it to "
                        "NodeConfig spec.kubelet.config",
                    )
                )
            else:
                self.flags.append(shown)

    def call(self, original: str, expanded: str) -> None:
        tokens = _tokens(expanded)
        where = next((i for i, t in enumerate(tokens or []) if t.endswith("bootstrap.sh")), None)
        if tokens is None or where is None or where > 0 or _OPERATORS & set(tokens):
            self.problems.append(
                Problem(
                    original.strip(),
                    "upgrader translates only a bootstrap.sh call alone on its line (no "
                    "environment, pipes, redirections, &&, ; or control flow around it)",
                )
            )
            return
        args = tokens[where + 1 :]
        if not args or args[0].startswith("--"):
            self.problems.append(Problem(original.strip(), "names no cluster"))
            return
        first = (_tokens(original.split("bootstrap.sh", 1)[1]) or [""])[0]
        ref = _REF.fullmatch(first)
        named = ref is not None and self.parameters.get(ref.group(1)) == args[0]
        self.fields["cluster"] = first if named else args[0]
        i = 1
        while i < len(args):
            if not args[i].startswith("--"):
                self.problems.append(Problem(args[i], "is an unexpected bootstrap.sh argument"))
                i += 1
                continue
            flag, value, i = _flag(args, i, valued=True)
            self.bootstrap_flag(flag, value)

    def bootstrap_flag(self, flag: str, value: str | None) -> None:
        shown = flag if value is None else f"{flag} {value}"
        if flag not in _CARRIED:
            why = _PORT_TO.get(
                flag,
                "is a bootstrap.sh flag upgrader does not translate; port "
                "it to the NodeConfig by hand (nodeadm API: node.eks.aws/v1alpha1)",
            )
            self.problems.append(Problem(shown, why))
        elif value is None:
            self.problems.append(Problem(shown, "has no value"))
        elif flag == "--apiserver-endpoint":
            self.fields["endpoint"] = value
        elif flag == "--b64-cluster-ca":
            self.fields["certificate_authority"] = value
        elif flag == "--dns-cluster-ip":
            self.fields["cluster_dns"] = value
        elif flag == "--use-max-pods":
            self.fields["use_max_pods"] = value.lower() != "false"
        elif flag == "--kubelet-extra-args":
            self.kubelet_args(value)
        elif flag == "--container-runtime" and value != "containerd":
            self.problems.append(
                Problem(
                    shown,
                    "AL2023 runs containerd only; move the workloads off Docker "
                    "(dockershim) and drop the flag",
                )
            )
        elif flag == "--ip-family" and value != "ipv4":
            self.problems.append(
                Problem(shown, "IPv6 clusters: write the NodeConfig by hand (spec.cluster.cidr)")
            )


def read_bootstrap(resource: str, value: Any, parameters: Mapping[str, str]) -> Bootstrap:
    """What the ``UserData`` ``value`` of ``resource`` asks bootstrap.sh for, read with the
    stack's ``parameters`` (``${BootstrapArguments}`` expands to its value)."""
    text, is_sub = sub_text(value)
    if text is None:
        return Bootstrap(
            resource=resource,
            problems=(
                Problem(
                    f"{resource} UserData",
                    "is not a plain string or Fn::Sub that upgrader can read (Fn::Join, "
                    "a parameter, or none at all); write the AL2023 NodeConfig user data by hand",
                ),
            ),
        )
    if text.lstrip().lower().startswith("mime-version"):
        return Bootstrap(
            resource=resource,
            problems=(
                Problem(
                    f"{resource} UserData",
                    "is already MIME multi-part; write the AL2023 NodeConfig part by hand",
                ),
            ),
        )
    reader = _Reader(resource, parameters)
    shell: list[str] = []
    dropped: list[str] = []
    calls = 0
    for line, written in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or _SET_LINE.match(stripped):
            if stripped:
                dropped.append(stripped)
            continue
        if "bootstrap.sh" in stripped:
            calls += 1
            if calls > 1:
                reader.problems.append(Problem(stripped, "is a second bootstrap.sh call"))
            elif line[:1].isspace():
                reader.problems.append(
                    Problem(
                        stripped,
                        "is indented: a bootstrap.sh call inside shell control "
                        "flow (if, for, a function) cannot be moved out of it",
                    )
                )
            else:
                reader.call(stripped, reader.expand(stripped))
            continue
        unportable = next((why for pattern, why in _UNPORTABLE_LINES if pattern.search(line)), None)
        if unportable is not None:
            reader.problems.append(Problem(stripped, unportable))
        else:
            shell.append(written if is_sub else written.replace("${", "${!"))
    if calls == 0:
        reader.problems.append(
            Problem(f"{resource} UserData", "has no /etc/eks/bootstrap.sh call to translate")
        )
    return Bootstrap(
        **reader.fields,
        kubelet_flags=tuple(reader.flags),
        shell=tuple(shell),
        dropped=tuple(dropped),
        problems=tuple(reader.problems),
    )


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_config_user_data(boot: Bootstrap, max_pods: int | None) -> str:
    """The AL2023 user data (Fn::Sub text): a NodeConfig naming the cluster with
    ``${ClusterEndpoint}``, ``${ClusterCertificateAuthority}`` and ``${ServiceCidr}``, the
    call's kubelet settings, and the other shell lines as a part run before nodeadm.
    ``max_pods`` applies when the call set none."""
    pods = boot.max_pods if boot.max_pods is not None else max_pods
    if pods is None and not boot.use_max_pods:
        pods = 110  # --use-max-pods false without --max-pods: the kubelet's default
    config = []
    if pods is not None:
        config.append(f"      maxPods: {pods}\n")
    if boot.cluster_dns is not None:
        config.append(f"      clusterDNS:\n      - {_quoted(boot.cluster_dns)}\n")
    kubelet = ("    config:\n" + "".join(config)) if config else ""
    if boot.kubelet_flags:
        kubelet += "    flags:\n" + "".join(f"    - {_quoted(f)}\n" for f in boot.kubelet_flags)
    parts = [
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"\n'
        "\n"
        f"--{BOUNDARY}\n"
        "Content-Type: application/node.eks.aws\n"
        "\n"
        "---\n"
        "apiVersion: node.eks.aws/v1alpha1\n"
        "kind: NodeConfig\n"
        "spec:\n"
        "  cluster:\n"
        f"    name: {boot.cluster}\n"
        f"    apiServerEndpoint: ${{{ENDPOINT_PARAMETER}}}\n"
        f"    certificateAuthority: ${{{CA_PARAMETER}}}\n"
        f"    cidr: ${{{CIDR_PARAMETER}}}\n" + (f"  kubelet:\n{kubelet}" if kubelet else "") + "\n"
    ]
    if boot.shell:
        parts.append(
            f"--{BOUNDARY}\n"
            'Content-Type: text/x-shellscript; charset="us-ascii"\n'
            "\n"
            "#!/bin/bash\n" + "".join(f"{line}\n" for line in boot.shell) + "\n"
        )
    return "".join(parts) + f"--{BOUNDARY}--\n"
