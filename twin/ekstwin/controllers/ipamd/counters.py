"""The counters one ipamd keeps in memory for its metrics (they restart with aws-node)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class IpamdCounters:
    """The counters ipamd keeps in memory (they restart with aws-node)."""

    add_ip: int = 0
    del_ip: Counter[str] = field(default_factory=Counter)  # by reason
    no_available_ip: int = 0
    ipamd_errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (fn, error)
    aws_api_errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (api, code)
    ec2_requests: Counter[str] = field(default_factory=Counter)  # by API
    started_at: float = 0.0
