"""EKS tokens against the twin: a stale one gets 401, and an apply that runs well over
an hour of virtual time with the product's own 15-minute tokens (no kubeconfig) succeeds,
the twin's request log showing many tokens, each refused once it expired and replaced."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime

import boto3
import pytest
import yaml

from tests.conftest import REPO
from tests.integration.apply_harness import Cluster, assert_upgraded, run_apply
from tests.support.sandbox_clients import sandbox, wait_for
from upgrader.adapters import eks_auth

pytestmark = pytest.mark.integration

SCENARIOS = REPO / "twin" / "ekstwin" / "scenarios"


@pytest.fixture
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Staging with the API server authenticating as EKS does (scenario ``auth: eks``)."""
    path = tmp_path_factory.mktemp("eks-auth") / "staging.yaml"
    path.write_text((SCENARIOS / "staging.yaml").read_text() + "auth: eks\n")
    yield from sandbox(tmp_path_factory, str(path), Cluster)


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def _virtual_now(c: Cluster, name: str) -> datetime:
    made = c.kube_request(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
    )
    return datetime.fromisoformat(made["metadata"]["creationTimestamp"].replace("Z", "+00:00"))


def test_staging_apply_with_eks_tokens_spans_many_token_lifetimes(staging: Cluster) -> None:
    c = staging
    url = c.running.kubernetes_endpoint + "/api/v1/namespaces"
    session = boto3.session.Session(
        aws_access_key_id=c.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=c.env["AWS_SECRET_ACCESS_KEY"],
        region_name=c.env["AWS_REGION"],
    )
    stale = eks_auth.token("staging", session)
    assert _get(url, "not-a-token") == 401
    assert _get(url, stale) == 200
    assert wait_for(lambda: _get(url, stale) == 401, "the token to expire in virtual time", 10)
    assert _get(c.running.kubernetes_endpoint + "/version", "") == 200

    config = yaml.safe_load(c.running.config.read_text())
    config["kubeconfig"] = None  # the default path: endpoint + CA from EKS, token from STS
    c.running.config.write_text(yaml.safe_dump(config, sort_keys=False))
    nodes_before = {n.spec.provider_id for n in c.core.list_node().items}
    started = _virtual_now(c, "before-apply")
    before = len(c.kube_requests())
    c.plan()
    env = {k: v for k, v in c.env.items() if k != "KUBECONFIG"}  # apply: KUBECONFIG or EKS
    code, events, stderr = run_apply(env, c.plan_file, c.workdir)
    assert code == 0, stderr
    assert events[-1]["kind"] == "done"
    virtual_minutes = (_virtual_now(c, "after-apply") - started).total_seconds() / 60
    assert virtual_minutes > 60
    assert_upgraded(c, "1.13", "v1.5.", nodes_before)

    log = c.kube_requests()[before:]
    credentials = {r["credential"] for r in log if r.get("credential")}
    refused = [r for r in log if r["status"] == 401]
    # a token lives 15 virtual minutes from its first use: over an hour of calls needs at
    # least four (fewer than minutes / 15: no token is made while apply only polls AWS)
    assert len(credentials) >= 4, len(credentials)
    assert refused  # expired tokens were refused, renewed, and the call made again
    for miss in refused:
        after = log[log.index(miss) + 1 :]
        assert any(r["path"] == miss["path"] and r["status"] != 401 for r in after)
    all_text = stderr + "".join(str(e) for e in events)
    assert "k8s-aws-v1." not in all_text and stale not in all_text
    print(
        f"apply: {virtual_minutes:.0f} virtual minutes, {len(credentials)} EKS tokens, "
        f"{len(refused)} refused once expired and renewed"
    )
