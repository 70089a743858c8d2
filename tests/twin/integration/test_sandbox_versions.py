"""Every Kubernetes minor the catalog knows, 1.12 to 1.33, comes up in the twin with the
VPC CNI EKS recommends for it: EKS reports the version, every node is Ready with a kubelet
of that minor (AL2 up to 1.32, AL2023 from 1.33), aws-node runs the release, and every pod
runs on an address ipamd took from the subnet. Managed node groups from 1.14, where EKS
has them; self-managed ones throughout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox_clients import SandboxClients, sandbox
from upgrader.catalog.versions import catalog

pytestmark = pytest.mark.integration

MINORS = [f"1.{m}" for m in range(12, 34)]
SCENARIO = """\
name: v{slug}
region: us-east-2
kubernetes: "{minor}"
cni: {{version: {cni}, env: {{WARM_ENI_TARGET: "1"}}}}
subnets:
  - {{name: a, az: us-east-2a, cidr: 10.30.0.0/24}}
  - {{name: b, az: us-east-2b, cidr: 10.30.1.0/24}}
control_plane_subnets: [a, b]
nodegroups:
  - {{name: workers, kind: {kind}, instance_type: m5.large, desired: 1, subnets: [a, b]}}
workloads:
  - namespace: app
    name: web
    replicas: 3
    cpu: 100m
    memory: 128Mi
    pdb: {{max_unavailable: 1}}
target: {{kubernetes: "{target}", cni: {target_cni}}}
"""


def _scenario(directory: Path, minor: str) -> str:
    release = catalog().kubernetes(minor)
    target = catalog().next_minor(minor)
    assert target is not None
    kind = "managed" if int(minor.split(".")[1]) >= 14 else "self-managed"
    path = directory / f"v{minor.replace('.', '-')}.yaml"
    path.write_text(
        SCENARIO.format(
            slug=minor.replace(".", "-"),
            minor=minor,
            cni=release.cni,
            kind=kind,
            target=target.minor_str,
            target_cni=catalog().kubernetes(target).cni,
        )
    )
    return str(path)


@pytest.fixture(params=MINORS)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, SandboxClients]]:
    minor = str(request.param)
    path = _scenario(tmp_path_factory.mktemp("scenarios"), minor)
    for clients in sandbox(tmp_path_factory, path):
        yield minor, clients


def test_every_catalog_minor_comes_up(live: tuple[str, SandboxClients]) -> None:
    minor, clients = live
    cluster = clients.eks.describe_cluster(name=f"v{minor.replace('.', '-')}")["cluster"]
    assert cluster["version"] == minor
    nodes = clients.core.list_node().items
    assert nodes
    for node in nodes:
        assert node.status.node_info.kubelet_version.startswith(f"v{minor}."), node.metadata.name
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready and ready[0].status == "True", node.metadata.name
    image = "amazon-linux-2023" if minor == "1.33" else "Amazon Linux 2"
    assert all(
        image.replace("-", " ").lower() in n.status.node_info.os_image.lower() for n in nodes
    )
    aws_node = clients.apps.read_namespaced_daemon_set("aws-node", "kube-system")
    cni = str(catalog().kubernetes(minor).cni)
    assert aws_node.spec.template.spec.containers[0].image.endswith(f":{cni}")
    pods = clients.core.list_namespaced_pod("app").items
    assert len(pods) == 3
    assert all(p.status.phase == "Running" and p.status.pod_ip for p in pods)
