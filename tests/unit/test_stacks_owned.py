"""``upgrader stacks render``'s templates: the builder of each stack's kind filled with the
discovered values, or the plan's migration for a stack on a launch configuration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.stack_lint import check_eks_versions, lint
from tests.unit.cluster_states import SSM, config, modern, staging
from upgrader.model.cfn_yaml import load_template
from upgrader.model.state import ClusterState
from upgrader_stacks.migrate import migrate
from upgrader_stacks.owned import OwnedTemplate, owned_templates

NODEGROUP_2019 = "amazon-eks-ami/amazon-eks-nodegroup.yaml"


def _staging_with_legacy(upstream: Path) -> ClusterState:
    state = staging()
    legacy = replace(
        state.stacks[1],
        name="staging-legacy",
        template_body=(upstream / NODEGROUP_2019).read_text(),
        parameters=(*state.stacks[1].parameters, ("BootstrapArguments", "--x"), ("VpcId", "v")),
    )
    return replace(state, stacks=(*state.stacks, legacy))


@pytest.fixture(scope="module")
def owned(upstream: Path) -> dict[str, OwnedTemplate]:
    state = _staging_with_legacy(upstream)
    cfg = replace(
        config(state, target="1.13"),
        nodegroup_stacks=("staging-workers", "staging-legacy"),
    )
    found = owned_templates(state, cfg, "1.13")
    managed_state = modern()
    found += owned_templates(managed_state, config(managed_state, target="1.32"), "1.32")[1:]
    return {t.stack: t for t in found}


def test_each_stack_gets_its_kind_and_source(owned: dict[str, OwnedTemplate]) -> None:
    rows = [(t.stack, t.kind, t.source) for t in owned.values()]
    assert rows == [
        ("staging-eks", "control-plane", "builder"),
        ("staging-workers", "self-managed", "builder"),
        ("staging-legacy", "self-managed", "migration"),
        ("modern-general", "managed", "builder"),
        ("modern-memory", "self-managed", "builder"),
    ]


def test_a_stack_on_a_launch_configuration_gets_the_plans_migration(
    owned: dict[str, OwnedTemplate], upstream: Path
) -> None:
    legacy = _staging_with_legacy(upstream).stacks[-1]
    assert owned["staging-legacy"].body == migrate(legacy)


def test_builder_templates_take_the_discovered_values_at_the_target(
    owned: dict[str, OwnedTemplate],
) -> None:
    state = staging()
    plane = load_template(owned["staging-eks"].body)
    assert plane["Parameters"]["KubernetesVersion"]["Default"] == "1.13"
    assert plane["Parameters"]["SubnetIds"]["Default"] == ",".join(sorted(state.cluster.subnet_ids))
    workers = load_template(owned["staging-workers"].body)["Parameters"]
    asg = state.asgs[0]
    assert workers["NodeImageIdSSMParam"]["Default"] == SSM.format("1.13")
    assert workers["NodeInstanceType"]["Default"] == "r5.xlarge"
    assert workers["NodeGroupName"]["Default"] == "workers"
    assert workers["ClusterName"]["Default"] == "staging"
    sizes = [workers[f"NodeAutoScalingGroup{k}"]["Default"] for k in ("MinSize", "MaxSize")]
    assert sizes == [asg.min_size, asg.max_size]
    assert workers["Subnets"]["Default"] == ",".join(sorted(asg.subnet_ids))
    assert "Default" not in workers["VpcId"]  # neither a VpcId parameter nor a subnet's VPC
    managed = load_template(owned["modern-general"].body)["Parameters"]
    assert managed["KubernetesVersion"]["Default"] == "1.32"


def test_rendered_templates_are_cfn_lint_clean(owned: dict[str, OwnedTemplate]) -> None:
    for template in owned.values():
        findings = lint(template.body)
        if template.source == "migration":  # the user's own warnings on kept resources
            findings = [f for f in findings if f.rule not in ("W3005", "W3687")]
        assert [str(f) for f in findings] == [], template.stack
        assert check_eks_versions(template.body) == [], template.stack
