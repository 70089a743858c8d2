"""The LC -> LT move of AWS's 2019 node-group template, as a team would write it: the
shipped template transformed, never a hand-written copy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ekstwin.templates import aws_2019_nodegroup
from upgrader.model.cfn_yaml import load_template as load

LAUNCH_CONFIGURATION = "NodeLaunchConfig"
LAUNCH_TEMPLATE = "NodeLaunchTemplate"
GROUP = "NodeGroup"


def launch_template_body(*, rolling: bool = False, instance_groups: bool = False) -> str:
    """The 2019 template with its launch configuration replaced by a launch template.

    The template carries the configuration's ImageId, InstanceType, KeyName, UserData,
    IamInstanceProfile and BlockDeviceMappings; its security groups and public address go
    on the primary network interface. The group keeps its logical id and switches to
    ``LaunchTemplate`` (latest version); its ``AutoScalingRollingUpdate`` is kept when
    ``rolling``, otherwise replaced by ``AutoScalingScheduledAction``.
    ``instance_groups`` also names the groups at instance level, which EC2 refuses.
    """
    template: dict[str, Any] = load(aws_2019_nodegroup())
    resources = template["Resources"]
    config = resources.pop(LAUNCH_CONFIGURATION)["Properties"]
    data: dict[str, Any] = {
        key: config[key]
        for key in ("ImageId", "InstanceType", "KeyName", "UserData", "BlockDeviceMappings")
    }
    data["IamInstanceProfile"] = {"Name": config["IamInstanceProfile"]}
    data["NetworkInterfaces"] = [
        {
            "DeviceIndex": 0,
            "AssociatePublicIpAddress": config["AssociatePublicIpAddress"],
            "DeleteOnTermination": True,
            "Groups": config["SecurityGroups"],
        }
    ]
    if instance_groups:
        data["SecurityGroupIds"] = config["SecurityGroups"]
    resources[LAUNCH_TEMPLATE] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {"LaunchTemplateData": data},
    }
    group = resources[GROUP]
    del group["Properties"]["LaunchConfigurationName"]
    group["Properties"]["LaunchTemplate"] = {
        "LaunchTemplateId": {"Ref": LAUNCH_TEMPLATE},
        "Version": {"Fn::GetAtt": [LAUNCH_TEMPLATE, "LatestVersionNumber"]},
    }
    if not rolling:
        group["UpdatePolicy"] = {
            "AutoScalingScheduledAction": {"IgnoreUnmodifiedGroupSizeProperties": True}
        }
    return json.dumps(template)


def change_set_parameters(keys: Iterable[str], changed: Mapping[str, str]) -> list[dict[str, Any]]:
    """CreateChangeSet's Parameters: ``changed`` values, every other key its previous value."""
    return [
        {"ParameterKey": k, "ParameterValue": changed[k]}
        if k in changed
        else {"ParameterKey": k, "UsePreviousValue": True}
        for k in keys
    ]
