"""Third-party CloudFormation templates the twin builds scenario stacks from, kept verbatim.

``amazon-eks-nodegroup-2019.yaml`` is AWS's self-managed node-group template as teams
deployed it in 2019 (launch configuration, ``NodeImageIdSSMParam``, an ASG under
``AutoScalingRollingUpdate``). Provenance (also in README.md beside it):
awslabs/amazon-eks-ami at 81ac166912ebbdb46c56549efe3d88331f524cad, path
``amazon-eks-nodegroup.yaml``, licence MIT-0 (MIT No Attribution), sha256 below.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from upgrader.model.cfn_yaml import load_template

AWS_2019_NODEGROUP = "amazon-eks-nodegroup-2019.yaml"
AWS_2019_NODEGROUP_SHA256 = "b172849483374a5475b856039ad2f74487abb2d52857556ca8db59d1121a691e"


@cache
def aws_2019_nodegroup() -> str:
    """The 2019 node-group template's text, byte for byte as published."""
    return resources.files(__name__).joinpath(AWS_2019_NODEGROUP).read_text(encoding="utf-8")


@cache
def aws_2019_instance_types() -> tuple[str, ...]:
    """The instance types the 2019 template's ``NodeInstanceType`` allows."""
    parameters = load_template(aws_2019_nodegroup())["Parameters"]
    return tuple(str(t) for t in parameters["NodeInstanceType"]["AllowedValues"])
