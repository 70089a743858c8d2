"""A broken environment (no credentials, an unknown profile, an AWS endpoint that does
not answer or is not AWS) is exit 2 naming the cause, within seconds, with no traceback."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CONFIG = """\
cluster: staging
region: ap-northeast-1
stacks: {control_plane: staging-eks, nodegroups: [staging-workers]}
target: {kubernetes: "1.13"}
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def not_aws() -> Iterator[str]:
    """An HTTP server on loopback that answers 501 to everything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _plan(tmp_path: Path, **env: str) -> tuple[int, str, float]:
    (tmp_path / "upgrader.yaml").write_text(CONFIG)
    empty = tmp_path / "empty"
    empty.write_text("")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",  # never ask an instance metadata service
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{_closed_port()}",
    )
    base.update(env)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "upgrader", "plan", "-c", "upgrader.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=base,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return result.returncode, output, time.monotonic() - started


# wall seconds: the answer comes from a fast probe, not from minutes of retries and
# timeouts (generous, as a loaded CI runner stretches wall time)
WALL_BOUND = 20
KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "secret"}


def test_an_endpoint_that_does_not_answer_is_named(tmp_path: Path) -> None:
    port = _closed_port()
    code, output, elapsed = _plan(tmp_path, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", **KEYS)
    assert code == 2 and f"127.0.0.1:{port}" in output and "cannot reach AWS" in output
    assert elapsed < WALL_BOUND, elapsed


def test_an_endpoint_that_is_not_aws_is_named(tmp_path: Path, not_aws: str) -> None:
    code, output, elapsed = _plan(tmp_path, AWS_ENDPOINT_URL=not_aws, **KEYS)
    assert code == 2 and f"AWS endpoint {not_aws}" in output and "501" in output
    assert "not the AWS API" in output
    assert elapsed < WALL_BOUND, elapsed


def test_an_unknown_profile_is_named(tmp_path: Path) -> None:
    code, output, elapsed = _plan(tmp_path, AWS_PROFILE="no-such-profile")
    assert code == 2 and "AWS profile 'no-such-profile'" in output
    assert elapsed < WALL_BOUND, elapsed


def test_no_credentials_say_how_to_give_them(tmp_path: Path) -> None:
    code, output, elapsed = _plan(tmp_path)
    assert code == 2 and "no usable AWS credentials" in output and "AWS_PROFILE" in output
    assert "secret" not in output
    assert elapsed < WALL_BOUND, elapsed
