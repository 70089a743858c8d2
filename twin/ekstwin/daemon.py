"""The background process behind ``upgrader sandbox up``.

``python -m ekstwin.daemon SCENARIO DIR`` starts the sandbox, writes
DIR's files and ``sandbox.json`` (state ``ready``, or ``failed`` with the
error), then serves until SIGTERM or SIGINT, and stops cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ekstwin import files
from ekstwin.clock import DEFAULT_SPEED
from ekstwin.runtime import Sandbox
from ekstwin.scenario import load
from upgrader.errors import UpgraderError
from upgrader.sandbox.directory import CLOCK_ENV, FAILED, READY, SPEED_ENV, STATE, read_state


def serve(ref: str, directory: Path) -> int:
    """Run the sandbox for scenario ``ref`` until signalled; returns an exit code."""
    started = time.monotonic()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    state: dict[str, object] = {"pid": os.getpid(), "state": "starting", "scenario": ref}
    files.write_state(directory, state)
    sandbox: Sandbox | None = None
    try:
        scenario = load(ref)
        sandbox = Sandbox(
            scenario,
            speed=float(os.environ.get(SPEED_ENV, DEFAULT_SPEED)),
            stepped=os.environ.get(CLOCK_ENV) == "stepped",
        )
        endpoints = sandbox.start()
        assert sandbox.world is not None
        stacks = {
            "control_plane": sandbox.world.control_plane_stack,
            "nodegroups": list(sandbox.world.nodegroup_stacks),
        }
        files.write_all(
            directory,
            scenario,
            aws_endpoint=endpoints.aws,
            kube_endpoint=endpoints.kubernetes,
            token=endpoints.token,
            stacks=stacks,
        )
        state.update(
            state=READY,
            scenario=scenario.name,
            aws_endpoint=endpoints.aws,
            kubernetes_endpoint=endpoints.kubernetes,
            seconds_to_ready=round(time.monotonic() - started, 2),
        )
        files.write_state(directory, state)
        while not stop.wait(0.2):
            if sandbox.failure is not None:
                raise sandbox.failure
        return 0
    except UpgraderError as err:
        state.update(state=FAILED, error=err.render(), exit_code=int(err.exit_code))
        files.write_state(directory, state)
        return int(err.exit_code)
    except Exception as err:
        logging.exception("sandbox failed")
        state.update(state=FAILED, error=f"sandbox crashed: {err!r}", exit_code=1)
        files.write_state(directory, state)
        return 1
    finally:
        if sandbox is not None:
            sandbox.stop()
        if read_state(directory) and state.get("state") == READY:
            (directory / STATE).unlink(missing_ok=True)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    ref, directory = sys.argv[1], Path(sys.argv[2])
    sys.exit(serve(ref, directory))


if __name__ == "__main__":
    main()
