"""Sandbox scenario files: the shipped ones, validation, and their capacity story."""

from __future__ import annotations

from pathlib import Path

import pytest

from ekstwin import scenario
from upgrader.capacity.node import node_addresses
from upgrader.capacity.settings import CniSettings
from upgrader.capacity.waves import Node, NodeGroupRoll, Subnet, plan_roll
from upgrader.catalog import instances
from upgrader.errors import ExitCode
from upgrader.semver import Version


def test_shipped_scenarios_load() -> None:
    assert scenario.shipped() == ("dev", "modern", "staging", "tight")
    for name in scenario.shipped():
        s = scenario.load(name)
        assert s.name == name
        assert s.target_kubernetes.minor == s.kubernetes.minor + 1


def test_seed_clusters() -> None:
    dev = scenario.load("dev")
    assert (
        len(dev.namespaces),
        dev.pods,
        dev.nodegroups[0].instance_type,
        dev.nodegroups[0].desired,
        str(dev.kubernetes.minor_str),
    ) == (5, 3, "r5.xlarge", 2, "1.12")
    staging = scenario.load("staging")
    assert (len(staging.namespaces), staging.pods) == (9, 56)
    assert staging.cni_version == Version.parse("v1.3.2")
    assert {s.az for s in staging.subnets} == {"ap-northeast-1a", "ap-northeast-1c"}
    modern = scenario.load("modern")
    assert len({s.az for s in modern.subnets}) == 3
    assert (modern.kubernetes.minor_str, modern.target_kubernetes.minor_str) == ("1.31", "1.32")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("""
name: broken
region: ap-northeast-1
kubernetes: "1.12"
cni: {version: v1.3.2}
subnets:
  - {name: a, az: us-east-1a, cidr: 10.0.0.0/28, used: 20}
  - {name: b, az: ap-northeast-1c, cidr: 10.0.0.0/24}
nodegroups:
  - {name: w, kind: spot, instance_type: r5.huge, subnets: [zz]}
workloads:
  - namespace: app
    name: web
    replicas: -1
    cpu: lots
    pdb: {max_unavailable: 1, min_available: 1}
target: {kubernetes: "1.11"}
colour: blue
""")
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load(str(bad))
    err = info.value
    assert err.exit_code == ExitCode.BAD_INPUT
    for needle in (
        "subnets[0].az",
        "subnets[0].used",
        "a and b overlap",
        "nodegroups[0].kind",
        "r5.huge",
        "unknown subnet 'zz'",
        "workloads[0].replicas",
        "workloads[0].cpu",
        "workloads[0].pdb",
        "target.kubernetes",
        "colour",
    ):
        assert needle in err.message, needle


def test_unknown_reference_names_the_choices() -> None:
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load("prod")
    assert "dev, modern, staging, tight" in info.value.hint


def _roll(name: str, reserve: int = 8) -> tuple[bool, int]:
    """Place one node per AZ with an even share of pods, then plan the roll."""
    s = scenario.load(name)
    group = s.nodegroups[0]
    inst = instances.bundled().get(group.instance_type)
    old = CniSettings.from_env(s.cni_version, dict(s.cni_env))
    new = CniSettings.from_env(s.target_cni or s.cni_version, dict(s.cni_env))
    per_node = s.pods // group.desired
    held = node_addresses(inst, old, per_node).subnet_ips
    nodes = tuple(
        Node(
            name=f"n{i}",
            subnet_id=group.subnets[i % len(group.subnets)],
            pods=per_node,
            subnet_ips=held,
        )
        for i in range(group.desired)
    )
    used = {sid: sum(n.subnet_ips for n in nodes if n.subnet_id == sid) for sid in group.subnets}
    subnets = [Subnet(id=x.name, az=x.az, free_ips=x.free - used.get(x.name, 0)) for x in s.subnets]
    roll = NodeGroupRoll(
        name=group.name, instance_type=inst, cni=new, subnet_ids=group.subnets, nodes=nodes
    )
    plan = plan_roll(subnets, [roll], reserve)
    return plan.blocked, len(plan.waves)


def test_staging_rolls_and_tight_is_blocked() -> None:
    assert _roll("staging") == (False, 1)
    blocked, _ = _roll("tight")
    assert blocked


def test_staging_runs_aws_2019_template_and_the_others_the_builder() -> None:
    templates = {
        name: {g.template for g in scenario.load(name).nodegroups} for name in scenario.shipped()
    }
    assert templates == {
        "dev": {"upgrader"},
        "modern": {"upgrader"},
        "staging": {"aws-2019"},
        "tight": {"upgrader"},
    }


def _with_group(tmp_path: Path, group: str, kubernetes: str = "1.12") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"""
name: s
region: ap-northeast-1
kubernetes: "{kubernetes}"
cni: {{version: v1.5.5}}
subnets:
  - {{name: a, az: ap-northeast-1a, cidr: 10.0.0.0/24}}
nodegroups:
  - {group}
target: {{kubernetes: "{kubernetes[:-1]}{int(kubernetes[-1]) + 1}"}}
""")
    return path


@pytest.mark.parametrize(
    ("group", "kubernetes", "needles"),
    [
        (
            "{name: w, template: aws-2018, instance_type: r5.xlarge}",
            "1.12",
            ["nodegroups[0].template", "'aws-2018' must be upgrader or aws-2019"],
        ),
        (
            "{name: w, kind: managed, template: aws-2019, instance_type: r5.xlarge}",
            "1.14",
            ["nodegroups[0].template", "set kind: self-managed"],
        ),
        (
            "{name: w, template: aws-2019, instance_type: m6i.large}",
            "1.12",
            ["nodegroups[0].instance_type", "not among aws-2019's NodeInstanceType values"],
        ),
        (
            "{name: w, template: aws-2019, instance_type: r5.xlarge}",
            "1.33",
            ["no AL2 AMI for 1.33", "use template: upgrader"],
        ),
    ],
)
def test_nodegroup_template_is_validated(
    tmp_path: Path, group: str, kubernetes: str, needles: list[str]
) -> None:
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load(str(_with_group(tmp_path, group, kubernetes)))
    for needle in needles:
        assert needle in info.value.message, info.value.message


def test_template_defaults_to_the_builder(tmp_path: Path) -> None:
    path = _with_group(tmp_path, "{name: w, instance_type: r5.xlarge}")
    assert scenario.load(str(path)).nodegroups[0].template == "upgrader"
