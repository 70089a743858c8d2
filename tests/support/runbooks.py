"""The committed runbooks, ``runbooks/<scenario>.md``: each shipped scenario's upgrade planned
on the local twin through the real command line, and compared with what differs between runs
of the twin (generated IDs, digests, dates) normalised away.

``bash scripts/runbooks [--check] [SCENARIO ...]`` runs ``python -m tests.support.runbooks``:
it writes ``runbooks/<scenario>.md`` for every shipped scenario (or the ones named), leaving
a file alone when only its volatile IDs would change; ``--check`` writes nothing and exits 1
naming every stale file. One scenario is regenerated as a user would do it by hand, in D:

    UPGRADER_SANDBOX_SPEED=100000 upgrader sandbox up SCENARIO --dir sandbox
    (set -a && . sandbox/env && upgrader plan -c sandbox/upgrader.yaml \\
        --out plan.json --runbook runbook.md)
    upgrader sandbox down --dir sandbox

The integration test ``tests/integration/test_committed_runbooks.py`` calls the same
:func:`regenerate` and :func:`stale`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ekstwin.scenario import shipped

REPO = Path(__file__).resolve().parents[2]
RUNBOOKS = REPO / "runbooks"
COMMAND = "bash scripts/runbooks"
PLAN_FILE = "plan.json"  # the name the runbook's commands read the plan from
PLAN_EXIT_CODES = {0: "ready", 3: "blocked"}  # `upgrader plan` writes both files in either case
# The twin's clock speed while regenerating. At the default 600x, pods of different
# Deployments often share a creationTimestamp second, the scheduler then orders them by
# name, and the settled world (pods per node, hence ENIs and free addresses per subnet)
# differs from run to run. At 100000x every second of virtual time lasts 10 µs of wall
# time, so pods are scheduled in the order they were created and every run settles alike.
SPEED = "100000"
# Variables of the caller's shell that would change what `upgrader plan` sees: the sandbox's
# env file sets the AWS endpoint, credentials, region and kubeconfig; the instance catalog a
# user refreshed into their cache must not replace the bundled one.
_INHERITED_NOT = re.compile(r"AWS_.*|KUBECONFIG|UPGRADER_.*|XDG_CACHE_HOME")

# What differs between two runs of the twin, or after an unrelated change to it (moto's
# seeded random draws shift): one alternative per kind, matched left to right in one pass.
_HEX = "0-9a-f"
_EC2_PREFIXES = "subnet|eni-attach|eni|sg|vpc|ami|lt|i|rtb|igw|nat|acl|vol|snap|eipalloc"
VOLATILE = re.compile(
    "|".join(
        (
            # ISO dates and timestamps (virtual time of the twin, or today)
            r"(?P<date>\b\d{4}-\d{2}-\d{2}"
            r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d))",
            # UUIDs: managed node group ASG names, change-set and stack ARNs
            rf"(?P<uuid>\b[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}\b)",
            # plan fingerprints and other digests (sha256, sha1, md5)
            rf"(?P<digest>\b(?:[{_HEX}]{{64}}|[{_HEX}]{{40}}|[{_HEX}]{{32}})\b)",
            # change sets upgrader names from a hash of the stack and its parameters
            rf"\bupgrader-(?P<changeset>[{_HEX}]{{8,40}})\b",
            # EC2 IDs: subnet-…, i-…, eni-…, sg-…, vpc-…, ami-…, lt-…
            rf"\b(?P<ec2>{_EC2_PREFIXES})-(?P<ec2id>[{_HEX}]{{17}}|[{_HEX}]{{8}})\b",
            # CloudFormation physical names: STACK-LogicalId-RANDOMSUFFIX (the ASG of a stack)
            r"\b(?P<cfn>[A-Za-z][A-Za-z0-9-]*-[A-Z][A-Za-z0-9]*-)(?P<cfnid>[A-Z0-9]{12,13})\b",
        )
    )
)


class _Numbering:
    """Numbers the tokens of each kind by first appearance."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, int]] = {}

    def __call__(self, kind: str, token: str) -> int:
        tokens = self.seen.setdefault(kind, {})
        return tokens.setdefault(token, len(tokens) + 1)

    def placeholder(self, match: re.Match[str]) -> str:
        if match["date"]:
            return "<date>"  # unnumbered: two events may share a second in one run, not another
        if match["uuid"]:
            return f"<uuid-{self('uuid', match['uuid'])}>"
        if match["digest"]:
            return f"<digest-{self('digest', match['digest'])}>"
        if match["changeset"]:
            return f"upgrader-<change-set-{self('change-set', match['changeset'])}>"
        if match["ec2"]:
            return f"{match['ec2']}-<{self(match['ec2'], match['ec2id'])}>"
        return f"{match['cfn']}<cfn-{self('cfn', match['cfnid'])}>"


def normalise(text: str) -> str:
    """``text`` with every volatile token replaced by its kind and number (``subnet-<2>``,
    ``i-<1>``, ``sha256:<digest-1>``, ``<date>``): the same token gets the same placeholder
    everywhere and different tokens different ones, so a reference moved from one subnet to
    another still shows; everything else (counts, addresses, CIDRs, versions, steps) is kept."""
    return VOLATILE.sub(_Numbering().placeholder, text)


def volatile_spans(text: str) -> list[tuple[int, int]]:
    """Where :func:`normalise` replaces something in ``text``."""
    spans = []
    for m in VOLATILE.finditer(text):
        start = m.start("cfnid") if m["cfnid"] else m.start()
        spans.append((start, m.end()))
    return spans


def stale(committed: str, fresh: str, name: str = "runbook") -> str | None:
    """None when the two runbooks agree once normalised, else the unified diff of their
    normalised texts (committed first)."""
    old, new = normalise(committed), normalise(fresh)
    if old == new:
        return None
    diff = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"{name} (committed, normalised)",
        f"{name} (regenerated, normalised)",
    )
    return "".join(diff)


def scenarios() -> tuple[str, ...]:
    """The scenarios shipped with the twin (the names `upgrader sandbox up` accepts)."""
    return shipped()


def committed(scenario: str) -> Path:
    return RUNBOOKS / f"{scenario}.md"


def orphans() -> list[Path]:
    """Runbooks in ``runbooks/`` of no shipped scenario (``README.md`` aside)."""
    names = {committed(s) for s in scenarios()} | {RUNBOOKS / "README.md"}
    return sorted(set(RUNBOOKS.glob("*.md")) - names)


def regenerate_command(scenario: str) -> str:
    return f"{COMMAND} {scenario}"


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a sandbox's ``env`` file (``export KEY=value`` lines, shell-quoted)."""
    env = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            key, sep, value = word.partition("=")
            if sep:
                env[key] = value
    return env


def _run(
    args: Sequence[str], *, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "upgrader", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _failed(what: str, result: subprocess.CompletedProcess[str]) -> RuntimeError:
    return RuntimeError(f"{what} exited {result.returncode}\n{result.stdout}{result.stderr}")


def regenerate(scenario: str, workdir: Path) -> Path:
    """``scenario``'s runbook as ``workdir/runbook.md``, through the command line: sandbox up
    in ``workdir/sandbox``, ``upgrader plan`` with the env file's variables (plan file
    ``workdir/plan.json``), sandbox down (also on failure)."""
    base = {k: v for k, v in os.environ.items() if not _INHERITED_NOT.fullmatch(k)}
    cache = workdir / "cache"  # an empty instance-catalog cache: the bundled table only
    cache.mkdir(parents=True, exist_ok=True)
    base["UPGRADER_CACHE_DIR"] = str(cache)
    sandbox = workdir / "sandbox"
    up = _run(
        ["sandbox", "up", scenario, "--dir", str(sandbox)],
        cwd=workdir,
        env={**base, "UPGRADER_SANDBOX_SPEED": SPEED},
    )
    try:
        if up.returncode != 0:
            raise _failed(f"upgrader sandbox up {scenario}", up)
        env = {**base, **read_env_file(sandbox / "env")}
        runbook = workdir / "runbook.md"
        plan = _run(
            ["plan", "-c", "sandbox/upgrader.yaml", "--out", PLAN_FILE, "--runbook", runbook.name],
            cwd=workdir,
            env=env,
        )
        if plan.returncode not in PLAN_EXIT_CODES or not runbook.is_file():
            raise _failed(f"upgrader plan ({scenario})", plan)
        return runbook
    finally:
        _run(["sandbox", "down", "--dir", str(sandbox)], cwd=workdir, env=base)


def _update(names: Sequence[str], *, check: bool) -> Iterator[tuple[str, str]]:
    """(file, what happened) per scenario; writes nothing when ``check``."""
    for scenario in names:
        target = committed(scenario)
        shown = str(target.relative_to(REPO))
        with tempfile.TemporaryDirectory(prefix=f"runbook-{scenario}-") as tmp:
            fresh = regenerate(scenario, Path(tmp)).read_text()
        if target.is_file() and stale(target.read_text(), fresh, shown) is None:
            yield shown, "unchanged"
        elif check:
            yield shown, "missing" if not target.is_file() else "stale"
        else:
            RUNBOOKS.mkdir(exist_ok=True)
            existed = target.is_file()
            target.write_text(fresh)
            yield shown, "updated" if existed else "written"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bash scripts/runbooks",
        description="Regenerate runbooks/<scenario>.md: plan each shipped scenario on the twin.",
    )
    parser.add_argument("scenario", nargs="*", help="shipped scenarios (default: all)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a runbook is stale"
    )
    args = parser.parse_args(argv)
    names = scenarios()
    unknown = sorted(set(args.scenario) - set(names))
    if unknown:
        parser.error(f"not a shipped scenario: {', '.join(unknown)} (shipped: {', '.join(names)})")
    bad = []
    for shown, outcome in _update(args.scenario or names, check=args.check):
        print(f"{shown}: {outcome}", flush=True)
        if outcome in {"missing", "stale"}:
            bad.append(shown)
    if not args.scenario:
        for extra in orphans():
            shown = str(extra.relative_to(REPO))
            if args.check:
                print(f"{shown}: no shipped scenario of that name", flush=True)
                bad.append(shown)
            else:
                extra.unlink()
                print(f"{shown}: removed (no shipped scenario of that name)", flush=True)
    if bad:
        print(f"stale: {', '.join(bad)}; regenerate with `{COMMAND}`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
