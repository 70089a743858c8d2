"""CloudFormation stacks as discovered: status, parameters, resources, template, change sets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NoReturn

from upgrader.adapters.aws import Aws, aws_errors
from upgrader.adapters.errors import CloudNotFoundError
from upgrader.model.aws import ChangeSet, Stack, StackResource

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


def missing_stack_hint(name: str, region: str) -> str:
    return (
        f"check that stack {name!r} exists in {region} (aws cloudformation describe-stacks "
        f"--stack-name {name}) and that the config's stacks section names it"
    )


def read_stack(aws: Aws, name: str) -> Stack:
    """Everything upgrader reads about one stack (4 calls plus pages)."""
    subject = f"CloudFormation stack {name}"
    cfn = aws.cfn
    with aws_errors(subject, "DescribeStacks", not_found_hint=missing_stack_hint(name, aws.region)):
        found = cfn.describe_stacks(StackName=name)["Stacks"]
    if not found:
        raise_missing(name, aws.region)
    raw = found[0]
    with aws_errors(subject, "ListStackResources"):
        resources = tuple(
            StackResource(
                logical_id=r["LogicalResourceId"],
                resource_type=r["ResourceType"],
                physical_id=r.get("PhysicalResourceId") or "",
                status=r["ResourceStatus"],
            )
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name)
            for r in page["StackResourceSummaries"]
        )
    with aws_errors(subject, "GetTemplate"):
        body = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    return Stack(
        name=raw["StackName"],
        stack_id=raw["StackId"],
        status=raw["StackStatus"],
        parameters=tuple(
            sorted(
                (p["ParameterKey"], p.get("ParameterValue", "")) for p in raw.get("Parameters", [])
            )
        ),
        resources=tuple(sorted(resources, key=lambda r: r.logical_id)),
        change_sets=list_change_sets(cfn, name),
        # boto3 hands JSON templates back parsed; keep their key order for a stable hash.
        template_body=body if isinstance(body, str) else json.dumps(body, indent=2),
    )


def list_change_sets(cfn: CloudFormationClient, stack: str) -> tuple[ChangeSet, ...]:
    """Change sets pending on ``stack``, by name."""
    with aws_errors(f"CloudFormation stack {stack}", "ListChangeSets"):
        summaries = [
            s
            for page in cfn.get_paginator("list_change_sets").paginate(StackName=stack)
            for s in page["Summaries"]
        ]
    return tuple(
        sorted(
            (
                ChangeSet(
                    name=s["ChangeSetName"],
                    change_set_id=s["ChangeSetId"],
                    status=s["Status"],
                    execution_status=s.get("ExecutionStatus", ""),
                    description=s.get("Description", ""),
                )
                for s in summaries
            ),
            key=lambda c: c.name,
        )
    )


def raise_missing(name: str, region: str) -> NoReturn:
    raise CloudNotFoundError(
        f"CloudFormation stack {name}", "does not exist", missing_stack_hint(name, region)
    )
