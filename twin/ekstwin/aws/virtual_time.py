"""moto's clock is the twin's virtual clock, so every AWS timestamp agrees with Kubernetes'.

moto stamps what it creates (instances' LaunchTime, stacks' CreationTime, EKS createdAt,
Auto Scaling activities, SSM dates, IAM, STS, the HTTP ``Date`` header) with
``moto.core.utils.utcnow()``. Most model modules bind it by name
(``from moto.core.utils import utcnow``), so rebinding it in ``moto.core.utils`` alone would
leave those copies on the wall clock: :func:`sweep` rebinds it in every loaded moto module,
and runs again whenever moto has imported more of itself (its server loads services lazily,
on their first request). Without a running twin the clock is moto's own.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any

from moto.autoscaling.models import FakeAutoScalingGroup
from moto.core import utils as moto_utils

from ekstwin.aws.state import active

_wall_utcnow = moto_utils.utcnow
_guard = threading.Lock()
_modules_seen = 0


def utcnow() -> datetime:
    """Now as moto stores times (naive UTC): the running twin's virtual now."""
    state = active()
    return state.now() if state is not None else _wall_utcnow()


def sweep() -> None:
    """Point every loaded moto module's ``utcnow`` at :func:`utcnow` (cheap when nothing new
    was imported since the last sweep)."""
    global _modules_seen  # noqa: PLW0603 - moto's modules are process-global
    if len(sys.modules) == _modules_seen:
        return
    with _guard:
        for name, module in list(sys.modules.items()):
            if name.partition(".")[0] == "moto" and vars(module).get("utcnow") is _wall_utcnow:
                module.utcnow = utcnow  # type: ignore[attr-defined]
        _modules_seen = len(sys.modules)


def install() -> None:
    sweep()

    # moto stamps a group's CreatedTime with the machine's local wall time
    # (``datetime.now().isoformat()``); AWS: the UTC time the group was created, before it
    # launched its first instances.
    original = FakeAutoScalingGroup.__init__

    def init(self: Any, *args: Any, **kw: Any) -> None:
        created = utcnow()
        original(self, *args, **kw)
        self.created_time = created.isoformat()

    FakeAutoScalingGroup.__init__ = init  # type: ignore[method-assign]
