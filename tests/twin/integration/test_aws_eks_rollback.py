"""EKS version rollback as the EKS user guide describes it, through boto3 over real HTTP:
``UpdateClusterVersion`` to the previous minor within 7 days of an in-place upgrade is a
``VersionRollback`` restoring the old platform version; a cluster not upgraded from that
minor, a closed window, a node whose kubelet is newer (unless ``force``) and a timeout
outside 120..10080 minutes are refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.twin.integration.test_aws_twin import ROLE, World

pytestmark = pytest.mark.integration
UPDATE_SECONDS = 41 * 60


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = World()
    yield made
    made.twin.stop()


def _upgraded(world: World, name: str) -> Any:
    eks = world.client("eks")
    a, b = world.subnets()
    eks.create_cluster(
        name=name, version="1.30", roleArn=ROLE, resourcesVpcConfig={"subnetIds": [a, b]}
    )
    eks.update_cluster_version(name=name, version="1.31")
    world.later(UPDATE_SECONDS)
    return eks


def _refused(call: Any, **kwargs: object) -> str:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    return str(refused.value.response["Error"]["Message"])


def test_a_rollback_within_the_window_restores_the_previous_minor(world: World) -> None:
    eks = _upgraded(world, "back")
    before = eks.describe_cluster(name="back")["cluster"]
    update = eks.update_cluster_version(
        name="back", version="1.30", rollbackConfig={"timeoutMinutes": 120}
    )["update"]
    assert (update["type"], update["status"]) == ("VersionRollback", "InProgress")
    world.later(UPDATE_SECONDS)
    after = eks.describe_cluster(name="back")["cluster"]
    assert (after["version"], after["status"]) == ("1.30", "ACTIVE")
    assert after["platformVersion"] != before["platformVersion"]
    # only one minor back, and only to where an in-place upgrade came from
    message = _refused(eks.update_cluster_version, name="back", version="1.29")
    assert "was not upgraded from 1.29 to 1.30" in message


def test_a_closed_window_and_a_bad_timeout_are_refused(world: World) -> None:
    eks = _upgraded(world, "late")
    message = _refused(
        eks.update_cluster_version,
        name="late",
        version="1.30",
        rollbackConfig={"timeoutMinutes": 60},
    )
    assert message == "rollbackConfig.timeoutMinutes must be between 120 and 10080"
    world.later(8 * 24 * 3600)
    message = _refused(eks.update_cluster_version, name="late", version="1.30")
    assert "completed more than 7 days ago" in message
    assert eks.describe_cluster(name="late")["cluster"]["version"] == "1.31"


def test_a_node_newer_than_the_target_blocks_unless_forced(world: World) -> None:
    eks = _upgraded(world, "skewed")
    a, _ = world.subnets()
    world.client("ec2").run_instances(
        ImageId=world.twin.ami_for("1.31"),
        MinCount=1,
        MaxCount=1,
        InstanceType="m5.large",
        SubnetId=a,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": "kubernetes.io/cluster/skewed", "Value": "owned"}],
            }
        ],
    )
    message = _refused(eks.update_cluster_version, name="skewed", version="1.30")
    assert message.startswith("Rollback readiness check failed: nodes run a kubelet newer")
    assert "(kubelet 1.31)" in message
    update = eks.update_cluster_version(name="skewed", version="1.30", force=True)["update"]
    assert update["type"] == "VersionRollback"
