"""The product's bearer tokens: made anew after 14 minutes (a fake clock), and after a 401
(a new token, one retry); a second 401 is exit 2 naming the cluster, without the token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from upgrader.adapters.errors import CloudAccessError
from upgrader.adapters.kube import Credentials, KubeReader
from upgrader.errors import ExitCode

pytestmark = pytest.mark.integration


def test_a_token_is_made_anew_after_14_minutes_on_the_clock() -> None:
    now = [0.0]
    made: list[str] = []

    def issue() -> str:
        made.append(f"token-{len(made)}")
        return made[-1]

    credentials = Credentials(issue, advice="check", clock=lambda: now[0])
    assert credentials.current() == "token-0"
    now[0] = 13 * 60 + 59
    assert credentials.current() == "token-0"
    now[0] = 14 * 60
    assert credentials.current() == "token-1"
    assert credentials.renew() == "token-2"
    assert credentials.issued == 3


class _Server(ThreadingHTTPServer):
    accepted: set[str]
    seen: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.server.seen.append(auth)
        ok = auth.removeprefix("Bearer ") in self.server.accepted
        body = json.dumps(
            {"kind": "Namespace", "metadata": {"name": "default"}}
            if ok
            else {"kind": "Status", "code": 401, "reason": "Unauthorized"}
        ).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.accepted, httpd.seen = set(), []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_401_makes_a_new_token_and_retries_once(server: _Server) -> None:
    tokens = iter(["stale-token", "fresh-token", "never-used"])
    credentials = Credentials(lambda: next(tokens), advice="check the IAM identity")
    reader = KubeReader.from_endpoint(_url(server), "", credentials, cluster="staging")
    server.accepted = {"fresh-token"}
    try:
        assert reader.get("/api/v1/namespaces/default")["metadata"]["name"] == "default"
        assert server.seen == ["Bearer stale-token", "Bearer fresh-token"]
        assert reader.get("/api/v1/namespaces/default")  # the fresh token stays
        assert server.seen[-1] == "Bearer fresh-token" and credentials.issued == 2
    finally:
        reader.close()


def test_a_second_401_is_exit_2_naming_the_cluster_and_not_the_token(server: _Server) -> None:
    tokens = iter(["secret-one", "secret-two"])
    credentials = Credentials(lambda: next(tokens), advice="check the IAM identity")
    reader = KubeReader.from_endpoint(_url(server), "", credentials, cluster="staging")
    try:
        with pytest.raises(CloudAccessError) as caught:
            reader.get("/api/v1/namespaces")
    finally:
        reader.close()
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    text = caught.value.render()
    assert "EKS cluster staging" in text and "401" in text and "IAM identity" in text
    assert "secret-one" not in text and "secret-two" not in text
    assert len(server.seen) == 2


def test_a_kubeconfig_exec_plugin_is_run_again_after_a_401(server: _Server, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, pathlib\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',\n"
        "  'kind': 'ExecCredential', 'status': {'token': f'exec-token-{n}'}}))\n"
    )
    kubeconfig = tmp_path / "kubeconfig"
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "python3",
            "args": [str(plugin)],
        }
    }
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": _url(server)}}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    server.accepted = {"exec-token-2"}
    reader = KubeReader.from_kubeconfig(kubeconfig)
    try:
        assert reader.get("/api/v1/namespaces/default")
    finally:
        reader.close()
    assert server.seen == ["Bearer exec-token-1", "Bearer exec-token-2"]
    assert counter.read_text() == "2"
