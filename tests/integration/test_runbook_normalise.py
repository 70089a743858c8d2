"""The normalisation the committed-runbook check applies (tests/support/runbooks.py) hides the
IDs that differ between runs of the twin and nothing else: a changed number, node count, step,
gate result or reference from one subnet to another still makes the comparison fail.

Runs on the committed runbooks themselves (no sandbox), plus one hand-written sample."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import runbooks
from tests.support.runbooks import VOLATILE, normalise, stale

SAMPLE = """\
| Plan fingerprint | `sha256:2c6f04b0145e7e762b893f6cc2df4cdc0721f70d821b9e3953727c3b910a101f` |
| `workers` | `staging-workers-NodeGroup-FIQ7J7V3MZUV` | 2 | private-a (subnet-391ceedab504cac14) |
| `general` | `eks-general-774deecf-1018-4e47-ac08-9351c17bd597` | `1.31.14-20240101` → `1.32` |
aws ec2 describe-subnets --subnet-ids subnet-391ceedab504cac14 subnet-63ff8091f1c00d955
aws ec2 describe-network-interfaces --filters Name=attachment.instance-id,Values=i-0a1b2c3d
| 1 | `i-ad264a3e34d0fffaf`, `i-fb2ac33a0cc0a479f` | eni-0123456789abcdef0 sg-0123abcd |
AMI `ami-0011200eeeeeeeeee` vpc-89abcdef, launch template lt-0fedcba9876543210 version 3
change set `upgrader-684ae2011512` arn:aws:cloudformation:ap-northeast-1:123456789012:\
changeSet/upgrader-684ae2011512/0b8f3c3e-1d2a-4f5b-9c6d-7e8f9a0b1c2d
planned 2019-06-01T12:34:56Z, window 2019-06-02; CIDR 10.0.1.0/24, 191 free, v1.5.5, :61679
"""
EXPECTED = """\
| Plan fingerprint | `sha256:<digest-1>` |
| `workers` | `staging-workers-NodeGroup-<cfn-1>` | 2 | private-a (subnet-<1>) |
| `general` | `eks-general-<uuid-1>` | `1.31.14-20240101` → `1.32` |
aws ec2 describe-subnets --subnet-ids subnet-<1> subnet-<2>
aws ec2 describe-network-interfaces --filters Name=attachment.instance-id,Values=i-<1>
| 1 | `i-<2>`, `i-<3>` | eni-<1> sg-<1> |
AMI `ami-<1>` vpc-<1>, launch template lt-<1> version 3
change set `upgrader-<change-set-1>` arn:aws:cloudformation:ap-northeast-1:123456789012:\
changeSet/upgrader-<change-set-1>/<uuid-2>
planned <date>, window <date>; CIDR 10.0.1.0/24, 191 free, v1.5.5, :61679
"""


def _committed() -> list[Path]:
    return [runbooks.committed(s) for s in runbooks.scenarios()]


@pytest.fixture(params=_committed(), ids=lambda p: p.name)
def committed(request: pytest.FixtureRequest) -> str:
    path: Path = request.param
    assert path.is_file(), f"{path.name} is missing: run `{runbooks.COMMAND}`"
    return path.read_text()


def test_sample_is_normalised_kind_by_kind_and_nothing_else() -> None:
    assert normalise(SAMPLE) == EXPECTED
    assert normalise(EXPECTED) == EXPECTED


def _relabel(text: str, rng: random.Random) -> str:
    """Every volatile token replaced, consistently, by a fresh one of the same shape: what
    another run of the twin (or a shift of moto's seeded draws) does to a runbook."""
    fresh: dict[str, str] = {}

    def new(token: str, alphabet: str) -> str:
        return fresh.setdefault(token, "".join(rng.choice(alphabet) for _ in token))

    def swap(m: re.Match[str]) -> str:
        if m["date"]:
            return m["date"].replace(m["date"][:4], str(rng.randint(2030, 2099)), 1)
        if m["uuid"]:
            return "-".join(new(part, "0123456789abcdef") for part in m["uuid"].split("-"))
        if m["digest"]:
            return new(m["digest"], "0123456789abcdef")
        if m["changeset"]:
            return "upgrader-" + new(m["changeset"], "0123456789abcdef")
        if m["ec2"]:
            return f"{m['ec2']}-" + new(m["ec2id"], "0123456789abcdef")
        return m["cfn"] + new(m["cfnid"], string.ascii_uppercase + string.digits)

    return VOLATILE.sub(swap, text)


def test_other_ids_compare_equal(committed: str) -> None:
    relabelled = _relabel(committed, random.Random(7))
    assert relabelled != committed
    assert stale(committed, relabelled) is None
    assert normalise(normalise(committed)) == normalise(committed)


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in spans)


def test_every_number_outside_an_id_is_compared(committed: str) -> None:
    """Each number of the runbook (counts, free addresses, margins, versions, CIDRs, ports,
    durations), changed by one, changes the normalised runbook. Compared line by line, as no
    volatile token spans a line: a change that survives in its line survives in the whole."""
    checked = 0
    for line in set(committed.splitlines()):
        spans = runbooks.volatile_spans(line)
        before = normalise(line)
        for m in re.finditer(r"\d+", line):
            if _overlaps(spans, m.start(), m.end()):
                continue
            changed = line[: m.start()] + str(int(m[0]) + 1) + line[m.end() :]
            assert normalise(changed) != before, f"{m[0]} hidden in: {line}"
            checked += 1
    assert checked > 200


def _first(pattern: str, replace: Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        m = re.search(pattern, text, flags=re.MULTILINE)
        assert m, f"no {pattern!r} in the runbook"
        return text[: m.start()] + replace(m) + text[m.end() :]

    return mutate


def _drop_step(text: str) -> str:
    """The last step's section gone (the Steps list, checklist and timeline left as they were)."""
    sections = list(re.finditer(r"^### \d+\. .*$", text, flags=re.MULTILINE))
    last = sections[-1]
    end = text.find("\n## ", last.end())
    return text[: last.start()] + text[end:]


def _drop_instance(text: str) -> str:
    """The last old instance of the first wave gone (the row too when it was the only one)."""
    m = re.search(r"^\| \d+ \| (`i-[0-9a-f]+`(?:, `i-[0-9a-f]+`)*) \|\n", text, flags=re.MULTILINE)
    assert m, "no wave in the runbook"
    kept = m[1].split(", ")[:-1]
    row = m[0].replace(m[1], ", ".join(kept)) if kept else ""
    return text[: m.start()] + row + text[m.end() :]


def _wrong_subnet(text: str) -> str:
    """One reference to the second subnet pointed at the first one instead."""
    ids = list(dict.fromkeys(re.findall(r"\bsubnet-[0-9a-f]+\b", text)))
    assert len(ids) >= 2
    return text.replace(ids[1], ids[0], 1)


MUTATIONS: dict[str, Callable[[str], str]] = {
    "node count": _first(r"\b(\d+) x (\w+\.\w+)", lambda m: f"{int(m[1]) + 1} x {m[2]}"),
    "free addresses": _first(
        r"^(\| [a-z]+-[a-z]+-\d[a-z] \| [^|]+\(subnet-[0-9a-f]+\) \| )(\d+)(?= \|)",
        lambda m: f"{m[1]}{int(m[2]) - 1}",
    ),
    "a step dropped": _drop_step,
    "a checklist step dropped": _first(r"^- \[ \] Step 1 .*\n", lambda m: ""),
    "an instance dropped from a wave": _drop_instance,
    "a gate result": _first(r"✅ pass", lambda m: "❌ fail"),
    "a subnet reference": _wrong_subnet,
    "a CIDR": _first(r"\b10\.(\d+)\.", lambda m: f"10.{int(m[1]) + 1}."),
    "a version": _first(r"`v1\.(\d+)\.(\d+)`", lambda m: f"`v1.{m[1]}.{int(m[2]) + 1}`"),
}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=str)
def test_a_real_change_makes_the_comparison_fail(committed: str, mutation: str) -> None:
    changed = MUTATIONS[mutation](committed)
    assert changed != committed
    assert stale(committed, changed) is not None
    # ... also when the IDs differ too, as they may between the committed file and a new run
    assert stale(committed, _relabel(changed, random.Random(11))) is not None
