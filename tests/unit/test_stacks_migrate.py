"""The launch-template migration of a node-group stack on a launch configuration, against
AWS's 2019 template: what is kept, what changes, cfn-lint, the golden file, and the plan
and runbook that carry it.

Regenerate the golden after an intended change with:
    UPGRADER_REGEN_GOLDEN=1 pytest tests/unit/test_stacks_migrate.py
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack_lint import lint
from tests.unit.cluster_states import SSM, config, staging
from upgrader.adapters.change_sets import change_set_name
from upgrader.errors import BadInputError
from upgrader.model.aws import Stack
from upgrader.model.cfn_yaml import dump_template, load_template
from upgrader.model.steps import Step, step_to_json
from upgrader.planner import make_plan
from upgrader.planner.templates import adopt
from upgrader.runbook import render as render_runbook
from upgrader_stacks.migrate import migrate, migrations, needs_migration, template_id

NODEGROUP_2019 = "amazon-eks-ami/amazon-eks-nodegroup.yaml"
GOLDEN = (
    Path(__file__).resolve().parent.parent / "golden" / "stacks" / "migrated_2019_nodegroup.yaml"
)
REGEN = os.environ.get("UPGRADER_REGEN_GOLDEN") == "1"
LC, LT, ASG = "NodeLaunchConfig", "NodeLaunchTemplate", "NodeGroup"


def params_of(step: Step) -> Any:
    """The step's ``params`` as the plan file holds them."""
    return step_to_json(step)["params"]


def predicted(step: Step) -> Any:
    """The step's ``predicted`` as the plan file holds them."""
    return step_to_json(step)["predicted"]


def stack(body: str, **parameters: str) -> Stack:
    return Stack(
        name="staging-legacy",
        stack_id="arn:aws:cloudformation:ap-northeast-1:123456789012:stack/staging-legacy/1",
        status="CREATE_COMPLETE",
        parameters=tuple(sorted(parameters.items())),
        resources=(),
        template_body=body,
    )


@pytest.fixture(scope="module")
def original(upstream: Path) -> str:
    return (upstream / NODEGROUP_2019).read_text()


@pytest.fixture(scope="module")
def migrated(original: str) -> str:
    return migrate(stack(original))


def test_every_parameter_output_condition_and_logical_id_is_kept(
    original: str, migrated: str
) -> None:
    before, after = load_template(original), load_template(migrated)
    assert list(after) == list(before)
    for section in ("AWSTemplateFormatVersion", "Description", "Metadata", "Parameters",
                    "Conditions", "Outputs"):  # fmt: skip
        assert after[section] == before[section], section
    # the launch template takes the launch configuration's place under a new logical id
    # (CloudFormation refuses to change a logical id's type); every other id stays
    assert list(after["Resources"]) == [LT if n == LC else n for n in before["Resources"]]
    untouched = set(before["Resources"]) - {LC, ASG}
    assert len(untouched) == 9
    for name in untouched:
        assert after["Resources"][name] == before["Resources"][name], name


def test_the_launch_configuration_becomes_a_launch_template(original: str, migrated: str) -> None:
    lc = load_template(original)["Resources"][LC]["Properties"]
    resources = load_template(migrated)["Resources"]
    assert not [r for r in resources.values() if "LaunchConfiguration" in r["Type"]]
    assert LC not in resources
    lt = resources[LT]
    assert lt["Type"] == "AWS::EC2::LaunchTemplate"
    data = lt["Properties"]["LaunchTemplateData"]
    for key in ("ImageId", "InstanceType", "KeyName", "UserData", "BlockDeviceMappings"):
        assert data[key] == lc[key], key
    assert data["UserData"]["Fn::Base64"]["Fn::Sub"].startswith("#!/bin/bash\nset -o xtrace\n")
    assert data["IamInstanceProfile"] == {"Arn": {"Fn::GetAtt": ["NodeInstanceProfile", "Arn"]}}
    # AssociatePublicIpAddress is set: the security groups move into the network interface
    assert data["NetworkInterfaces"] == [
        {
            "AssociatePublicIpAddress": "true",
            "DeviceIndex": 0,
            "DeleteOnTermination": True,
            "Groups": [{"Ref": "NodeSecurityGroup"}],
        }
    ]
    assert "SecurityGroupIds" not in data and "SecurityGroups" not in data


def test_the_group_launches_from_the_template_and_cloudformation_rolls_nothing(
    original: str, migrated: str
) -> None:
    before = load_template(original)["Resources"][ASG]
    after = load_template(migrated)["Resources"][ASG]
    props = after["Properties"]
    assert "LaunchConfigurationName" not in props
    assert props["LaunchTemplate"] == {
        "LaunchTemplateId": {"Ref": LT},
        "Version": {"Fn::GetAtt": [LT, "LatestVersionNumber"]},
    }
    kept = {k: v for k, v in before["Properties"].items() if k != "LaunchConfigurationName"}
    assert {k: v for k, v in props.items() if k != "LaunchTemplate"} == kept
    assert after["UpdatePolicy"] == {
        "AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": True}
    }
    report = adopt(migrated)
    assert report.on_launch_configuration == ()
    (group,) = report.self_managed_groups
    assert (group.launch, group.launch_resource) == ("launch-template", LT)
    assert group.image_ssm_parameter == "NodeImageIdSSMParam"
    assert not group.update_policy.rolling_update
    assert group.update_policy.ignore_unmodified_group_sizes


def test_cfn_lint_finds_nothing_the_migration_wrote(original: str, migrated: str) -> None:
    """The only findings left are the user's own warnings on resources kept verbatim (changing
    those would replace security-group rules); the launch configuration's is gone."""
    before = {(f.rule, f.path[:2]) for f in lint(original)}
    after = lint(migrated)
    assert not [f for f in after if f.severity == "error"]
    assert not [f for f in after if f.path[:2] in (("Resources", LT), ("Resources", ASG))]
    assert {(f.rule, f.path[:2]) for f in after} == before - {("W3697", ("Resources", LC))}
    assert {f.rule for f in after} <= {"W3005", "W3687"}


def test_migration_matches_golden(migrated: str) -> None:
    if REGEN:
        GOLDEN.write_text(migrated)
    assert GOLDEN.read_text() == migrated, (
        f"{GOLDEN} differs; if intended: UPGRADER_REGEN_GOLDEN=1 pytest {__file__}"
    )


def test_migration_is_deterministic_and_independent_of_the_template_format(
    original: str, migrated: str
) -> None:
    assert migrate(stack(original)) == migrated
    as_json = json.dumps(load_template(original), indent=2)
    assert migrate(stack(as_json)) == migrated
    assert migrations([stack(original), stack("")]) == {"staging-legacy": migrated}
    assert needs_migration(stack(original)) and not needs_migration(stack(migrated))


LAUNCH_CONFIG = {
    "Type": "AWS::AutoScaling::LaunchConfiguration",
    "Properties": {
        "ImageId": {"Ref": "Ami"},
        "InstanceType": "m5.large",
        "IamInstanceProfile": {"Ref": "Profile"},
        "SecurityGroups": [{"Ref": "Group"}],
        "InstanceMonitoring": False,
        "SpotPrice": "0.05",
        "MetadataOptions": {"HttpTokens": "required"},
    },
}
GROUP = {
    "Type": "AWS::AutoScaling::AutoScalingGroup",
    "Properties": {
        "LaunchConfigurationName": {"Ref": "Lc"},
        "MinSize": "1",
        "MaxSize": "2",
        "VPCZoneIdentifier": ["subnet-1"],
    },
    "UpdatePolicy": {"AutoScalingReplacingUpdate": {"WillReplace": True}},
}


def small(lc: dict[str, Any] | None = None, **extra: Any) -> str:
    return json.dumps(
        {
            "Parameters": {
                "Ami": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
                "Profile": {"Type": "String"},
            },
            "Resources": {"Lc": lc or LAUNCH_CONFIG, "Asg": GROUP, **extra},
        }
    )


def test_other_launch_configuration_properties_map_to_their_launch_template_form() -> None:
    body = migrate(stack(small(), Profile="arn:aws:iam::1:instance-profile/nodes"))
    template = load_template(body)
    data = template["Resources"]["LcLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data == {
        "ImageId": {"Ref": "Ami"},
        "InstanceType": "m5.large",
        "IamInstanceProfile": {"Arn": {"Ref": "Profile"}},  # the parameter holds an ARN
        "Monitoring": {"Enabled": False},
        "MetadataOptions": {"HttpTokens": "required"},
        "InstanceMarketOptions": {"MarketType": "spot", "SpotOptions": {"MaxPrice": "0.05"}},
        "SecurityGroupIds": [{"Ref": "Group"}],
    }
    assert template["Resources"]["Asg"]["UpdatePolicy"] == {
        "AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": True}
    }
    named = migrate(stack(small(), Profile="nodes"))
    assert "Name:\n            Ref: Profile" in named


@pytest.mark.parametrize(
    ("lc", "message"),
    [
        ({**LAUNCH_CONFIG, "Properties": {"ImageId": "ami-1", "ClassicLinkVPCId": "vpc-1"}},
         "cannot migrate Lc to a launch template: ClassicLinkVPCId has no launch-template"),
        ({**LAUNCH_CONFIG, "Type": "AWS::EC2::Instance"},
         "cannot migrate Asg to a launch template: its LaunchConfigurationName is not a Ref"),
        ({**LAUNCH_CONFIG, "Properties": {"IamInstanceProfile": {"Fn::ImportValue": "x"}}},
         "IamInstanceProfile .* is neither"),
    ],
)  # fmt: skip
def test_what_cannot_be_carried_over_is_bad_input_naming_it(
    lc: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadInputError, match=message) as raised:
        migrate(stack(small(lc), Profile="nodes"))
    assert raised.value.subject == "stack staging-legacy"


def test_the_launch_template_id_never_clashes() -> None:
    assert template_id("NodeLaunchConfig", set()) == "NodeLaunchTemplate"
    assert template_id("WorkersLaunchConfiguration", set()) == "WorkersLaunchTemplate"
    assert template_id("Lc", {"LcLaunchTemplate", "LcLaunchTemplate2"}) == "LcLaunchTemplate3"


def test_a_launch_configuration_something_else_refers_to_is_not_dropped() -> None:
    body = json.loads(small())
    body["Outputs"] = {"Config": {"Value": {"Ref": "Lc"}}}
    with pytest.raises(BadInputError, match="output Config refer"):
        migrate(stack(json.dumps(body), Profile="nodes"))


def test_a_stack_on_a_launch_template_is_not_migrated(migrated: str) -> None:
    with pytest.raises(BadInputError, match="nothing to migrate"):
        migrate(stack(migrated))


# The plan and runbook that carry it ------------------------------------------------------


def _legacy_plan(original: str) -> tuple[Any, Stack]:
    state = staging()
    workers = state.stacks[1]
    legacy = replace(workers, template_body=original)
    state = replace(state, stacks=(state.stacks[0], legacy))
    cfg = config(state, target="1.13")
    return make_plan(state, cfg, templates=migrations([legacy])), legacy


def test_the_plan_records_the_template_its_change_set_carries(original: str, migrated: str) -> None:
    plan, legacy = _legacy_plan(original)
    step = next(s for s in plan.steps if s.kind == "nodegroup-stack")
    assert params_of(step)["parameters"] == {"NodeImageIdSSMParam": SSM.format("1.13")}
    assert (
        params_of(step)["update_policy"] == "none"
    )  # the new template's: CloudFormation rolls none
    template = params_of(step)["template"]
    assert template["body"] == migrated
    assert "migrating its launch configuration to a launch template" in step.description
    reason = template["reason"]
    assert (
        "NodeGroup launches from launch configuration NodeLaunchConfig" in reason
        and "replaces NodeLaunchConfig with launch template NodeLaunchTemplate" in reason
    )
    assert "2024-10-01" in reason and "removes AutoScalingRollingUpdate" in reason
    diff = template["diff"].splitlines()
    assert diff[:2] == [
        f"--- {legacy.name} (current template)",
        f"+++ {legacy.name} (change set template)",
    ]
    assert "-    Type: AWS::AutoScaling::LaunchConfiguration" in diff
    assert "+    Type: AWS::EC2::LaunchTemplate" in diff
    assert "-      LaunchConfigurationName:" in diff
    assert "-      AutoScalingRollingUpdate:" in diff
    assert "+      AutoScalingScheduledAction:" in diff
    # two hunks: the launch configuration and the group's launch, then its UpdatePolicy
    assert [line for line in diff if line.startswith("@@")] == [
        "@@ -448,47 +448,59 @@",
        "@@ -505,11 +517,8 @@",
    ]
    assert "-  NodeLaunchConfig:" in diff and "+  NodeLaunchTemplate:" in diff
    assert dump_template(load_template(original)) != original  # diffed normalised, not raw


def test_a_stack_on_a_launch_configuration_needs_its_rendered_template(original: str) -> None:
    state = staging()
    legacy = replace(state.stacks[1], template_body=original)
    state = replace(state, stacks=(state.stacks[0], legacy))
    with pytest.raises(ValueError, match="no migrated template was rendered for stack"):
        make_plan(state, config(state, target="1.13"))


def test_the_runbook_shows_the_template_change_as_a_diff(original: str) -> None:
    plan, legacy = _legacy_plan(original)
    text = render_runbook(plan)
    section = text.split("(`nodegroup-stack-workers`)\n\nKind", 1)[1].split("\n### ", 1)[0]
    assert "the launch configuration becomes a launch template (diff below)" in section
    assert "**Template change** (the change set carries a new template): NodeGroup launches" in (
        section
    )
    assert f"```diff\n--- {legacy.name} (current template)" in section
    assert "+    Type: AWS::EC2::LaunchTemplate" in section
    assert f"--stack-name {legacy.name} --query TemplateBody --output text" in section
    assert f"--template-body file://{legacy.name}.before.yaml" in section
    assert "No node is replaced by CloudFormation here (none)" in section


def test_the_change_set_name_covers_the_template(migrated: str) -> None:
    parameters = {"NodeImageIdSSMParam": "/p"}
    plain = change_set_name("s", parameters)
    assert plain == change_set_name("s", parameters, None)
    assert change_set_name("s", parameters, migrated) not in (
        plain,
        change_set_name("s", parameters, migrated + "\n"),
    )
