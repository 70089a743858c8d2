"""The sandbox directory protocol: the files a running twin keeps in its directory.

The twin writes them (``ekstwin.files``); ``upgrader sandbox``, ``upgrader demo`` and the
tests read them here. ``env`` holds only standard AWS variables and ``KUBECONFIG``, so
production code paths need nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ENV = "env"
KUBECONFIG = "kubeconfig"
CONFIG = "upgrader.yaml"
STATE = "sandbox.json"
LOG = "sandbox.log"
# The module the product spawns (``python -m DAEMON SCENARIO DIR``), and the twin's package.
TWIN_PACKAGE = "ekstwin"
DAEMON = "ekstwin.daemon"
# Virtual-clock speed of the twin, read by its daemon from the environment.
SPEED_ENV = "UPGRADER_SANDBOX_SPEED"
# "stepped": the twin's clock stands still until a client advances it (benchmarks).
CLOCK_ENV = "UPGRADER_SANDBOX_CLOCK"
# On the twin's AWS endpoint. GET: the virtual now; POST {"advance": seconds}: run a
# stepped clock that far, every timer in it fired (the reply comes once it has).
CLOCK_PATH = "/_sandbox/clock"
# Written to STATE: "starting", then "ready" (with the endpoints) or "failed" (with the error).
READY = "ready"
FAILED = "failed"


def parse_env(text: str) -> dict[str, str]:
    """Variables of an ``env`` file (``export KEY=value`` lines)."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip().removeprefix("export ").strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def read_state(directory: Path) -> dict[str, Any] | None:
    """The daemon's ``sandbox.json``, or None when there is none (or it is half written)."""
    try:
        data = json.loads((directory / STATE).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
