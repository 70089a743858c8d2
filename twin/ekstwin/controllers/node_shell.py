"""The commands ``kubectl exec`` can run in the twin's containers: what the VPC CNI
troubleshooting guide runs on a node (``curl localhost:61679/v1/enis``, ``curl
localhost:61678/metrics``, ``ip rule list``, ``ip route show table N``, ``cat`` of ipamd's
log), plus ``sh -c``, ``echo``, ``hostname``, ``true`` and ``false``. Anything else fails as
the container runtime does when the executable is missing.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ekstwin.kubeapi.node_access import ExecResult

# (status, content type, body), or None when nothing listens
HttpAnswer = tuple[int, str, bytes] | None
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1", "0.0.0.0"})
CURL_COULDNT_CONNECT = 7
CURL_HTTP_ERROR = 22
NOT_FOUND_EXIT = 127
IP_ERROR_EXIT = 255


@dataclass(frozen=True, slots=True)
class Host:
    """What a container sees of its node: its ports (host network only), routes and files."""

    hostname: str
    node_ip: str
    host_network: bool
    http: Callable[[str, int, str], HttpAnswer]  # (host, port, path) from inside the node
    ip_rules: Callable[[], list[str]]
    routes: Callable[[str], list[str]]  # table ("main" or a number) -> lines
    files: Callable[[str], str | None]


def run(argv: Sequence[str], host: Host) -> ExecResult:
    """Run ``argv`` in a container on ``host``."""
    if not argv:
        return ExecResult(stderr=b"you must specify at least one command\n", exit_code=1)
    name, args = argv[0].rsplit("/", 1)[-1], list(argv[1:])
    if name in {"sh", "bash", "ash"} and len(args) >= 2 and args[0] == "-c":
        try:
            inner = shlex.split(args[1])
        except ValueError as exc:
            return ExecResult(stderr=f"{name}: syntax error: {exc}\n".encode(), exit_code=2)
        return run(inner, host)
    command = _COMMANDS.get(name)
    if command is None:
        return ExecResult(
            stderr=(
                "OCI runtime exec failed: exec failed: unable to start container process: "
                f'exec: "{argv[0]}": executable file not found in $PATH: unknown\n'
            ).encode(),
            exit_code=NOT_FOUND_EXIT,
        )
    return command(args, host)


def _echo(args: list[str], host: Host) -> ExecResult:
    return ExecResult(stdout=(" ".join(args) + "\n").encode())


def _hostname(args: list[str], host: Host) -> ExecResult:
    return ExecResult(stdout=f"{host.hostname}\n".encode())


def _true(args: list[str], host: Host) -> ExecResult:
    return ExecResult()


def _false(args: list[str], host: Host) -> ExecResult:
    return ExecResult(exit_code=1)


def _cat(args: list[str], host: Host) -> ExecResult:
    out, err, code = b"", b"", 0
    for path in (a for a in args if not a.startswith("-")):
        text = host.files(path)
        if text is None:
            err += f"cat: {path}: No such file or directory\n".encode()
            code = 1
        else:
            out += text.encode()
    return ExecResult(stdout=out, stderr=err, exit_code=code)


def _curl(args: list[str], host: Host) -> ExecResult:
    silent = show_error = fail = False
    url = None
    for arg in args:
        if arg.startswith("--"):
            silent |= arg == "--silent"
            show_error |= arg == "--show-error"
            fail |= arg == "--fail"
        elif arg.startswith("-") and len(arg) > 1:
            silent |= "s" in arg
            show_error |= "S" in arg
            fail |= "f" in arg
        elif url is None:
            url = arg
    if url is None:
        return ExecResult(
            stderr=b"curl: no URL specified\ncurl: try 'curl --help' for more information\n",
            exit_code=2,
        )
    parts = urlsplit(url if "://" in url else f"http://{url}")
    hostname = parts.hostname or ""
    port = parts.port or 80
    path = parts.path or "/"
    answer = host.http(hostname, port, path) if _reachable(hostname, host) else None
    if answer is None:
        message = (
            f"curl: (7) Failed to connect to {hostname} port {port} after 0 ms: "
            "Couldn't connect to server\n"
        )
        shown = message.encode() if not silent or show_error else b""
        return ExecResult(stderr=shown, exit_code=CURL_COULDNT_CONNECT)
    status, _, body = answer
    if fail and status >= 400:
        message = f"curl: (22) The requested URL returned error: {status}\n"
        shown = message.encode() if not silent or show_error else b""
        return ExecResult(stderr=shown, exit_code=CURL_HTTP_ERROR)
    return ExecResult(stdout=body)


def _reachable(hostname: str, host: Host) -> bool:
    """Only a host-network container shares the node's ports (aws-node, kube-proxy)."""
    return host.host_network and (hostname in LOCAL_HOSTS or hostname == host.node_ip)


def _ip(args: list[str], host: Host) -> ExecResult:
    words = [a for a in args if a not in {"-4", "-d", "-details"}]
    if words and words[0] in {"rule", "ru"} and (len(words) == 1 or words[1] in {"list", "show"}):
        return ExecResult(stdout="".join(f"{line}\n" for line in host.ip_rules()).encode())
    if words and words[0] in {"route", "r", "ro"}:
        rest = words[1:]
        if rest and rest[0] in {"show", "list"}:
            rest = rest[1:]
        table = "main"
        if len(rest) == 2 and rest[0] == "table":
            table = rest[1]
        elif rest:
            return _ip_usage(f'Error: either "to" is duplicate, or "{rest[0]}" is a garbage.')
        if table not in {"main", "all"} and not table.isdigit():
            return _ip_usage(f'Error: argument "{table}" is wrong: table id value is invalid')
        return ExecResult(stdout="".join(f"{line}\n" for line in host.routes(table)).encode())
    return _ip_usage(f'Object "{words[0] if words else ""}" is unknown, try "ip help".')


def _ip_usage(message: str) -> ExecResult:
    return ExecResult(stderr=f"{message}\n".encode(), exit_code=IP_ERROR_EXIT)


_COMMANDS: dict[str, Callable[[list[str], Host], ExecResult]] = {
    "cat": _cat,
    "curl": _curl,
    "echo": _echo,
    "false": _false,
    "hostname": _hostname,
    "ip": _ip,
    "true": _true,
}
