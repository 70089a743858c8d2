"""ipamd's own view of one node, as read through the API server (``upgrader diagnose``).

Kept raw: the metrics as ipamd named them (summed per name) and the ``/v1/enis`` JSON
as the release wrote it; :mod:`upgrader.diagnosis` reads every release's shape.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class IpamdView:
    """What one node's ipamd said, or why it could not be asked.

    ``metrics``: (name, value) per metric family, samples summed (``awscni_`` names, or
    unprefixed before v1.4). ``enis``: the body of ``/v1/enis``. ``source`` says how each
    was read, e.g. ``nodes/NODE:61678/proxy/metrics`` or ``exec aws-node-x: curl …``.
    """

    node: str
    aws_node_pod: str | None
    metrics: tuple[tuple[str, float], ...] = ()
    metrics_source: str = ""
    enis: str | None = None
    enis_source: str = ""
    problems: tuple[str, ...] = ()  # a source that did not answer, and why

    def metric(self, *names: str) -> float | None:
        """The first of ``names`` ipamd exposes (prefixed and unprefixed spellings)."""
        found = dict(self.metrics)
        return next((found[n] for n in names if n in found), None)
