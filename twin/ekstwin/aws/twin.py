"""The AWS twin: moto in-process plus the extensions that make it answer like AWS.

Virtual time: the twin schedules its long operations (control-plane updates, rolling
updates) on the :class:`VirtualClock`; it runs no tick thread of its own. The sandbox
daemon calls ``clock.run_due()`` every ~20 ms; tests call ``clock.advance()`` and then
``clock.run_due()``.
"""

from __future__ import annotations

import base64
import json
import math
import threading
from typing import Any

from moto.autoscaling.models import autoscaling_backends
from moto.cloudformation.models import cloudformation_backends
from moto.core.exceptions import ServiceException
from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import Ami
from moto.eks.exceptions import EKSError
from moto.eks.models import eks_backends
from moto.iam.models import iam_backends
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.models import moto_api_backend
from moto.ssm.models import ssm_backends

from ekstwin.aws import (
    addresses,
    amis,
    cluster_ca,
    eks_resources,
    patches,
    ssm_public,
    stack_updates,
)
from ekstwin.aws.errors import AwsError
from ekstwin.aws.requestlog import RequestLog
from ekstwin.aws.server import TwinApp, TwinServer
from ekstwin.aws.state import TwinState, activate, deactivate, epoch
from ekstwin.aws.views import EniView, InstanceView, TwinHooks
from ekstwin.clock import VirtualClock
from upgrader.catalog.versions import catalog

TAKEN_PER_ENI = 49  # addresses one "other tenant" ENI holds (1 primary + 48 secondary)


def _aws_error(error: Exception) -> AwsError:
    if isinstance(error, EKSError):
        return AwsError(str(error.TYPE), json.loads(error.description).get("message", ""))
    if isinstance(error, ServiceException):
        return AwsError(str(error.code), str(error.message))
    raise error


def _decoded(user_data: Any) -> str:
    """An instance's user data as text: moto keeps it base64-encoded, and an instance of a
    launch configuration's twice (AWS decodes it once, as the instance reads it)."""
    if user_data is None:
        return ""
    try:
        text = str(user_data.decode()) if hasattr(user_data, "decode") else str(user_data)
    except ValueError:
        return ""
    if text and not any(c.isspace() for c in text):
        try:
            return base64.b64decode(text, validate=True).decode()
        except ValueError:
            return text
    return text


class AwsTwin:
    """moto + extensions behind one HTTP endpoint; see DESIGN.md §8."""

    def __init__(
        self,
        clock: VirtualClock,
        *,
        region: str,
        account_id: str = "123456789012",
        control_plane_update_seconds: float = 40 * 60,
        kube_endpoint: str = "",
        kube_ca_data: str = "",
    ) -> None:
        patches.install()
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.hooks = TwinHooks()
        self._state = TwinState(
            clock=clock,
            account_id=account_id,
            region=region,
            hooks=self.hooks,
            control_plane_update_seconds=control_plane_update_seconds,
            kube_endpoint=kube_endpoint,
            # AWS: the cluster CA is a real certificate (a sandbox passes its own)
            kube_ca_data=kube_ca_data or cluster_ca.certificate_data(),
        )
        self.lock: threading.RLock = self._state.lock
        self.requests = RequestLog()
        self._server: TwinServer | None = None

    # lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Reset moto, start serving; returns the endpoint URL."""
        activate(self._state)
        with self.lock:
            moto_api_backend.reset()
            mock_random.seed(20190601)
        self._server = TwinServer(TwinApp(self._state, self.requests), host, port)
        self._server.start()
        return self._server.url

    def stop(self) -> None:
        """Stop serving, clear moto's (process-global) state and release the twin slot."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            with self.lock:
                moto_api_backend.reset()
        deactivate(self._state)

    # backends (moto objects; take ``lock`` to mutate them)

    @property
    def ec2(self) -> Any:
        return ec2_backends[self.account_id][self.region]

    @property
    def autoscaling(self) -> Any:
        return autoscaling_backends[self.account_id][self.region]

    @property
    def cloudformation(self) -> Any:
        return cloudformation_backends[self.account_id][self.region]

    @property
    def eks(self) -> Any:
        return eks_backends[self.account_id][self.region]

    @property
    def ssm(self) -> Any:
        return ssm_backends[self.account_id][self.region]

    @property
    def iam(self) -> Any:
        return iam_backends[self.account_id]["global"]

    # AMIs

    def seed_eks_amis(self) -> None:
        """Register an EKS-optimised AMI per catalog version and family, and their SSM paths."""
        with self.lock:
            ec2, ssm = self.ec2, self.ssm
            for release in catalog().releases:
                minor = release.version.minor_str
                for family, path in release.ami_ssm_parameters:
                    image = amis.ami_id(minor, family)
                    if image not in ec2.amis:
                        ec2.amis[image] = Ami(
                            ec2,
                            image,
                            name=amis.image_name(minor, family),
                            description=f"EKS Kubernetes Worker AMI with AmazonLinux "
                            f"({family}) image, (k8s: {release.kube_proxy.lstrip('v')})",
                            owner_id="602401143452",
                            public=True,
                            virtualization_type="hvm",
                            architecture="x86_64",
                            root_device_type="ebs",
                            root_device_name="/dev/xvda",
                            hypervisor="xen",
                            region_name=self.region,
                        )
                    ssm_public.seed_recommended(
                        ssm,
                        self.account_id,
                        path,
                        image_id=image,
                        image_name=amis.image_name(minor, family),
                        release_version=amis.release_version(release.kube_proxy),
                        now=self._state.now(),
                    )

    def ami_for(self, kubernetes_minor: str) -> str:
        """The EKS AMI (default family of that version) for ``kubernetes_minor``."""
        release = catalog().kubernetes(kubernetes_minor)
        return amis.ami_id(release.version.minor_str, release.default_ami_family)

    def kubernetes_minor_of_ami(self, image_id: str) -> str | None:
        """The kubelet minor of nodes launched from ``image_id`` (None if not an EKS AMI)."""
        return amis.minor_of(image_id)

    def ami_family_of(self, image_id: str) -> str:
        """The OS family of nodes launched from ``image_id`` (AL2 for images not the twin's)."""
        return amis.family_of(image_id) or amis.FAMILIES[0]

    # networks

    def create_vpc(self, cidr: str, name: str) -> str:
        with self.lock:
            vpc = self.ec2.create_vpc(cidr)
            vpc.enable_dns_hostnames = True
            vpc.add_tag("Name", name)
            return str(vpc.id)

    def create_subnet(
        self, vpc_id: str, cidr: str, az: str, name: str, tags: dict[str, str] | None = None
    ) -> str:
        with self.lock:
            subnet = self.ec2.create_subnet(vpc_id, cidr, availability_zone=az)
            subnet.add_tags({"Name": name, **(tags or {})})
            return str(subnet.id)

    def create_security_group(self, vpc_id: str, name: str, description: str) -> str:
        with self.lock:
            group = self.ec2.create_security_group(name, description, vpc_id=vpc_id)
            group.add_tag("Name", name)
            return str(group.id)

    def create_key_pair(self, name: str) -> str:
        """CreateKeyPair (an existing pair of that name is kept); the key name."""
        with self.lock:
            if name not in self.ec2.key_pairs:
                self.ec2.create_key_pair(name, key_type="rsa", tags={})
            return name

    def take_addresses(
        self, subnet_id: str, count: int, description: str = "used by other tenants"
    ) -> list[str]:
        """Hold ``count`` addresses of the subnet in unattached ENIs (scenario ``used``)."""
        taken: list[str] = []
        with self.lock:
            for _ in range(math.ceil(count / TAKEN_PER_ENI)):
                size = min(TAKEN_PER_ENI, count - len(taken))
                eni = self._call(
                    lambda size=size: self.ec2.create_network_interface(
                        subnet_id, None, description=description, secondary_ips_count=size - 1
                    )
                )
                taken.extend(a["PrivateIpAddress"] for a in eni.private_ip_addresses)
        return taken

    def subnet_free(self, subnet_id: str) -> int:
        """AvailableIpAddressCount of the subnet."""
        with self.lock:
            return addresses.free_count(self.ec2.get_subnet(subnet_id))

    # CloudFormation

    def deploy_stack(
        self,
        name: str,
        template_body: str,
        parameters: dict[str, str],
        tags: dict[str, str] | None = None,
    ) -> str:
        """CreateStack (complete when it returns); the stack id."""
        with self.lock:
            stack = self._call(
                lambda: self.cloudformation.create_stack(
                    name=name, template=template_body, parameters=parameters, tags=tags or {}
                )
            )
            if stack.status != "CREATE_COMPLETE":
                raise AwsError("ValidationError", f"stack {name} ended {stack.status}")
            return str(stack.stack_id)

    # EC2 views

    def instances(self, *, running: bool = False) -> list[InstanceView]:
        """Every instance (terminated ones included), in launch order; only the running
        ones with ``running`` (the tick loop's callers: terminated ones pile up in a roll)."""
        with self.lock:
            views = []
            for instance in self.ec2.all_instances():
                if running and instance.state != "running":
                    continue
                group = getattr(instance, "autoscaling_group", None)
                views.append(
                    InstanceView(
                        instance_id=instance.id,
                        state=instance.state,
                        instance_type=instance.instance_type,
                        image_id=instance.image_id,
                        subnet_id=instance.subnet_id or "",
                        az=instance.placement.zone or "",
                        private_ip=instance.private_ip or "",
                        private_dns_name=instance.private_dns_name,
                        launch_time=float(
                            getattr(instance, "twin_launch_time", epoch(instance.launch_time))
                        ),
                        # moto's tag table itself: get_tags() scans every tag of the region
                        tags=dict(self.ec2.tags.get(instance.id, {})),
                        asg_name=group.name if group is not None else None,
                        user_data=_decoded(instance.user_data),
                    )
                )
            return views

    # ipamd primitives

    def create_eni(self, subnet_id: str, description: str, secondary_ips: int = 0) -> str:
        with self.lock:
            eni = self._call(
                lambda: self.ec2.create_network_interface(
                    subnet_id, None, description=description, secondary_ips_count=secondary_ips
                )
            )
            return str(eni.id)

    def attach_eni(
        self, eni_id: str, instance_id: str, device_index: int, delete_on_termination: bool = True
    ) -> None:
        with self.lock:
            self._call(lambda: self.ec2.attach_network_interface(eni_id, instance_id, device_index))
            self.ec2.get_network_interface(eni_id).delete_on_termination = delete_on_termination

    def assign_ips(self, eni_id: str, count: int) -> list[str]:
        with self.lock:
            eni = self.ec2.enis.get(eni_id)
            before = {a["PrivateIpAddress"] for a in eni.private_ip_addresses} if eni else set()
            eni = self._call(
                lambda: self.ec2.assign_private_ip_addresses(eni_id, secondary_ips_count=count)
            )
            return [
                a["PrivateIpAddress"]
                for a in eni.private_ip_addresses
                if a["PrivateIpAddress"] not in before
            ]

    def unassign_ips(self, eni_id: str, ips: list[str]) -> None:
        with self.lock:
            self._call(lambda: self.ec2.unassign_private_ip_addresses(eni_id, ips))

    def detach_eni(self, eni_id: str) -> None:
        with self.lock:
            eni = self._call(lambda: self.ec2.get_network_interface(eni_id))
            if eni.attachment_id is None:
                raise AwsError(
                    "IncorrectState", f"The network interface '{eni_id}' is not attached."
                )
            self._call(lambda: self.ec2.detach_network_interface(eni.attachment_id))

    def delete_eni(self, eni_id: str) -> None:
        with self.lock:
            eni = self._call(lambda: self.ec2.get_network_interface(eni_id))
            if eni.instance is not None:
                raise AwsError(
                    "InvalidParameterValue", f"Network interface '{eni_id}' is currently in use."
                )
            self._call(eni.delete)

    def eni_address(self, eni_id: str) -> tuple[str, str]:
        """An ENI's primary private address and its subnet's AZ."""
        with self.lock:
            eni = self._call(lambda: self.ec2.get_network_interface(eni_id))
            return str(eni.private_ip_address), str(eni.subnet.availability_zone)

    # Fargate

    def create_fargate_profile(
        self, cluster: str, name: str, namespaces: tuple[str, ...], subnet_ids: tuple[str, ...]
    ) -> None:
        """A Fargate profile selecting ``namespaces`` (as CreateFargateProfile makes it)."""
        with self.lock:
            self._call(
                lambda: self.eks.create_fargate_profile(
                    fargate_profile_name=name,
                    cluster_name=cluster,
                    selectors=[{"namespace": n} for n in namespaces],
                    pod_execution_role_arn=(
                        f"arn:aws:iam::{self.account_id}:role/{cluster}-fargate-pods"
                    ),
                    subnets=list(subnet_ids),
                )
            )

    def fargate_profiles(self, cluster: str) -> list[dict[str, Any]]:
        """The cluster's ACTIVE Fargate profiles: name, subnets and selectors."""
        with self.lock:
            found = self.eks.clusters.get(cluster)
            profiles = found.fargate_profiles.values() if found is not None else ()
            return [
                {
                    "name": p.fargate_profile_name,
                    "subnets": list(p.subnets),
                    "selectors": [dict(s) for s in p.selectors],
                }
                for p in profiles
                if p.status == "ACTIVE"
            ]

    def enis_of(self, instance_id: str) -> list[EniView]:
        """The instance's ENIs by device index."""
        with self.lock:
            instance = self._call(lambda: self.ec2.get_instance(instance_id))
            return [
                EniView(
                    eni_id=eni.id,
                    subnet_id=eni.subnet.id,
                    device_index=int(index),
                    primary_ip=str(eni.private_ip_address),
                    secondary_ips=tuple(
                        a["PrivateIpAddress"]
                        for a in eni.private_ip_addresses
                        if not a.get("Primary")
                    ),
                    description=eni.description,
                    status=eni.status,
                )
                for index, eni in sorted(instance.nics.items())
            ]

    # EKS

    def finish_nodegroup_update(self, cluster: str, nodegroup: str) -> None:
        """The Kubernetes side replaced the nodegroup's nodes: mark its update done."""
        with self.lock:
            eks_resources.finish_nodegroup_update(self._state, cluster, nodegroup)
        self._state.flush()

    def update_stack_in_process(
        self, name: str, template_body: str, parameters: dict[str, str]
    ) -> None:
        """UpdateStack without HTTP (the world builder's shortcut)."""
        with self.lock:
            stack = self._call(lambda: self.cloudformation.get_stack(name))
            self._call(
                lambda: stack_updates.run_update(
                    stack, template_body, parameters, refuse_no_op=True
                )
            )
        self._state.flush()

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except (ServiceException, EKSError) as error:
            raise _aws_error(error) from error
