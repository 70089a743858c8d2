"""The runbook's chain of hops: a plan of 1.27 → 1.31 in four hops, built from the modern
fixture plan's steps, where the managed group `general` rolls at every hop and the
self-managed group `memory` at 1.30 (skew) and 1.31 (last hop)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.test_runbook import plan, section
from upgrader.model.plan import Hop, Plan, Versions
from upgrader.model.steps import ControlPlaneStep, NodegroupRollStep, Step
from upgrader.runbook import render
from upgrader.runbook.hops import section as chain_section

HOPS = {  # hop: (kube-proxy, coredns, the modern plan's steps it runs)
    "1.28": ("v1.28.15-eksbuild.31", "v1.11.3-eksbuild.2", ("kube-proxy", "general")),
    "1.29": ("v1.29.15-eksbuild.16", "v1.11.4-eksbuild.24", ("kube-proxy", "coredns", "general")),
    "1.30": ("v1.30.14-eksbuild.28", "v1.11.4-eksbuild.24", ("kube-proxy", "general", "memory")),
    "1.31": (
        "v1.31.14-eksbuild.9",
        "v1.11.4-eksbuild.24",
        ("kube-proxy", "coredns", "cni-v1.20.1", "general", "memory"),
    ),
}


def _hop_steps(base: dict[str, Step], hop: str, before: str, first: bool) -> list[Step]:
    """One hop's steps as a plan of several hops holds them (IDs suffixed with the hop)."""
    cp = base["control-plane"]
    assert isinstance(cp, ControlPlaneStep)
    out: list[Step] = [
        replace(cp, from_=before, to=hop, change_set=cp.change_set if first else None)
    ]
    for name in HOPS[hop][2]:
        if name in ("general", "memory"):
            roll = base[f"nodegroup-roll-{name}"]
            assert isinstance(roll, NodegroupRollStep)
            waves = 2 if name == "memory" else 1
            roll = replace(roll, predicted_waves=waves)
            if not first:  # apply plans a later hop's waves when the hop starts
                roll = replace(roll, waves=(), surge=0)
            out += [base[f"nodegroup-stack-{name}"], roll]
        else:
            out.append(base[name])
    return [replace(s, id=f"{s.id}@{hop}") for s in out]


def multi_hop(memory: str = "memory") -> Plan:
    """The modern plan stretched over four hops; ``memory`` renames the self-managed group."""
    modern = plan("modern")
    base = {s.id: s for s in modern.steps}
    steps: list[Step] = []
    hops: list[Hop] = []
    before = "1.27"
    for hop, (proxy, coredns, _) in HOPS.items():
        mine = _hop_steps(base, hop, before, not hops)
        cni = "v1.20.1" if hop == "1.31" else modern.from_.cni
        to = Versions(kubernetes=hop, cni=cni, kube_proxy=proxy, coredns=coredns)
        stacks = tuple(f"modern-{g}" for g in ("general", "memory") if g in HOPS[hop][2])
        hops.append(
            Hop(kubernetes=hop, to=to, nodegroup_stacks=stacks, steps=tuple(s.id for s in mine))
        )
        steps += mine
        before = hop
    steps.append(base["verify"])
    steps = [
        replace(s, nodegroup=memory)
        if isinstance(s, NodegroupRollStep) and s.nodegroup == "memory"
        else s
        for s in steps
    ]
    return replace(
        modern,
        from_=replace(modern.from_, kubernetes="1.27"),
        to=replace(modern.to, kubernetes="1.31", kube_proxy=HOPS["1.31"][0]),
        steps=tuple(steps),
        hops=tuple(hops),
        recorded_digest=None,
    )


@pytest.fixture(scope="module")
def book() -> str:
    return render(multi_hop())


def test_the_chain_comes_after_the_overview_and_before_the_details(book: str) -> None:
    order = [
        book.index(h) for h in ("## Order and why", "## Chain of hops", "## Findings", "## Steps")
    ]
    assert order == sorted(order)
    assert book.count("## Chain of hops") == 1
    assert render(multi_hop()) == book  # deterministic


def test_hop_table_rows(book: str) -> None:
    chain = section(book, "## Chain of hops")
    header = (
        "| Hop | Steps | Control plane | VPC CNI | kube-proxy | CoreDNS"
        " | Node groups rolled | Predicted time |"
    )
    rows = [
        "| 1 | 1-4 | `1.27` → `1.28` | `v1.19.2` | `v1.28.15-eksbuild.31` | `v1.11.3-eksbuild.2`"
        " | `general` (managed) | 34-103 min |",
        "| 2 | 5-9 | `1.28` → `1.29` | `v1.19.2` | `v1.29.15-eksbuild.16` | `v1.11.4-eksbuild.24`"
        " | `general` (managed) | 36-108 min |",
        "| 3 | 10-15 | `1.29` → `1.30` | `v1.19.2` | `v1.30.14-eksbuild.28` | `v1.11.4-eksbuild.24`"
        " | `general` (managed), `memory` (self-managed) | 39-143 min |",
        "| 4 | 16-23 | `1.30` → `1.31` | `v1.20.1` | `v1.31.14-eksbuild.9` | `v1.11.4-eksbuild.24`"
        " | `general` (managed), `memory` (self-managed) | 47-166 min |",
    ]
    assert "\n".join([header, "|---|---|---|---|---|---|---|---|", *rows]) in chain
    # 34+36+39+47 and 103+108+143+166, plus verify's 2-5 min
    assert "Then step 24 `verify` (2-5 min). The whole plan: 158-525 min." in chain


def test_table_cells_are_escaped() -> None:
    chain = chain_section(multi_hop(memory="mem|ory"))
    assert chain is not None
    assert "| `general` (managed), `mem\\|ory` (self-managed) | 47-166 min |" in chain


def test_bake_points_between_hops(book: str) -> None:
    bake = section(book, "### Bake points")
    assert "pause there and check workloads" in bake
    assert "resumes from its journal" in bake
    assert "checks the next hop against the live cluster first, and exits 5" in bake
    points = [line for line in bake.splitlines() if line.startswith("- ")]
    assert points == [
        "- After hop 1 (Kubernetes 1.28): after step 4 `nodegroup-roll-general@1.28`,"
        " before step 5 `control-plane@1.29`.",
        "- After hop 2 (Kubernetes 1.29): after step 9 `nodegroup-roll-general@1.29`,"
        " before step 10 `control-plane@1.30`.",
        "- After hop 3 (Kubernetes 1.30): after step 15 `nodegroup-roll-memory@1.30`,"
        " before step 16 `control-plane@1.31`.",
    ]


def test_rollback_window_per_hop(book: str) -> None:
    window = section(book, "### Control-plane rollback window")
    assert "while every node is still at the previous minor" in window
    assert "Once a hop's nodes roll, rollback of that hop is no longer offered" in window
    assert "managed node group nodes cannot go back" in window
    points = [line for line in window.splitlines() if line.startswith("- ")]
    assert points == [
        "- Hop 1 (to 1.28): after step 1 `control-plane@1.28`,"
        " until step 3 `nodegroup-stack-general@1.28` starts.",
        "- Hop 2 (to 1.29): after step 5 `control-plane@1.29`,"
        " until step 8 `nodegroup-stack-general@1.29` starts.",
        "- Hop 3 (to 1.30): after step 10 `control-plane@1.30`,"
        " until step 12 `nodegroup-stack-general@1.30` starts.",
        "- Hop 4 (to 1.31): after step 16 `control-plane@1.31`,"
        " until step 20 `nodegroup-stack-general@1.31` starts.",
    ]


def test_why_managed_groups_roll_every_hop_and_self_managed_fewer(book: str) -> None:
    chain = section(book, "## Chain of hops")
    why = next(line for line in chain.splitlines() if line.startswith("**Why managed"))
    assert "`UpdateClusterVersion` refuses while a managed node group or Fargate is behind" in why
    assert "(here `general`: 4 times, at 1.28, 1.29, 1.30, 1.31)" in why
    assert "kubelet version-skew policy (at most 2 minors older than the API server" in why
    assert (
        "before 1.28, 3 from 1.28) and at the last hop (here `memory`: 2 times, at 1.30, 1.31)."
        in why
    )


def test_a_plan_of_one_minor_has_no_chain() -> None:
    modern = plan("modern")
    assert modern.hops == ()
    assert chain_section(modern) is None
    book = render(modern)
    assert "Chain of hops" not in book
    assert "Bake points" not in book
