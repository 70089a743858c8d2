"""The Kubernetes adapter's transport: tenacity retries 429 (not a PDB's), 5xx and transport
errors with backoff and jitter, honouring Retry-After, within a bounded budget; bounded
timeouts; a server that never answers is exit 2 naming it; a kubeconfig that cannot be read
is exit 2 naming the file. Driven through a real KubeReader on a scripted ApiClient."""

from __future__ import annotations

from pathlib import Path

import pytest
import urllib3

from tests.support.scripted_api import Answer, scripted_reader
from upgrader.adapters import kube
from upgrader.adapters.errors import CloudError, CloudUnreachableError
from upgrader.adapters.kube import KubeReader
from upgrader.adapters.kube_actions import CONFLICT_RETRIES, KubeActions
from upgrader.errors import BadInputError, ExitCode

OK: Answer = (200, {"kind": "Node"}, {})
SHED: Answer = (429, {"kind": "Status", "reason": "TooManyRequests"}, {"Retry-After": "1"})
PDB_REFUSAL: Answer = (
    429,
    {
        "kind": "Status",
        "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget", "message": "budget web"}]},
    },
    {},
)


def test_a_429_is_retried_after_its_retry_after() -> None:
    sleeps: list[float] = []
    answers: list[Answer] = [SHED, SHED, OK]
    reader, api = scripted_reader(lambda _m, _p: answers.pop(0), sleeps)
    assert reader.request("GET", "/api/v1/nodes/a")[0] == 200
    assert len(api.sent) == 3
    assert len(sleeps) == 2 and all(s >= 1.0 for s in sleeps)


def test_a_pdb_refusal_is_returned_at_once_for_the_drain_to_retry() -> None:
    reader, api = scripted_reader(lambda _m, _p: PDB_REFUSAL)
    assert reader.request("POST", "/api/v1/namespaces/a/pods/b/eviction")[0] == 429
    assert len(api.sent) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_with_jittered_backoff_up_to_the_attempt_budget(status: int) -> None:
    sleeps: list[float] = []
    reader, api = scripted_reader(lambda _m, _p: (status, {"message": "boom"}, {}), sleeps)
    assert reader.request("GET", "/api/v1/pods")[0] == status  # the caller names it
    assert len(api.sent) == kube.ATTEMPTS
    assert all(0 <= s <= kube.BACKOFF_MOST_SECONDS for s in sleeps)


def test_every_request_has_bounded_connect_and_read_timeouts() -> None:
    reader, api = scripted_reader(lambda _m, _p: OK)
    reader.request("GET", "/version")
    assert api.sent[0][2] == (kube.CONNECT_TIMEOUT_SECONDS, kube.READ_TIMEOUT_SECONDS)


def test_a_server_that_never_answers_is_exit_2_naming_it() -> None:
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    reader, api = scripted_reader(lambda _m, _p: refused)
    with pytest.raises(CloudUnreachableError) as caught:
        reader.request("GET", "/version")
    error = caught.value
    assert error.exit_code == ExitCode.BAD_INPUT
    assert "https://k8s.test" in error.subject
    assert f"no answer after {kube.ATTEMPTS} attempt(s)" in error.message
    assert "Connection refused" in error.message
    assert len(api.sent) == kube.ATTEMPTS


def test_a_brief_outage_is_ridden_out() -> None:
    answers: list[Answer] = [urllib3.exceptions.ProtocolError("reset"), OK]
    reader, _ = scripted_reader(lambda _m, _p: answers.pop(0))
    assert reader.request("GET", "/api/v1/nodes")[0] == 200


def test_an_apiserver_429_on_an_eviction_is_retried_then_evicts() -> None:
    answers: list[Answer] = [SHED, (201, {"kind": "Status"}, {})]

    def route(_method: str, path: str) -> Answer:
        if path == "/api/v1":
            entry = {"name": "pods/eviction", "group": "policy", "version": "v1beta1"}
            return 200, {"resources": [entry]}, {}
        return answers.pop(0)

    reader, _ = scripted_reader(route)
    assert KubeActions(reader).evict("app", "web-1").evicted


def test_write_conflicts_are_retried_then_reported() -> None:
    writes = 0

    def route(method: str, _path: str) -> Answer:
        nonlocal writes
        if method == "GET":
            return 200, {"metadata": {"resourceVersion": "1"}, "data": {}}, {}
        writes += 1
        return 409, {"kind": "Status", "message": "the object has been modified"}, {}

    reader, _ = scripted_reader(route)
    with pytest.raises(CloudError, match="conflicts in a row"):
        KubeActions(reader).write_config_map("j", "kube-system", {"a": "b"})
    assert writes == CONFLICT_RETRIES


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist"),
        ("a: [b\n", "is not valid YAML"),
        ("- 1\n- 2\n", "not a kubeconfig"),
        ("apiVersion: v1\nclusters: []\n", "cannot be used"),
        (b"\xff\xfe\x00\x01", "UTF-16"),
    ],
)
def test_an_unusable_kubeconfig_is_exit_2_naming_the_file(
    tmp_path: Path, content: str | bytes | None, problem: str
) -> None:
    path = tmp_path / "kubeconfig"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(BadInputError) as caught:
        KubeReader.from_kubeconfig(path)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert str(path) in caught.value.subject
    assert problem in caught.value.message


def test_a_directory_as_kubeconfig_is_refused_without_reading(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="directory"):
        KubeReader.from_kubeconfig(tmp_path)
