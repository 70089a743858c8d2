"""ipamd's ``:61678/metrics``: the Prometheus text exposition of one node's ipamd, with the
metric families its release registers (the catalog's per-tag table) and values from the
twin's own pool, datastore and counters.

As client_golang's handler does, families are sorted by name, and a labelled family (a
``*Vec``) is shown only once one of its children exists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ekstwin.controllers.ipamd.counters import IpamdCounters
from ekstwin.controllers.ipamd.datastore import prefix_addresses
from ekstwin.controllers.ipamd.node import NodePool
from upgrader.catalog.cni_metrics import MetricSpec, metric_specs

GO_VERSION = "go1.24.6"
Labels = tuple[tuple[str, str], ...]
Samples = list[tuple[Labels, float]]


def _base(name: str) -> str:
    return name.removeprefix("awscni_")


def _gauges(pool: NodePool, counters: IpamdCounters) -> dict[str, float]:
    """The unlabelled families' values on this node."""
    ds = pool.datastore
    return {
        "total_ip_addresses": ds.total,
        "assigned_ip_addresses": ds.assigned_count,
        "eni_allocated": len(ds.enis),
        "eni_max": pool.max_enis,
        "ip_max": pool.max_enis * pool.slots * pool.unit,
        "total_ipv4_prefixes": ds.total_prefixes,
        "add_ip_req_count": counters.add_ip,
        "no_available_ip_addresses": counters.no_available_ip,
        "force_removed_enis": 0,
        "force_removed_ips": 0,
    }


def _ipamd_errors(spec: MetricSpec, counters: IpamdCounters) -> Samples:
    by: Counter[Labels] = Counter()
    for (fn, err), n in counters.ipamd_errors.items():
        by[(("fn", fn), ("error", err)) if "error" in spec.labels else (("fn", fn),)] += n
    return sorted((k, float(n)) for k, n in by.items())


def _per_cidr(pool: NodePool) -> Samples:
    ds = pool.datastore
    held = set(ds.assigned.values())
    cidrs: Samples = []
    for e in ds.enis.values():
        for block in e.prefixes if ds.pd else [f"{ip}/32" for ip in e.ips]:
            count = sum(1 for a in prefix_addresses(block) if a in held)
            if count:
                cidrs.append(((("cidr", block),), float(count)))
    return sorted(cidrs)


def _labelled(spec: MetricSpec, pool: NodePool, counters: IpamdCounters, version: str) -> Samples:
    """The children of a labelled family (a ``*Vec``); none yet hides the family."""
    ds = pool.datastore
    families: dict[str, Callable[[], Samples]] = {
        "del_ip_req_count": lambda: [
            ((("reason", r),), float(n)) for r, n in sorted(counters.del_ip.items())
        ],
        "ipamd_error_count": lambda: _ipamd_errors(spec, counters),
        "aws_api_error_count": lambda: sorted(
            ((("api", api), ("error", code)), float(n))
            for (api, code), n in counters.aws_api_errors.items()
        ),
        "ec2api_req_count": lambda: sorted(
            ((("fn", api),), float(n)) for api, n in counters.ec2_requests.items()
        ),
        "ipamd_action_inprogress": lambda: (
            [((("fn", "decreaseIPPool"),), 0.0), ((("fn", "increaseIPPool"),), 0.0)]
            if pool.running
            else []
        ),
        "assigned_ip_per_eni": lambda: [
            ((("eni", e.eni_id),), float(ds.assigned_on(e)))
            for e in sorted(ds.enis.values(), key=lambda e: e.eni_id)
        ],
        "assigned_ip_per_cidr": lambda: _per_cidr(pool),
        "build_info": lambda: [((("goversion", GO_VERSION), ("version", version)), 1.0)],
        "connmark_reconcile_total": lambda: [
            ((("result", "error"),), 0.0),
            ((("result", "success"),), 0.0),
        ],
    }
    found = families.get(_base(spec.name))
    return found() if found is not None else []


def _samples(spec: MetricSpec, pool: NodePool, counters: IpamdCounters, version: str) -> Samples:
    """The children of one family on this node (an empty list hides a labelled family)."""
    if spec.labels:
        return _labelled(spec, pool, counters, version)
    if spec.kind not in {"gauge", "counter"}:
        return []
    return [((), float(_gauges(pool, counters).get(_base(spec.name), 0)))]


def _value(v: float) -> str:
    return str(int(v)) if v == int(v) else repr(v)


def exposition(pool: NodePool, counters: IpamdCounters) -> str:
    """The body of ``GET :61678/metrics`` for ``pool`` (text format 0.0.4)."""
    assert pool.config is not None
    version = str(pool.config.version)
    families: list[tuple[str, str, str, Samples]] = []
    for spec in metric_specs(pool.config.version):
        samples = _samples(spec, pool, counters, version)
        if samples:
            families.append((spec.name, spec.kind, spec.help, samples))
    families.append(
        ("go_goroutines", "gauge", "Number of goroutines that currently exist.", [((), 42.0)])
    )
    families.append(
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            [((), float(int(counters.started_at)))],
        )
    )
    lines: list[str] = []
    for name, kind, help_, samples in sorted(families):
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(
                f"{name}{{{shown}}} {_value(value)}" if shown else f"{name} {_value(value)}"
            )
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
