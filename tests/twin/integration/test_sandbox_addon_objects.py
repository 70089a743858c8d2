"""A managed add-on owns its object in the sandbox's cluster, as on EKS: creating vpc-cni and
updating it to a newer version (resolveConflicts PRESERVE) points the aws-node DaemonSet at
the version's image, and the DaemonSet controller rolls every aws-node pod to it. Driven
over real HTTP only: boto3 for EKS, the official kubernetes client for the cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox, wait_for

pytestmark = pytest.mark.integration

CLUSTER = "modern"
ADDON = "vpc-cni"
NAMESPACE = "kube-system"
DAEMONSET = "aws-node"
CONTAINER = "aws-node"
INIT_CONTAINER = "aws-vpc-cni-init"
WAIT_SECONDS = 30.0
# a variable set through the configuration values (the manifest says DEBUG), and a label
# the user puts on the DaemonSet, which the update must keep
CONFIGURATION = json.dumps({"env": {"AWS_VPC_K8S_CNI_LOGLEVEL": "INFO"}})
USER_LABEL = ("team", "platform")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxClients]:
    yield from sandbox(tmp_path_factory, "modern")


def _tag(image: str) -> str:
    return image.rsplit(":", 1)[1]


def _container(daemonset: Any, name: str, init: bool = False) -> Any:
    spec = daemonset.spec.template.spec
    return next(c for c in (spec.init_containers if init else spec.containers) if c.name == name)


def _aws_node(live: SandboxClients) -> Any:
    return live.apps.read_namespaced_daemon_set(DAEMONSET, NAMESPACE)


def _versions(live: SandboxClients, minor: str) -> list[str]:
    found = live.eks.describe_addon_versions(kubernetesVersion=minor, addonName=ADDON)
    return [v["addonVersion"] for v in found["addons"][0]["addonVersions"]]


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.lstrip("v").split("-")[0].split("."))


def _active(live: SandboxClients) -> bool:
    addon = live.eks.describe_addon(clusterName=CLUSTER, addonName=ADDON)["addon"]
    return bool(addon["status"] == "ACTIVE")


def _rolled_out(live: SandboxClients, image: str) -> bool:
    """Every node runs one Running aws-node pod with ``image``, and the rollout is done."""
    ds = _aws_node(live)
    status = ds.status
    want = status.desired_number_scheduled
    if not (
        status.observed_generation == ds.metadata.generation
        and want == len(live.core.list_node().items)
        and status.updated_number_scheduled == want
        and status.number_available == want
    ):
        return False
    pods = live.core.list_namespaced_pod(NAMESPACE, label_selector="k8s-app=aws-node").items
    return len(pods) == want and all(
        p.status.phase == "Running"
        and p.metadata.deletion_timestamp is None
        and next(c.image for c in p.spec.containers if c.name == CONTAINER) == image
        for p in pods
    )


def test_vpc_cni_update_rolls_the_aws_node_daemonset(live: SandboxClients) -> None:
    minor = live.eks.describe_cluster(name=CLUSTER)["cluster"]["version"]
    assert minor == "1.31"
    before = _aws_node(live)
    image = _container(before, CONTAINER).image
    nodes = {n.metadata.name for n in live.core.list_node().items}
    assert nodes
    old_pods = {p.metadata.uid for p in _pods(live)}

    # the add-on at the release aws-node runs, then a newer one compatible with 1.31
    running = _tag(image)
    versions = _versions(live, minor)
    current = next(v for v in versions if v.split("-")[0] == running)
    newer = min((v for v in versions if _key(v) > _key(current)), key=_key)

    live.eks.create_addon(clusterName=CLUSTER, addonName=ADDON, addonVersion=current)
    wait_for(lambda: _active(live), f"{ADDON} to be ACTIVE", WAIT_SECONDS)
    wait_for(
        lambda: _tag(_container(_aws_node(live), CONTAINER).image) == current,
        "aws-node to take the add-on's image",
        WAIT_SECONDS,
    )
    live.apps.patch_namespaced_daemon_set(
        DAEMONSET, NAMESPACE, {"metadata": {"labels": dict([USER_LABEL])}}
    )

    update = live.eks.update_addon(
        clusterName=CLUSTER,
        addonName=ADDON,
        addonVersion=newer,
        resolveConflicts="PRESERVE",
        configurationValues=CONFIGURATION,
    )["update"]
    assert update["status"] == "InProgress"

    def finished() -> str | None:
        described = live.eks.describe_update(name=CLUSTER, updateId=update["id"], addonName=ADDON)[
            "update"
        ]
        return None if described["status"] == "InProgress" else str(described["status"])

    assert wait_for(finished, "the add-on update", WAIT_SECONDS) == "Successful"

    new_image = image.rsplit(":", 1)[0] + f":{newer}"
    wait_for(lambda: _rolled_out(live, new_image), "aws-node pods on the new image", WAIT_SECONDS)

    after = _aws_node(live)
    container = _container(after, CONTAINER)
    assert container.image == new_image
    assert _tag(_container(after, INIT_CONTAINER, init=True).image) == newer
    env = {e.name: e.value for e in container.env if e.value is not None}
    assert env["AWS_VPC_K8S_CNI_LOGLEVEL"] == "INFO"
    assert env["WARM_ENI_TARGET"] == "1"  # the scenario's own setting stays
    assert after.metadata.labels[USER_LABEL[0]] == USER_LABEL[1]  # so does the user's label
    assert after.metadata.generation > before.metadata.generation
    pods = _pods(live)
    assert {p.spec.node_name for p in pods} == nodes
    assert not old_pods & {p.metadata.uid for p in pods}  # new pods, the old ones deleted
    assert any(f.manager == "eks" for f in after.metadata.managed_fields or [])

    # the other add-ons' objects were not touched
    proxy = live.apps.read_namespaced_daemon_set("kube-proxy", NAMESPACE)
    assert proxy.metadata.generation == 1


def _pods(live: SandboxClients) -> list[Any]:
    return list(live.core.list_namespaced_pod(NAMESPACE, label_selector="k8s-app=aws-node").items)
