"""The Markdown runbook: goldens for three fixture plans, plus focused checks.

Regenerate the goldens after an intended change with:
    UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_runbook.py
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from upgrader.markdown import cell, table
from upgrader.model.context import CniContext, PlanContext, StackNames
from upgrader.model.plan import Finding, Plan, Severity, Versions, loads
from upgrader.model.steps import (
    AddonStep,
    CniStep,
    ControlPlaneStep,
    NodegroupRollStep,
    NodegroupStackStep,
    StepKind,
    VerifyStep,
)
from upgrader.runbook import render
from upgrader.runbook.durations import step_minutes
from upgrader.runbook.ipamd import guide
from upgrader.semver import Version

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
PLANS = GOLDEN / "plans"
RUNBOOKS = GOLDEN / "runbooks"
REGEN = os.environ.get("UPGRADER_REGEN_GOLDEN") == "1"
NAMES = ("staging", "tight", "modern")


def plan(name: str) -> Plan:
    path = PLANS / f"{name}.json"
    return loads(path.read_text(), str(path))


@pytest.fixture(scope="module")
def books() -> dict[str, str]:
    return {name: render(plan(name)) for name in NAMES}


def section(book: str, title: str) -> str:
    """The text of the ``##``/``###`` section called ``title`` up to the next heading."""
    start = book.index(title)
    rest = book[start + len(title) :]
    end = re.search(r"^#{2,3} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def _roll(**changes: Any) -> NodegroupRollStep:
    """A self-managed roll step with no waves; ``changes`` override its fields."""
    step = NodegroupRollStep(
        id="x",
        description="",
        gates=(),
        nodegroup="g",
        stack="s",
        asg=None,
        group_kind="self-managed",
        instance_type="m5.large",
        waves=(),
        surge=1,
        predicted_waves=1,
        lower_bound=1,
        subnets=(),
    )
    return replace(step, **changes)


# Goldens


@pytest.mark.parametrize("name", NAMES)
def test_fixture_plans_follow_the_plan_shapes(name: str) -> None:
    text = (PLANS / f"{name}.json").read_text()
    assert loads(text).dumps() == text


@pytest.mark.parametrize("name", NAMES)
def test_rendering_matches_golden(books: dict[str, str], name: str) -> None:
    path = RUNBOOKS / f"{name}.md"
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(books[name])
    assert path.read_text() == books[name], (
        f"{path} differs; if intended: UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_runbook.py"
    )


def test_rendering_is_deterministic_and_dateless(books: dict[str, str]) -> None:
    for name in NAMES:
        assert render(plan(name)) == books[name]
        assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]?\d{0,2}", books[name]), name


# Header, findings, banner


def test_header_table(books: dict[str, str]) -> None:
    book = books["staging"]
    assert book.startswith("# Upgrade runbook: staging (ap-northeast-1), Kubernetes 1.12 → 1.13\n")
    assert "| VPC CNI | `v1.3.2` → `v1.4.1` → `v1.5.5` |" in book
    assert "| CNI settings | `WARM_ENI_TARGET=1`; mode `WARM_ENI` |" in book
    assert f"| Plan fingerprint | `{plan('staging').fingerprint}` |" in book
    assert "| Status | ✅ ready |" in book
    assert "BLOCKED" not in book


def test_blocked_banner_names_cap001_and_its_message(books: dict[str, str]) -> None:
    book, cap001 = books["tight"], plan("tight").findings[1]
    assert cap001.id == "CAP001"
    banner = book[book.index("> [!CAUTION]") : book.index("| Cluster |")]
    assert "**BLOCKED**" in banner
    assert f"> - **CAP001** {cap001.subject}: {cap001.message}" in banner
    assert "| Status | ❌ **BLOCKED**: 1 blocking finding(s) |" in book


def test_findings_table_puts_blocking_first(books: dict[str, str]) -> None:
    rows = [line for line in section(books["tight"], "## Findings").splitlines() if "| `" in line]
    assert [r.split("|")[1].strip() for r in rows] == ["`CAP001`", "`VER002`"]
    assert "❌ blocking" in rows[0]


def test_step_gate_results(books: dict[str, str]) -> None:
    roll = section(books["tight"], "### 7. Node group workers, roll in 1 wave(s)")
    assert "| `CAP001` |" in roll
    assert "❌ blocking | subnet private-a (subnet-0a1b2c3d4e5f60718)" in roll
    assert "| `CAP003` | displaced pods fit" in roll
    assert re.search(r"\| `CAP003` \|[^\n]*\| ✅ pass \|", roll)
    assert "> Blocked by CAP001: `upgrader apply` stops before this step." in roll
    ok_roll = section(books["staging"], "### 7. Node group workers, roll in 1 wave(s)")
    assert "Blocked by" not in ok_roll
    assert re.search(r"\| `CAP001` \|[^\n]*\| ✅ pass \|", ok_roll)


# Capacity


def test_seed_instance_table(books: dict[str, str]) -> None:
    book = books["staging"]
    assert "| API Name | Memory | vCPUs | Max IPs | Max ENIs |" in book
    assert "| r5.xlarge | 32 GiB | 4 | 60 | 4 |" in book
    assert "| r5.xlarge | 32 GiB | 4 | 60 | 4 | 15 | 58 |" in book
    assert "| m5.xlarge | 16 GiB | 4 | 60 | 4 | 15 | 58 |" in books["modern"]


def test_unknown_vcpus_and_memory_show_as_a_dash() -> None:
    staged = plan("staging")
    groups = tuple(
        replace(g, instance_type="p3.2xlarge", vcpus=None, memory_mib=None)
        for g in staged.context.nodegroups
    )
    unknown = replace(staged, context=replace(staged.context, nodegroups=groups))
    assert "| p3.2xlarge | — | — | 60 | 4 | 15 | 58 |" in render(unknown)


def test_subnets_by_name_and_id_with_roll_budget(books: dict[str, str]) -> None:
    staging, tight = books["staging"], books["tight"]
    assert (
        "| ap-northeast-1a | private-a (subnet-0a1b2c3d4e5f60718) | 10.0.0.0/24 | yes | 206 |"
        in staging
    )
    assert (
        "| ap-northeast-1a | private-a (subnet-0a1b2c3d4e5f60718) | 206 | 45 | 45 | 206 | 161"
        " | 8 | 153 | ✅ ok |" in staging
    )
    assert (
        "| ap-northeast-1a | private-a (subnet-0a1b2c3d4e5f60718) | 45 | 45 | 45 | 45 | 0 | 8"
        " | -8 | ❌ below reserve |" in tight
    )
    # per AZ, never summed across AZs
    assert "| eu-west-1b | 1 | 904 | 1 |" in books["modern"]


# Steps: commands per version


def test_drain_flags_and_labels_follow_the_kubernetes_minor(books: dict[str, str]) -> None:
    staging, modern = books["staging"], books["modern"]
    assert "--ignore-daemonsets --delete-local-data --timeout=15m" in staging
    assert "--delete-emptydir-data" not in staging
    assert "--ignore-daemonsets --delete-emptydir-data --timeout=15m" in modern
    assert "--delete-local-data" not in modern
    assert "-L failure-domain.beta.kubernetes.io/zone" in staging
    assert "-L topology.kubernetes.io/zone" in modern
    assert "kubectl diff -f -" in modern
    assert "kubectl diff" not in staging


def test_control_plane_and_stack_commands(books: dict[str, str]) -> None:
    book = books["staging"]
    assert (
        "aws cloudformation execute-change-set --region ap-northeast-1 --stack-name staging-eks"
        " --change-set-name upgrader-1-13" in book
    )
    assert "aws cloudformation describe-stack-events --region ap-northeast-1" in book
    assert (
        "aws ssm get-parameter --region ap-northeast-1 --name"
        " /aws/service/eks/optimized-ami/1.13/amazon-linux-2/recommended/image_id" in book
    )
    assert "--desired-capacity 4" in book  # 2 nodes + a wave of 2
    assert (
        "kubectl get pods --all-namespaces -o wide"
        " --field-selector status.phase=Pending,spec.nodeName=<node-name>" in book
    )
    managed = section(books["modern"], "### 6. Node group general, roll")
    assert "aws eks describe-nodegroup --region eu-west-1 --cluster-name modern" in managed


def test_cni_steps_say_what_changes_and_carry_the_env(books: dict[str, str]) -> None:
    first = section(books["staging"], "### 4. aws-node v1.3.2 → v1.4.1")
    assert "introspection moves from `127.0.0.1:61678` to `127.0.0.1:61679`" in first
    assert "metric names gain the `awscni_` prefix" in first
    assert "carrying the user's env: `WARM_ENI_TARGET=1`" in first
    modern = section(books["modern"], "### 4. aws-node v1.19.2 → v1.20.1")
    assert "keyed by network card" in modern


def test_coredns_proxy_to_forward_note_only_when_crossing_1_5(books: dict[str, str]) -> None:
    assert "removed the `proxy` plugin" in books["staging"]
    assert "removed the `proxy` plugin" not in books["modern"]


# ipamd


@pytest.mark.parametrize(
    ("version", "introspection", "prefix", "pods", "shape"),
    [
        ("v1.3.2", "127.0.0.1:61678", "", True, "ENIIPPools"),
        ("v1.3.4", "127.0.0.1:61679", "", True, "ENIIPPools"),
        ("v1.4.0", "127.0.0.1:61678", "awscni_", True, "ENIIPPools"),
        ("v1.4.1", "127.0.0.1:61679", "awscni_", True, "ENIIPPools"),
        ("v1.6.4", "127.0.0.1:61679", "awscni_", True, "ENIIPPools"),
        ("v1.7.0", "127.0.0.1:61679", "awscni_", False, "ENIs"),
        ("v1.19.2", "127.0.0.1:61679", "awscni_", False, "ENIs"),
        ("v1.20.1", "127.0.0.1:61679", "awscni_", False, "per network card"),
    ],
)
def test_ipamd_guide_per_version(
    version: str, introspection: str, prefix: str, pods: bool, shape: str
) -> None:
    g = guide(Version.parse(version), {})
    assert (g.introspection, g.metric_prefix, g.pods_endpoint) == (introspection, prefix, pods)
    assert shape in g.enis_shape
    assert g.metrics_url == "http://127.0.0.1:61678/metrics"


def test_ipamd_metric_spelling_labels_and_newer_counters() -> None:
    old, mid, new = (guide(Version.parse(v), {}) for v in ("v1.4.1", "v1.5.5", "v1.16.0"))
    assert (old.latency_metric, old.error_labels) == ("aws_api_lantency_ms", "{fn,error}")
    assert (mid.latency_metric, mid.error_labels) == ("aws_api_latency_ms", "{fn}")
    assert not mid.no_available_metric and new.no_available_metric


def test_ipamd_honours_bind_address_and_disable_flags() -> None:
    env = {"INTROSPECTION_BIND_ADDRESS": "0.0.0.0:61679", "DISABLE_METRICS": "true"}
    assert guide(Version.parse("v1.5.5"), env).introspection == "0.0.0.0:61679"
    assert any("DISABLE_METRICS" in n for n in guide(Version.parse("v1.5.5"), env).notes)
    assert guide(Version.parse("v1.5.2"), env).introspection == "127.0.0.1:61679"


def test_ipamd_section_commands_per_plan_version(books: dict[str, str]) -> None:
    staging = section(books["staging"], "## ipamd troubleshooting")
    assert "| `v1.3.2` | now, before the upgrade | `127.0.0.1:61678` |" in staging
    assert "| `v1.4.1` | after step `cni-v1.4.1` | `127.0.0.1:61679` |" in staging
    v132 = section(books["staging"], "### CNI v1.3.2")
    assert "curl -s http://127.0.0.1:61678/v1/enis" in v132
    assert "grep -E '^(total_ip_addresses|" in v132
    v155 = section(books["staging"], "### CNI v1.5.5")
    assert "curl -s http://127.0.0.1:61679/v1/enis" in v155
    assert "curl -s http://127.0.0.1:61678/metrics | grep -E '^(awscni_total_ip_addresses|" in v155
    assert "Metric names change during this upgrade" in staging
    v1201 = section(books["modern"], "### CNI v1.20.1")
    assert "jq 'to_entries[] | {card: .key" in v1201
    assert "/v1/pods" not in v1201
    assert "awscni_no_available_ip_addresses" in v1201
    assert "Metric names change" not in books["modern"]


# Timeline, sign-off


def test_gantt_timeline(books: dict[str, str]) -> None:
    book = books["staging"]
    gantt = book[book.index("```mermaid\ngantt") :]
    gantt = gantt[: gantt.index("\n```\n")]
    assert "\ngantt\n" in gantt
    for stage in ("Control plane", "Add-ons", "Node groups", "Verify"):
        assert f"    section {stage}\n" in gantt
    assert "Control plane 1.12 to 1.13 :s1, 00:00, 60m" in gantt
    assert "Node group workers, roll in 1 wave(s) :s7, after s6, 15m" in gantt
    assert "crit" not in gantt
    assert "Node group workers, roll in 1 wave(s) :crit, s7, after s6, 15m" in books["tight"]


def test_sign_off_boxes(books: dict[str, str]) -> None:
    signoff = section(books["staging"], "## Sign-off")
    assert signoff.count("- [ ] ") == 4 + len(plan("staging").steps) + 1
    assert "new `awscni_` metric names" in signoff
    assert "metric names" not in section(books["modern"], "## Sign-off")
    assert "- [ ] Change sets reviewed: `upgrader-1-13`, `upgrader-workers-1-13`" in signoff


# Secrets and robustness


def test_no_secret_values_are_printed() -> None:
    base = plan("staging")
    env = (
        ("API_TOKEN", "tok-3f9a8b7c"),
        ("HARMLESS", "AKIAIOSFODNN7EXAMPLE"),
        ("SOME_SECRET_KEY", "s3cr3t-value"),
        ("WARM_ENI_TARGET", "1"),
        ("db_password", "hunter2-xyz"),
    )
    context = dataclasses.replace(base.context, cni=dataclasses.replace(base.context.cni, env=env))
    steps = tuple(
        dataclasses.replace(s, parameters=(("GitHubSecret", "ghp-abc"),))
        if isinstance(s, NodegroupStackStep)
        else s
        for s in base.steps
    )
    leaky = Finding(
        id="STK001",
        severity=Severity.ADVISORY,
        subject="stack staging-eks",
        message="parameter AccessKey=AKIAIOSFODNN7EXAMPLE is set",
    )
    book = render(
        dataclasses.replace(base, context=context, steps=steps, findings=(*base.findings, leaky))
    )
    for value in ("tok-3f9a8b7c", "hunter2-xyz", "s3cr3t-value", "AKIAIOSFODNN7EXAMPLE", "ghp-abc"):
        assert value not in book
    assert "`API_TOKEN=(redacted)`" in book
    assert "| `GitHubSecret` | `(redacted)` |" in book


def test_fixture_runbooks_show_no_secret_like_assignments(books: dict[str, str]) -> None:
    for book in books.values():
        assert not re.search(r"(?i)(secret|token|password)\w*=(?!\(redacted\))\S", book)


def test_a_partial_plan_still_renders_with_placeholders() -> None:
    context = PlanContext(
        stacks=StackNames(control_plane="c-eks", nodegroups=()),
        gates=(),
        cni=CniContext(version="v1.19.2", env=(), mode="WARM_ENI", notes=()),
        subnets=(),
        nodegroups=(),
    )
    cp = ControlPlaneStep(
        id="cp",
        description="cp",
        gates=("CAP002",),
        stack="c-eks",
        parameter=None,
        from_="1.30",
        to="1.31",
        minutes=(24, 60),
    )
    roll = _roll(
        id="roll",
        description="roll",
        nodegroup="workers",
        stack="c-workers",
        surge=0,
        predicted_waves=0,
        lower_bound=0,
    )
    verify = VerifyStep(id="odd", description="odd | pipe", gates=())
    bare = Plan(
        cluster="c",
        region="r",
        from_=Versions(kubernetes="1.30", cni="v1.18.5", kube_proxy="a", coredns="b"),
        to=Versions(kubernetes="1.31", cni="v1.19.2", kube_proxy="c", coredns="d"),
        fingerprint="f",
        findings=(),
        steps=(cp, roll, verify),
        context=context,
    )
    book = render(bare)
    assert "| Node groups | ? |" in book
    assert "create-change-set" in book
    assert "No findings." in book
    assert "No wave can run yet" in book
    assert "### 3. Verify (`odd`)" in book
    assert "*Plan:* odd | pipe" in book
    assert ":s3, after s2, 5m" in book


def test_renders_what_the_planner_makes() -> None:
    from tests.unit import cluster_states  # noqa: PLC0415 - the planner's own test states
    from upgrader.planner import make_plan  # noqa: PLC0415

    state = cluster_states.tight()
    made = make_plan(state, cluster_states.config(state, target="1.13", cni="v1.5.5"))
    book = render(loads(made.dumps()))
    assert made.blocked
    assert "> [!CAUTION]" in book
    assert "| API Name | Memory | vCPUs | Max IPs | Max ENIs |" in book
    assert "| r5.xlarge | 32 GiB | 4 | 60 | 4 |" in book
    assert "❌ below reserve" in book
    assert "```mermaid\ngantt\n" in book


# Helpers


def test_step_minutes() -> None:
    def control_plane(minutes: tuple[int, int]) -> ControlPlaneStep:
        return ControlPlaneStep(
            id="x",
            description="",
            gates=(),
            stack="s",
            parameter=None,
            from_="1.12",
            to="1.13",
            minutes=minutes,
        )

    def cni(nodes: int) -> CniStep:
        return CniStep(
            id="x",
            description="",
            gates=(),
            kind=StepKind.CNI,
            namespace="kube-system",
            name="aws-node",
            resource="daemonset",
            from_="v1.3.2",
            to="v1.4.1",
            manifest=None,
            nodes=nodes,
        )

    def roll(waves: int) -> NodegroupRollStep:
        return _roll(predicted_waves=waves)

    coredns = AddonStep(
        id="x",
        description="",
        gates=(),
        kind=StepKind.COREDNS,
        namespace="kube-system",
        name="coredns",
        resource="deployment",
        from_="v1.2.2",
        to="v1.6.6",
        manifest=None,
        nodes=40,
    )
    assert str(step_minutes(control_plane((24, 60)))) == "24-60 min"
    assert str(step_minutes(control_plane((7, 7)))) == "7 min"
    assert (
        str(step_minutes(roll(3))) == "5-45 min"
    )  # 3 waves: the timing model's 85 s each, to 15 min each
    assert str(step_minutes(cni(10))) == "10-30 min"
    assert str(step_minutes(cni(0))) == "2-5 min"
    assert str(step_minutes(coredns)) == "2-5 min"
    assert str(step_minutes(VerifyStep(id="x", description="", gates=()))) == "2-5 min"


def test_markdown_cells_escape_pipes_and_fold_lines() -> None:
    assert cell("a|b\nc") == "a\\|b c"
    assert table(["x"], [["1|2"]]) == "| x |\n|---|\n| 1\\|2 |"
