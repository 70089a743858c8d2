"""``sandbox up`` / ``sandbox down``: spawn the twin's daemon in the background and wait
until its directory says it is ready, or stop it and clean the directory.

The twin is a separate distribution; it is found as a module to run, never imported.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from upgrader.errors import BadInputError, UpgraderError
from upgrader.sandbox import directory as protocol

UP_TIMEOUT_SECONDS = 120.0
DOWN_TIMEOUT_SECONDS = 15.0
# Daemons this process started; kept so `down` in the same process can reap them.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True, slots=True)
class Running:
    """A live sandbox as ``up`` reports it."""

    directory: Path
    scenario: str
    pid: int
    aws_endpoint: str
    kubernetes_endpoint: str
    seconds: float

    @property
    def env(self) -> Path:
        return self.directory / protocol.ENV

    @property
    def kubeconfig(self) -> Path:
        return self.directory / protocol.KUBECONFIG

    @property
    def config(self) -> Path:
        return self.directory / protocol.CONFIG


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_pid(directory: Path) -> int | None:
    state = protocol.read_state(directory)
    if state is None:
        return None
    pid = int(state.get("pid", 0))
    return pid if pid and _alive(pid) else None


def up(ref: str, directory: Path, *, timeout: float = UP_TIMEOUT_SECONDS) -> Running:
    """Start the sandbox for scenario ``ref`` in the background; returns once it is ready
    (an error after ``timeout`` seconds)."""
    if importlib.util.find_spec(protocol.TWIN_PACKAGE) is None:
        raise BadInputError(
            "upgrader sandbox",
            f"needs the local EKS twin ({protocol.TWIN_PACKAGE}), which this installation lacks",
            "install it beside upgrader from the repository: pip install ./twin "
            "(it brings moto; the product itself never needs it)",
        )
    directory = directory.resolve()
    pid = live_pid(directory)
    if pid is not None:
        raise BadInputError(
            f"sandbox directory {directory}",
            f"a sandbox is already running there (pid {pid})",
            f"run `upgrader sandbox down --dir {directory}` first, or use another --dir",
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name in (protocol.STATE, protocol.ENV, protocol.KUBECONFIG, protocol.CONFIG):
        (directory / name).unlink(missing_ok=True)
    started = time.monotonic()
    with open(directory / protocol.LOG, "ab") as log:
        proc = subprocess.Popen(
            # -P: not the working directory first on sys.path, so that a checkout of the
            # sources there (the README runs the demo from one) cannot shadow the installed
            # packages (its upgrader/ has no jsonnet/: that ships from the top-level folder)
            [sys.executable, "-P", "-m", protocol.DAEMON, ref, str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    deadline = started + timeout
    while time.monotonic() < deadline:
        state = protocol.read_state(directory) or {}
        if state.get("state") == protocol.READY:
            _children[proc.pid] = proc
            return Running(
                directory=directory,
                scenario=str(state["scenario"]),
                pid=proc.pid,
                aws_endpoint=str(state["aws_endpoint"]),
                kubernetes_endpoint=str(state["kubernetes_endpoint"]),
                seconds=round(time.monotonic() - started, 2),
            )
        code = proc.poll()
        if state.get("state") == protocol.FAILED or code is not None:
            proc.wait(timeout=DOWN_TIMEOUT_SECONDS)
            message = str(state.get("error", f"the sandbox process exited with {code}"))
            (directory / protocol.STATE).unlink(missing_ok=True)
            error = BadInputError if state.get("exit_code") == 2 else UpgraderError
            raise error(
                f"sandbox {ref}", f"did not start: {message}", f"see {directory / protocol.LOG}"
            )
        time.sleep(0.05)
    proc.terminate()
    proc.wait(timeout=DOWN_TIMEOUT_SECONDS)
    raise UpgraderError(
        f"sandbox {ref}",
        f"not ready after {timeout:.0f} s",
        f"see {directory / protocol.LOG}",
    )


def down(directory: Path) -> bool:
    """Stop the sandbox in ``directory``; False when none was running."""
    directory = directory.resolve()
    pid = live_pid(directory)
    if pid is None:
        for name in (protocol.STATE, protocol.ENV, protocol.KUBECONFIG):
            (directory / name).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + DOWN_TIMEOUT_SECONDS
    child = _children.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=DOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    for name in (protocol.STATE, protocol.ENV, protocol.KUBECONFIG):
        (directory / name).unlink(missing_ok=True)
    return True
