"""`upgrader apply` runs only the plan that was reviewed: a plan file edited after
`upgrader plan` wrote it is refused with exit 2 before the lock, with zero write calls
to AWS or Kubernetes, whether or not the editor recomputed the digest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.apply_harness import Cluster
from tests.support.sandbox_clients import sandbox
from tests.support.timing import child_cpu_seconds
from upgrader.model.plan import content_digest

pytestmark = pytest.mark.integration

Doc = dict[str, Any]
KUBE_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Doc]]:
    for c in sandbox(tmp_path_factory, "staging", Cluster):
        c.plan()
        yield c, json.loads(c.plan_file.read_text())


def _step(doc: Doc, kind: str) -> Doc:
    return next(s for s in doc["steps"] if s["kind"] == kind)


def _swap_image(doc: Doc) -> None:
    manifest = _step(doc, "cni")["params"]["manifest"]
    for obj in manifest:
        if obj["kind"] == "DaemonSet":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            container["image"] = "registry.invalid/amazon-k8s-cni:v1.5.5"


def _foreign_wave(doc: Doc) -> None:
    _step(doc, "nodegroup-roll")["params"]["waves"][0][0] = "i-0123456789abcdef0"


def _to_114(doc: Doc) -> None:
    doc["to"]["kubernetes"] = "1.14"


def _unknown_step(doc: Doc) -> None:
    doc["steps"].insert(1, {**_step(doc, "verify"), "id": "reboot", "kind": "reboot"})


def _other_change_set(doc: Doc) -> None:
    _step(doc, "control-plane")["params"]["change_set"]["name"] = "upgrader-000000000000"


def _other_cluster(doc: Doc) -> None:
    doc["cluster"] = "production"


def _ami(doc: Doc) -> None:
    params = _step(doc, "nodegroup-stack")["params"]["parameters"]
    for key in params:
        if "Image" in key:
            params[key] = "ami-0badbadbadbadbad0"


TAMPERING: list[tuple[str, Callable[[Doc], None], str]] = [
    ("aws-node image from another registry", _swap_image, "registry.invalid"),
    ("wave with an instance outside the group", _foreign_wave, "waves"),
    ("to.kubernetes 1.13 -> 1.14", _to_114, "1.14"),
    ("a step of an unknown kind", _unknown_step, "reboot"),
    ("another change set", _other_change_set, "upgrader-000000000000"),
    ("another cluster", _other_cluster, "production"),
    ("another AMI", _ami, "ami-0badbadbadbadbad0"),
]


def _writes(c: Cluster, aws_from: int, kube_from: int) -> list[str]:
    aws = [
        r["action"]
        for r in c.aws_requests()[aws_from:]
        if not r["action"].startswith(("Describe", "List", "Get"))
    ]
    kube = [
        f"{r['method']} {r['path']}"
        for r in c.kube_requests()[kube_from:]
        if r["method"] in KUBE_WRITES
    ]
    return aws + kube


def _refused(c: Cluster, doc: Doc, *extra: str) -> str:
    path = c.workdir / "edited.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    aws_from, kube_from = len(c.aws_requests()), len(c.kube_requests())
    result, elapsed = child_cpu_seconds(  # a hang hits the 60 s timeout
        lambda: c.upgrader("apply", str(path), "--yes", *extra, cwd=c.workdir, timeout=60)
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert _writes(c, aws_from, kube_from) == [], output
    assert elapsed < 10, elapsed
    return output


@pytest.mark.parametrize(("name", "edit", "named"), TAMPERING, ids=[t[0] for t in TAMPERING])
@pytest.mark.parametrize("rehashed", [False, True], ids=["as-edited", "digest-recomputed"])
def test_an_edited_plan_is_refused_before_any_write(
    planned: tuple[Cluster, Doc], name: str, edit: Callable[[Doc], None], named: str, rehashed: bool
) -> None:
    c, original = planned
    doc = json.loads(json.dumps(original))
    edit(doc)
    if rehashed:
        doc["digest"] = content_digest({k: v for k, v in doc.items() if k != "digest"})
    output = _refused(c, doc)
    # as edited, the digest gives it away unless the file is not even a plan any more
    assert named in output or (not rehashed and "does not match its digest" in output), output


def test_apply_binds_to_the_approved_digest(planned: tuple[Cluster, Doc]) -> None:
    c, original = planned
    other = "sha256:" + "0" * 64
    output = _refused(c, original, "--expect-digest", other)
    assert original["digest"] in output and other in output
