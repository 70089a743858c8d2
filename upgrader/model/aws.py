"""AWS side of a cluster as discovered: EKS, subnets, ENIs, instances, ASGs, stacks."""

from __future__ import annotations

from dataclasses import dataclass

Pairs = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: tags, parameters, env


@dataclass(frozen=True, slots=True, kw_only=True)
class EksCluster:
    name: str
    version: str  # "1.12"
    platform_version: str
    status: str  # ACTIVE, UPDATING, ...
    endpoint: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...] = ()
    updates_in_progress: tuple[str, ...] = ()
    certificate_authority: str = ""  # certificateAuthority.data (base64 PEM)
    service_cidr: str = ""  # kubernetesNetworkConfig.serviceIpv4Cidr


@dataclass(frozen=True, slots=True, kw_only=True)
class Subnet:
    subnet_id: str
    name: str  # the Name tag, or the ID when untagged
    az: str
    cidr: str
    available_ips: int
    vpc_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Eni:
    eni_id: str
    subnet_id: str
    status: str  # in-use | available
    description: str
    instance_id: str | None
    addresses: int  # primary + secondary IPv4 addresses it holds
    prefixes: int = 0  # /28 prefixes it holds (prefix delegation)


@dataclass(frozen=True, slots=True, kw_only=True)
class Instance:
    instance_id: str
    instance_type: str
    state: str
    az: str
    subnet_id: str
    private_ip: str
    private_dns_name: str
    image_id: str
    launch_time: str  # ISO 8601 as EC2 reports it
    asg_name: str | None = None
    tags: Pairs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoScalingGroup:
    name: str
    min_size: int
    max_size: int
    desired: int
    subnet_ids: tuple[str, ...]
    instance_ids: tuple[str, ...]
    launch_template_id: str | None = None
    launch_template_version: str | None = None
    launch_configuration: str | None = None
    suspended_processes: tuple[str, ...] = ()
    tags: Pairs = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeSet:
    name: str
    change_set_id: str
    status: str
    execution_status: str
    description: str = ""

    @property
    def created_by_upgrader(self) -> bool:
        return self.name.startswith("upgrader-")


@dataclass(frozen=True, slots=True, kw_only=True)
class StackResource:
    logical_id: str
    resource_type: str
    physical_id: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Stack:
    name: str
    stack_id: str
    status: str
    parameters: Pairs
    resources: tuple[StackResource, ...]
    change_sets: tuple[ChangeSet, ...] = ()
    template_body: str = ""

    def parameter(self, key: str) -> str | None:
        return dict(self.parameters).get(key)

    def resources_of(self, resource_type: str) -> tuple[StackResource, ...]:
        return tuple(r for r in self.resources if r.resource_type == resource_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedNodegroup:
    name: str
    version: str
    release_version: str
    status: str
    asg_names: tuple[str, ...]
    subnet_ids: tuple[str, ...]
    instance_types: tuple[str, ...]
    desired: int
    min_size: int
    max_size: int
    ami_type: str = ""  # EKS AmiType (AL2_x86_64, AL2023_x86_64_STANDARD, CUSTOM, ...)
    launch_template: bool = False  # launches from a launch template of the user's
