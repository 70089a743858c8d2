"""IAM roles the stacks create for EKS (cluster service role, node instance role)."""

from __future__ import annotations

from troposphere import Sub, iam


def managed_policy_arn(name: str) -> Sub:
    """ARN of the AWS managed policy ``name`` in the stack's partition."""
    return Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{name}")


def service_role(title: str, service: str, policies: tuple[str, ...]) -> iam.Role:
    """A role that ``service`` (e.g. ``eks.amazonaws.com``) may assume, with managed policies."""
    return iam.Role(
        title,
        AssumeRolePolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": [service]},
                    "Action": ["sts:AssumeRole"],
                }
            ],
        },
        ManagedPolicyArns=[managed_policy_arn(name) for name in policies],
        Path="/",
    )
