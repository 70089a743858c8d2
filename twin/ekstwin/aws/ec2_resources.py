"""CloudFormation security-group rules as AWS creates them; AWS's 2019 node-group template
uses both kinds.

AWS: ``AWS::EC2::SecurityGroupEgress`` adds one egress rule (moto skips the type, so its
stack resources came back without ids); for it and ``AWS::EC2::SecurityGroupIngress`` the
physical resource ID (and Ref) is the rule's ID, ``sgr-…`` (moto reports none for ingress);
deleting the resource revokes the rule.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends


def _rule(props: dict[str, Any], peer_key: str) -> dict[str, Any]:
    """Keyword arguments of moto's authorize call for a rule resource."""
    peer = {"GroupId": props[peer_key]} if props.get(peer_key) else None
    cidr = props.get("CidrIp")
    return {
        "group_name_or_id": props["GroupId"],
        "ip_protocol": str(props["IpProtocol"]),
        "from_port": props.get("FromPort"),
        "to_port": props.get("ToPort"),
        "ip_ranges": [{"CidrIp": cidr, "Description": props.get("Description")}] if cidr else [],
        "source_groups": [peer] if peer else [],
    }


class SecurityGroupEgress(CloudFormationModel):
    """One egress rule of a security group (Ref is the rule ID)."""

    def __init__(self, group_id: str, rule_id: str) -> None:
        self.group_id = group_id
        self.rule_id = rule_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecurityGroupEgress:
        ec2 = ec2_backends[account_id][region_name]
        props = cloudformation_json["Properties"]
        rules, group = ec2.authorize_security_group_egress(
            **_rule(props, "DestinationSecurityGroupId")
        )
        return cls(group.id, rules[0].id)

    @property
    def physical_resource_id(self) -> str:
        return self.rule_id

    def delete(self, account_id: str, region_name: str) -> None:
        ec2 = ec2_backends[account_id][region_name]
        ec2.revoke_security_group_egress(
            self.group_id, "", "", "", [], security_rule_ids=[self.rule_id]
        )


def ingress_rule_id(resource: Any) -> str | None:
    """The rule ID a moto ``SecurityGroupIngress`` resource added (see :func:`created_ingress`)."""
    rule_id = resource.__dict__.get("twin_rule_id")
    return str(rule_id) if rule_id else None


def created_ingress(create: Any, cloudformation_json: dict[str, Any], ec2: Any) -> Any:
    """Run moto's ``create`` of an ingress resource, recording the rule it added."""
    props = cloudformation_json["Properties"]
    group = ec2.get_security_group_by_name_or_id(props.get("GroupId") or props.get("GroupName"))
    before = {r.id for r in group.ingress_rules} if group is not None else set()
    resource = create()
    added = [r.id for r in resource.security_group.ingress_rules if r.id not in before]
    resource.twin_rule_id = added[0] if added else None
    return resource
