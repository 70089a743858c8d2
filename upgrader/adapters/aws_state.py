"""AWS reads for discovery (EKS, Auto Scaling, EC2, SSM), batched and paginated, never per
node: the AWS side of what `kube_state` reads from Kubernetes. CloudFormation reads are in
`cloudformation`; writes are in `aws_actions` and `change_sets`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from upgrader.adapters.aws import (
    ACCESS_CODES,
    Aws,
    aws_errors,
    batches,
    error_code,
    is_busy,
    is_not_found,
    is_unsupported,
)
from upgrader.model.addons import (
    ADDON_TYPE,
    AddonVersions,
    EksAddon,
    declares_addon,
    version_key,
)
from upgrader.model.aws import (
    AutoScalingGroup,
    EksCluster,
    Eni,
    Instance,
    ManagedNodegroup,
    Pairs,
    Stack,
    Subnet,
)
from upgrader.model.insights import (
    CATEGORY,
    NO_INSIGHTS,
    ClientStat,
    Deprecation,
    Insight,
    InsightResource,
    InsightStatus,
    UpgradeInsights,
    ordered,
)
from upgrader.model.unowned import FargateProfile, FargateSelector

if TYPE_CHECKING:
    from mypy_boto3_autoscaling.type_defs import AutoScalingGroupTypeDef
    from mypy_boto3_ec2.type_defs import FilterTypeDef, TagTypeDef

FILTER_VALUES_MAX = 200  # EC2 accepts at most 200 values per filter
ASG_NAMES_MAX = 50  # DescribeAutoScalingGroups: AutoScalingGroupNames
SSM_NAMES_MAX = 10  # GetParameters: Names
ASG_TAG = "aws:autoscaling:groupName"


@dataclass(frozen=True, slots=True)
class ClusterAccess:
    """How to reach the cluster's Kubernetes API without a kubeconfig."""

    endpoint: str
    certificate_authority: str  # base64 PEM, as DescribeCluster reports it


def eks_cluster(aws: Aws, name: str) -> tuple[EksCluster, ClusterAccess]:
    """DescribeCluster, plus the updates still in progress."""
    subject = f"EKS cluster {name}"
    hint = f"check `cluster` in the config: no EKS cluster {name!r} in {aws.region}"
    probe = aws.eks_probe
    with aws_errors(
        subject, "DescribeCluster", not_found_hint=hint, endpoint=probe.meta.endpoint_url
    ):
        try:
            raw = probe.describe_cluster(name=name)["cluster"]
        except ClientError as err:
            if not is_busy(err):
                raise
            # the endpoint answers, it is only busy: the full retry budget applies
            raw = aws.eks.describe_cluster(name=name)["cluster"]
    vpc = raw.get("resourcesVpcConfig", {})
    cluster = EksCluster(
        name=raw["name"],
        version=raw.get("version", ""),
        platform_version=raw.get("platformVersion", ""),
        status=raw.get("status", ""),
        endpoint=raw.get("endpoint", ""),
        subnet_ids=tuple(sorted(vpc.get("subnetIds", []))),
        security_group_ids=tuple(
            sorted(
                {
                    *vpc.get("securityGroupIds", []),
                    *filter(None, [vpc.get("clusterSecurityGroupId")]),
                }
            )
        ),
        updates_in_progress=_updates_in_progress(aws, name),
        certificate_authority=raw.get("certificateAuthority", {}).get("data", ""),
        service_cidr=raw.get("kubernetesNetworkConfig", {}).get("serviceIpv4Cidr", ""),
    )
    ca = cluster.certificate_authority
    return cluster, ClusterAccess(endpoint=cluster.endpoint, certificate_authority=ca)


def _updates_in_progress(aws: Aws, cluster: str) -> tuple[str, ...]:
    """IDs of cluster updates in progress; empty when the endpoint lacks the Updates API."""
    subject = f"EKS cluster {cluster}"
    try:
        ids = [
            u
            for page in aws.eks.get_paginator("list_updates").paginate(name=cluster)
            for u in page.get("updateIds", [])
        ]
    except ResponseParserError:
        return ()
    except ClientError as err:
        if is_unsupported(err):
            return ()
        with aws_errors(subject, "ListUpdates"):
            raise
    running = []
    for update_id in ids:  # one call per update, few per cluster lifetime
        with aws_errors(subject, "DescribeUpdate"):
            update = aws.eks.describe_update(name=cluster, updateId=update_id)["update"]
        if update.get("status") == "InProgress":
            running.append(update_id)
    return tuple(sorted(running))


def managed_nodegroups(
    aws: Aws, cluster: str, stacks: tuple[Stack, ...]
) -> tuple[ManagedNodegroup, ...]:
    """Managed node groups held by ``stacks`` (AWS::EKS::Nodegroup resources)."""
    found = []
    for stack in stacks:
        for resource in stack.resources_of("AWS::EKS::Nodegroup"):
            name = nodegroup_name(resource.physical_id)
            subject = f"EKS node group {name} (stack {stack.name})"
            hint = f"the node group of stack {stack.name} is gone; repair or re-create the stack"
            with aws_errors(subject, "DescribeNodegroup", not_found_hint=hint):
                raw = aws.eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)[
                    "nodegroup"
                ]
            scaling = raw.get("scalingConfig", {})
            found.append(
                ManagedNodegroup(
                    name=raw["nodegroupName"],
                    version=raw.get("version", ""),
                    release_version=raw.get("releaseVersion", ""),
                    status=raw.get("status", ""),
                    asg_names=tuple(
                        sorted(
                            a["name"]
                            for a in raw.get("resources", {}).get("autoScalingGroups", [])
                            if "name" in a
                        )
                    ),
                    subnet_ids=tuple(sorted(raw.get("subnets", []))),
                    instance_types=tuple(raw.get("instanceTypes", [])),
                    desired=int(scaling.get("desiredSize", 0)),
                    min_size=int(scaling.get("minSize", 0)),
                    max_size=int(scaling.get("maxSize", 0)),
                    ami_type=raw.get("amiType", ""),
                    launch_template=bool(raw.get("launchTemplate")),
                )
            )
    return tuple(sorted(found, key=lambda m: m.name))


def nodegroup_name(physical_id: str) -> str:
    """The node group name from its CloudFormation physical ID (``cluster/name`` or an ARN)."""
    if physical_id.startswith("arn:"):
        parts = physical_id.split(":", 5)[-1].split("/")  # nodegroup/<cluster>/<name>/<uuid>
        return parts[2] if len(parts) > 2 else parts[-1]
    return physical_id.rsplit("/", 1)[-1]


def _lacks_api(err: ClientError | ResponseParserError, subject: str, action: str) -> None:
    """Return when ``err`` says the endpoint lacks the API (an older region or emulator);
    raise it as upgrader's error otherwise."""
    if isinstance(err, ResponseParserError) or is_unsupported(err):
        return
    with aws_errors(subject, action):
        raise err


def eks_addons(aws: Aws, cluster: str, stacks: tuple[Stack, ...]) -> tuple[EksAddon, ...]:
    """The cluster's EKS managed add-ons, each with the config stack that declares it
    (``AWS::EKS::Addon``); empty when the endpoint lacks the add-on API."""
    subject = f"EKS cluster {cluster}"
    try:
        names = {
            name
            for page in aws.eks.get_paginator("list_addons").paginate(clusterName=cluster)
            for name in page.get("addons", [])
        }
    except (ClientError, ResponseParserError) as err:
        _lacks_api(err, subject, "ListAddons")
        return ()
    found = []
    for name in sorted(names):  # one call per add-on: a handful per cluster
        with aws_errors(f"EKS add-on {name} ({subject})", "DescribeAddon"):
            raw = aws.eks.describe_addon(clusterName=cluster, addonName=name)["addon"]
        found.append(
            EksAddon(
                name=name,
                version=raw.get("addonVersion", ""),
                status=raw.get("status", ""),
                configuration_values=raw.get("configurationValues"),
                service_account_role_arn=raw.get("serviceAccountRoleArn"),
                stack=next(
                    (
                        s.name
                        for s in stacks
                        for r in s.resources_of(ADDON_TYPE)
                        if declares_addon(r.physical_id, name)
                    ),
                    None,
                ),
            )
        )
    return tuple(found)


def addon_versions(aws: Aws, addons: Iterable[str], minors: list[str]) -> tuple[AddonVersions, ...]:
    """``DescribeAddonVersions`` of each add-on named for each minor the plan may reach."""
    found = []
    for addon in addons:
        for minor in minors:
            versions: dict[str, bool] = {}
            with aws_errors(f"EKS add-on {addon}", "DescribeAddonVersions"):
                pages = aws.eks.get_paginator("describe_addon_versions").paginate(
                    addonName=addon, kubernetesVersion=minor
                )
                for page in pages:
                    for info in page.get("addons", []):
                        for v in info.get("addonVersions", []):
                            default = any(
                                c.get("defaultVersion") and c.get("clusterVersion") == minor
                                for c in v.get("compatibilities", [])
                            )
                            versions[v["addonVersion"]] = (
                                versions.get(v["addonVersion"], False) or default
                            )
            ordered = tuple(sorted(versions, key=version_key, reverse=True))
            found.append(
                AddonVersions(
                    addon=addon,
                    kubernetes=minor,
                    versions=ordered,
                    default=next((v for v in ordered if versions[v]), None),
                )
            )
    return tuple(found)


def fargate_profiles(aws: Aws, cluster: str) -> tuple[FargateProfile, ...]:
    """The cluster's Fargate profiles; empty when the endpoint lacks the Fargate API."""
    subject = f"EKS cluster {cluster}"
    try:
        names = {
            name
            for page in aws.eks.get_paginator("list_fargate_profiles").paginate(clusterName=cluster)
            for name in page.get("fargateProfileNames", [])
        }
    except (ClientError, ResponseParserError) as err:
        _lacks_api(err, subject, "ListFargateProfiles")
        return ()
    found = []
    for name in sorted(names):  # one call per profile: a handful per cluster
        with aws_errors(f"Fargate profile {name} ({subject})", "DescribeFargateProfile"):
            raw = aws.eks.describe_fargate_profile(clusterName=cluster, fargateProfileName=name)[
                "fargateProfile"
            ]
        found.append(
            FargateProfile(
                name=name,
                status=raw.get("status", ""),
                selectors=tuple(
                    FargateSelector(
                        namespace=sel.get("namespace", ""),
                        labels=tuple(sorted((sel.get("labels") or {}).items())),
                    )
                    for sel in raw.get("selectors", [])
                ),
                subnet_ids=tuple(sorted(raw.get("subnets", []))),
            )
        )
    return tuple(found)


def auto_scaling_groups(aws: Aws, names: list[str]) -> tuple[AutoScalingGroup, ...]:
    """The named groups that exist; sizes, launch template or configuration, instances."""
    wanted = sorted(set(filter(None, names)))
    groups = []
    paginator = aws.autoscaling.get_paginator("describe_auto_scaling_groups")
    for batch in batches(wanted, ASG_NAMES_MAX):
        with aws_errors(f"Auto Scaling groups {', '.join(batch)}", "DescribeAutoScalingGroups"):
            groups += [
                _asg(g)
                for page in paginator.paginate(AutoScalingGroupNames=batch)
                for g in page["AutoScalingGroups"]
            ]
    return tuple(sorted(groups, key=lambda g: g.name))


def _asg(raw: AutoScalingGroupTypeDef) -> AutoScalingGroup:
    template = raw.get("LaunchTemplate") or (
        raw.get("MixedInstancesPolicy", {})
        .get("LaunchTemplate", {})
        .get("LaunchTemplateSpecification", {})
    )
    return AutoScalingGroup(
        name=raw["AutoScalingGroupName"],
        min_size=raw["MinSize"],
        max_size=raw["MaxSize"],
        desired=raw["DesiredCapacity"],
        subnet_ids=tuple(sorted(filter(None, raw.get("VPCZoneIdentifier", "").split(",")))),
        instance_ids=tuple(sorted(i["InstanceId"] for i in raw.get("Instances", []))),
        launch_template_id=template.get("LaunchTemplateId"),
        launch_template_version=template.get("Version"),
        launch_configuration=raw.get("LaunchConfigurationName"),
        suspended_processes=tuple(
            sorted(
                p["ProcessName"] for p in raw.get("SuspendedProcesses", []) if "ProcessName" in p
            )
        ),
        tags=tuple(sorted((t.get("Key", ""), t.get("Value", "")) for t in raw.get("Tags", []))),
    )


def _tags(tags: list[TagTypeDef]) -> Pairs:
    return tuple(sorted((t.get("Key", ""), t.get("Value", "")) for t in tags))


def _ec2_items(
    aws: Aws, operation: str, action: str, key: str, filter_name: str, values: list[str]
) -> Iterator[Any]:
    """Items under ``key`` of every page of an EC2 describe call filtered on ``filter_name``,
    200 filter values per request: the calls grow with pages, not with the values."""
    paginator: Any = aws.ec2.get_paginator(operation)  # type: ignore[call-overload]
    for batch in batches(sorted(set(values)), FILTER_VALUES_MAX):
        filters: list[FilterTypeDef] = [{"Name": filter_name, "Values": batch}]
        with aws_errors(f"EC2 {filter_name} {', '.join(batch)}", action):
            for page in paginator.paginate(Filters=filters):
                yield from page[key]


def instances(aws: Aws, instance_ids: list[str]) -> tuple[Instance, ...]:
    """The instances among ``instance_ids`` that EC2 still knows, 200 IDs per request."""
    found = []
    reservations = _ec2_items(
        aws,
        "describe_instances",
        "DescribeInstances",
        "Reservations",
        "instance-id",
        instance_ids,
    )
    for reservation in reservations:
        for raw in reservation.get("Instances", []):
            tags = _tags(raw.get("Tags", []))
            found.append(
                Instance(
                    instance_id=raw["InstanceId"],
                    instance_type=raw.get("InstanceType", ""),
                    state=raw.get("State", {}).get("Name", ""),
                    az=raw.get("Placement", {}).get("AvailabilityZone", ""),
                    subnet_id=raw.get("SubnetId", ""),
                    private_ip=raw.get("PrivateIpAddress", ""),
                    private_dns_name=raw.get("PrivateDnsName", ""),
                    image_id=raw.get("ImageId", ""),
                    launch_time=_iso(raw.get("LaunchTime")),
                    asg_name=dict(tags).get(ASG_TAG),
                    tags=tags,
                )
            )
    return tuple(sorted(found, key=lambda i: i.instance_id))


def _iso(value: object) -> str:
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value or "")


def subnets(aws: Aws, subnet_ids: list[str]) -> tuple[Subnet, ...]:
    """The named subnets with their free address counts; unknown IDs are left out."""
    found = [
        Subnet(
            subnet_id=raw["SubnetId"],
            name=dict(_tags(raw.get("Tags", []))).get("Name") or raw["SubnetId"],
            az=raw.get("AvailabilityZone", ""),
            cidr=raw.get("CidrBlock", ""),
            available_ips=int(raw.get("AvailableIpAddressCount", 0)),
            vpc_id=raw.get("VpcId", ""),
        )
        for raw in _ec2_items(
            aws, "describe_subnets", "DescribeSubnets", "Subnets", "subnet-id", subnet_ids
        )
    ]
    return tuple(sorted(found, key=lambda s: s.subnet_id))


def enis(aws: Aws, subnet_ids: list[str]) -> tuple[Eni, ...]:
    """Every ENI in the subnets, attached or not (leaked ENIs are ``available``)."""
    found = [
        Eni(
            eni_id=raw["NetworkInterfaceId"],
            subnet_id=raw.get("SubnetId", ""),
            status=raw.get("Status", ""),
            description=raw.get("Description", ""),
            instance_id=raw.get("Attachment", {}).get("InstanceId"),
            addresses=len(raw.get("PrivateIpAddresses", [])),
            prefixes=len(raw.get("Ipv4Prefixes", [])),
        )
        for raw in _ec2_items(
            aws,
            "describe_network_interfaces",
            "DescribeNetworkInterfaces",
            "NetworkInterfaces",
            "subnet-id",
            subnet_ids,
        )
    ]
    return tuple(sorted(found, key=lambda e: e.eni_id))


def ssm_parameters(aws: Aws, names: list[str]) -> Pairs:
    """``(name, value)`` of the parameters that exist; missing ones are simply absent."""
    values: dict[str, str] = {}
    for batch in batches(sorted(set(names)), SSM_NAMES_MAX):
        with aws_errors(f"SSM parameters {', '.join(batch)}", "GetParameters"):
            response = aws.ssm.get_parameters(Names=batch)
        for parameter in response.get("Parameters", []):
            values[parameter["Name"]] = parameter.get("Value", "")
    return tuple(sorted(values.items()))


def upgrade_insights(aws: Aws, cluster: str, versions: list[str]) -> UpgradeInsights:
    """ListInsights (UPGRADE_READINESS, for ``versions``), then DescribeInsight of each.

    An endpoint without the insights API (older regions, emulators) gives ``unavailable``
    saying so, never an error. No version to go to: nothing to ask.
    """
    if not versions:
        return NO_INSIGHTS
    subject = f"EKS cluster {cluster}"
    try:
        summaries = [
            i
            for page in aws.eks.get_paginator("list_insights").paginate(
                clusterName=cluster,
                filter={"categories": [CATEGORY], "kubernetesVersions": sorted(set(versions))},
            )
            for i in page.get("insights", [])
        ]
    except (ClientError, ResponseParserError) as err:
        if isinstance(err, ClientError) and error_code(err) in ACCESS_CODES:
            # an optional read: the plan goes on, and INS001 says what it could not check
            return UpgradeInsights(
                unavailable=f"the credentials may not call eks:ListInsights ({error_code(err)}); "
                "grant eks:ListInsights and eks:DescribeInsight to see EKS's upgrade insights"
            )
        _lacks_api(err, subject, "ListInsights")
        answer = error_code(err) if isinstance(err, ClientError) else "an answer not like EKS's"
        return UpgradeInsights(
            unavailable=f"the EKS endpoint answered ListInsights with {answer}: it has no "
            "upgrade insights API (older regions and emulators lack it)"
        )
    found = []
    for summary in sorted(summaries, key=lambda s: s.get("id", "")):  # few per cluster
        raw: Any = summary
        try:
            raw = aws.eks.describe_insight(clusterName=cluster, id=summary["id"])["insight"]
        except ClientError as err:
            if not is_not_found(err):  # gone since the list: its summary is all there is
                with aws_errors(
                    f"EKS insight {summary['id']} of cluster {cluster}", "DescribeInsight"
                ):
                    raise
        found.append(_insight(raw))
    return UpgradeInsights(insights=ordered(found))


def _status(raw: Any) -> tuple[InsightStatus, str]:
    status = raw.get("insightStatus") or {}
    value = str(status.get("status", ""))
    known = value if value in InsightStatus.__members__ else InsightStatus.UNKNOWN
    return InsightStatus(known), str(status.get("reason", ""))


def _insight(raw: Any) -> Insight:
    """One DescribeInsight (or ListInsights summary) answer as a record."""
    status, reason = _status(raw)
    summary = raw.get("categorySpecificSummary") or {}
    return Insight(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        kubernetes_version=str(raw.get("kubernetesVersion", "")),
        status=status,
        reason=reason,
        description=str(raw.get("description", "")),
        recommendation=str(raw.get("recommendation", "")),
        deprecations=tuple(
            sorted(
                (
                    Deprecation(
                        usage=str(d.get("usage", "")),
                        replaced_with=str(d.get("replacedWith", "")),
                        stop_serving_version=str(d.get("stopServingVersion", "")),
                        start_serving_replacement_version=str(
                            d.get("startServingReplacementVersion", "")
                        ),
                        clients=tuple(
                            sorted(
                                (
                                    ClientStat(
                                        user_agent=str(c.get("userAgent", "")),
                                        requests_last_30_days=int(
                                            c.get("numberOfRequestsLast30Days", 0)
                                        ),
                                        last_request_time=_iso(c.get("lastRequestTime")),
                                    )
                                    for c in d.get("clientStats", [])
                                ),
                                key=lambda c: c.user_agent,
                            )
                        ),
                    )
                    for d in summary.get("deprecationDetails", [])
                ),
                key=lambda d: (d.usage, d.replaced_with),
            )
        ),
        resources=tuple(
            sorted(
                (
                    InsightResource(
                        name=str(r.get("arn") or r.get("kubernetesResourceUri", "")),
                        status=_status(r)[0],
                        reason=_status(r)[1],
                    )
                    for r in raw.get("resources", [])
                ),
                key=lambda r: r.name,
            )
        ),
        links=tuple(sorted((str(k), str(v)) for k, v in (raw.get("additionalInfo") or {}).items())),
        last_refresh_time=_iso(raw.get("lastRefreshTime")),
        last_transition_time=_iso(raw.get("lastTransitionTime")),
    )
