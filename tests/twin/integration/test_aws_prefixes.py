"""/28 prefixes in the EC2 twin, as boto3 sees them: listed on the ENI, counted out of the
subnet's AvailableIpAddressCount, never handed out again as single addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import boto3
import pytest

from ekstwin.aws import AwsError, AwsTwin, prefixes
from ekstwin.clock import VirtualClock

pytestmark = pytest.mark.integration

REGION = "us-west-2"


@pytest.fixture(scope="module")
def twin() -> Iterator[tuple[AwsTwin, str]]:
    made = AwsTwin(VirtualClock(speed=1.0), region=REGION)
    url = made.start()
    made.seed_eks_amis()
    yield made, url
    made.stop()


def test_prefixes_are_described_and_counted(twin: tuple[AwsTwin, str]) -> None:
    aws, url = twin
    ec2 = boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpc = aws.create_vpc("10.9.0.0/16", "pd")
    subnet = aws.create_subnet(vpc, "10.9.0.0/24", "us-west-2a", "pd-a")
    instance = ec2.run_instances(
        ImageId=aws.ami_for("1.13"), MinCount=1, MaxCount=1, SubnetId=subnet,
        InstanceType="r5.xlarge",
    )["Instances"][0]["InstanceId"]  # fmt: skip
    eni = aws.create_eni(subnet, f"aws-K8S-{instance}")
    aws.attach_eni(eni, instance, 1)
    blocks = prefixes.assign(aws, eni, 2)
    assert blocks == ["10.9.0.16/28", "10.9.0.32/28"]  # .0/28 holds AWS-reserved addresses
    described = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
    assert described["Ipv4Prefixes"] == [{"Ipv4Prefix": b} for b in blocks]
    free = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"]
    assert free == 251 - 2 - 32
    singles = aws.assign_ips(eni, 12)
    held = [ipaddress.ip_network(b) for b in blocks]
    assert not any(ipaddress.ip_address(ip) in net for ip in singles for net in held)
    with pytest.raises(AwsError) as full:
        prefixes.assign(aws, eni, 1)  # 12 IPs + 2 prefixes fill r5.xlarge's 14 slots
    assert full.value.code == "PrivateIpAddressLimitExceeded"
    prefixes.unassign(aws, eni, blocks[:1])
    aws.detach_eni(eni)
    aws.delete_eni(eni)
    free = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailableIpAddressCount"]
    assert free == 251 - 1
