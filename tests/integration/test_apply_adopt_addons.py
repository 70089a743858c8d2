"""``addons.adopt`` on the twin: Modern (1.31 -> 1.32) runs vpc-cni and kube-proxy
self-managed; with both listed, one plan and one apply create them as EKS managed add-ons
first (CreateAddon, OVERWRITE, vpc-cni carrying the config's cni.env as configurationValues)
and then update them as managed add-ons for 1.32, never through manifests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox

pytestmark = pytest.mark.integration
CLUSTER = "modern"
PDBS = "/apis/policy/v1/poddisruptionbudgets"


@pytest.fixture
def modern(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from sandbox(tmp_path_factory, "modern", Cluster)


def test_self_managed_addons_are_adopted_then_updated_as_managed(modern: Cluster) -> None:
    c = modern
    assert c.eks.list_addons(clusterName=CLUSTER)["addons"] == []
    doc = yaml.safe_load(c.running.config.read_text())
    doc["addons"] = {"adopt": ["vpc-cni", "kube-proxy"]}
    c.running.config.write_text(yaml.safe_dump(doc))
    env = doc["cni"]["env"]

    _, _, watcher = c.planned(PDBS)
    plan = yaml.safe_load(c.plan_file.read_text())
    adopt = [s for s in plan["steps"] if s["kind"] == "managed-addon-adopt"]
    assert [s["params"]["addon"] for s in adopt] == ["kube-proxy", "vpc-cni"]
    assert [s["id"] for s in plan["steps"][:2]] == ["adopt-kube-proxy", "adopt-vpc-cni"]
    cni = adopt[1]["params"]
    assert cni["resolve_conflicts"] == "OVERWRITE"
    assert cni["configuration_values"] == json.dumps(
        {"env": env}, sort_keys=True, separators=(",", ":")
    )
    assert not [s for s in plan["steps"] if s["kind"] in ("cni", "kube-proxy")]
    updates = [s for s in plan["steps"] if s["kind"] == "managed-addon"]

    code, _, stderr = c.apply()
    watcher.finish()
    assert code == 0, stderr
    assert c.eks.describe_cluster(name=CLUSTER)["cluster"]["version"] == "1.32"
    requests = c.aws_requests()
    created = [r for r in requests if r["action"] == "CreateAddon"]
    assert len(created) == 2
    assert len([r for r in requests if r["action"] == "UpdateAddon"]) == len(updates)
    for name in ("vpc-cni", "kube-proxy"):
        addon = c.eks.describe_addon(clusterName=CLUSTER, addonName=name)["addon"]
        steps = [s for s in plan["steps"] if s["kind"].startswith("managed-addon")]
        final = [s for s in steps if s["params"]["addon"] == name][-1]["params"]["to"]
        assert (addon["addonVersion"], addon["status"]) == (final, "ACTIVE")
    addon = c.eks.describe_addon(clusterName=CLUSTER, addonName="vpc-cni")["addon"]
    assert addon["configurationValues"] == cni["configuration_values"]  # byte for byte
    ds = c.apps.read_namespaced_daemon_set("aws-node", "kube-system")
    container = ds.spec.template.spec.containers[0]
    assert container.image.endswith(":" + plan["to"]["cni"])
    running = {e.name: e.value for e in container.env or []}
    assert all(running.get(k) == v for k, v in env.items())
    assert watcher.errors == [] and watcher.violations == [] and watcher.lost == []
    assert c.journal()["complete"]
