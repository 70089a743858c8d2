"""Asking each node's ipamd, through the API server, as the troubleshooting guide does by
hand: metrics through the node proxy (``nodes/NODE:61678/proxy/metrics``), and
``/v1/enis`` through exec into the aws-node container where the release binds
introspection to 127.0.0.1:61679, through the node proxy where it serves it on :61678.

Read-only. A node whose ipamd does not answer is reported in its view, not raised: a
diagnosis of a broken cluster must not stop at the first broken node.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from kubernetes.client import CoreV1Api
from kubernetes.stream import stream
from prometheus_client.parser import text_string_to_metric_families

from upgrader.adapters.errors import scrub
from upgrader.adapters.kube import KubeReader
from upgrader.catalog.cni_metrics import METRICS_PORT
from upgrader.errors import UpgraderError
from upgrader.model.ipamd import IpamdView
from upgrader.model.kube import Pod
from upgrader.runbook.ipamd import IpamdGuide

AWS_NODE_CONTAINER = "aws-node"
EXEC_SECONDS = 30


def _metrics(text: str) -> tuple[tuple[str, float], ...]:
    """Samples summed per metric family (counters keep their family name)."""
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith(("_created", "_bucket")):
                continue
            sums[family.name] = sums.get(family.name, 0.0) + float(sample.value)
    return tuple(sorted(sums.items()))


def _exec(reader: KubeReader, pod: Pod, command: Sequence[str]) -> str:
    ws = stream(
        CoreV1Api(reader.api).connect_get_namespaced_pod_exec,
        pod.name,
        pod.namespace,
        container=AWS_NODE_CONTAINER,
        command=list(command),
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        ws.run_forever(timeout=EXEC_SECONDS)
        out: str = ws.read_stdout() if ws.peek_stdout() else ""
        err: str = ws.read_stderr() if ws.peek_stderr() else ""
        code = ws.returncode
    finally:
        ws.close()
    if code not in (0, None) or (not out and err):
        raise RuntimeError(f"exit {code}: {err.strip() or out.strip()}")
    return out


def _proxy(reader: KubeReader, node: str, port: int, path: str) -> str:
    status, body = reader.request("GET", f"/api/v1/nodes/{node}:{port}/proxy{path}")
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200].decode(errors='replace').strip()}")
    return body.decode()


def read_view(reader: KubeReader, node: str, aws_node: Pod | None, guide: IpamdGuide) -> IpamdView:
    """ipamd's metrics and ``/v1/enis`` on ``node`` (``aws_node``: its aws-node pod)."""
    problems: list[str] = []
    metrics: tuple[tuple[str, float], ...] = ()
    metrics_source = f"/api/v1/nodes/{node}:{METRICS_PORT}/proxy/metrics"
    try:
        metrics = _metrics(_proxy(reader, node, METRICS_PORT, "/metrics"))
    except (UpgraderError, RuntimeError, ValueError) as err:
        problems.append(f"metrics ({metrics_source}): {_why(err)}")
    enis: str | None = None
    url = guide.url("/v1/enis")
    if guide.separate_introspection:
        command = ["curl", "-s", url]
        enis_source = f"exec {aws_node.name if aws_node else 'aws-node'}: {shlex.join(command)}"
        if aws_node is None:
            problems.append(f"introspection ({url}): no aws-node pod on the node")
        else:
            try:
                enis = _exec(reader, aws_node, command)
            except Exception as err:
                problems.append(f"introspection ({enis_source}): {_why(err)}")
    else:
        enis_source = f"/api/v1/nodes/{node}:{METRICS_PORT}/proxy/v1/enis"
        try:
            enis = _proxy(reader, node, METRICS_PORT, "/v1/enis")
        except (UpgraderError, RuntimeError) as err:
            problems.append(f"introspection ({enis_source}): {_why(err)}")
    return IpamdView(
        node=node,
        aws_node_pod=aws_node.name if aws_node else None,
        metrics=metrics,
        metrics_source=metrics_source,
        enis=enis,
        enis_source=enis_source,
        problems=tuple(problems),
    )


def _why(err: BaseException) -> str:
    text = err.render() if isinstance(err, UpgraderError) else f"{type(err).__name__}: {err}"
    return scrub(text.strip().splitlines()[0] if text.strip() else type(err).__name__)
