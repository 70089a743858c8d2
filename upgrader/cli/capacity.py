"""``upgrader capacity``: max pods and addresses for one node."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from upgrader.cli.catalog import default_overlay_path
from upgrader.cli.output import Format, emit_json
from upgrader.errors import BadInputError, ExitCode
from upgrader.markdown import table

if TYPE_CHECKING:
    from upgrader.pipeline.capacity import CapacityReport


def render_text(report: CapacityReport) -> str:
    """The seed's instance table plus max pods and addresses per node."""
    from upgrader.catalog.instances import memory_shown, shown  # noqa: PLC0415 - lazy: issue 15

    i, a = report.instance, report.addresses
    seed = table(
        [
            "API Name",
            "Memory",
            "vCPUs",
            "Max IPs",
            "Max ENIs",
            "IPv4 per ENI",
            "Max pods",
            "Addresses per node",
        ],
        [
            [
                i.name,
                memory_shown(i.memory_mib),
                shown(i.vcpus),
                str(i.max_enis * i.ipv4_per_eni),
                str(i.max_enis),
                str(i.ipv4_per_eni),
                str(report.limits.value),
                str(a.subnet_ips),
            ]
        ],
    )
    lines = [
        seed,
        "",
        f"CNI {report.cni.version.tag}, {a.mode.value} pool, {a.pods} pods: "
        f"{a.enis_attached} ENIs attached, {a.pool_ips} pool addresses"
        + (f" ({a.prefixes} /28 prefixes)" if a.prefixes else "")
        + f", {a.subnet_ips} addresses from the subnet(s)"
        + (
            f" ({a.node_subnet_ips} node subnet + {a.pod_subnet_ips} pod subnet)"
            if a.pod_subnet_ips
            else ""
        )
        + f"; boot peak {a.peak_ips}.",
        f"Pod-IP capacity {report.limits.pod_ip_capacity}"
        + (
            f"; max pods capped from {report.limits.uncapped}"
            if report.limits.value != report.limits.uncapped
            else ""
        )
        + ".",
    ]
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def capacity(
    instance_type: Annotated[
        str | None, typer.Option("--instance-type", "-t", help="EC2 instance type")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "-c", "--config", help="upgrader.yaml: per node group and subnet of a cluster"
        ),
    ] = None,
    pods: Annotated[int, typer.Option(help="pods on the node that need a VPC address")] = 0,
    cni_version: Annotated[str | None, typer.Option(help="VPC CNI release, e.g. v1.5.5")] = None,
    warm_eni_target: Annotated[int | None, typer.Option(help="WARM_ENI_TARGET")] = None,
    warm_ip_target: Annotated[int | None, typer.Option(help="WARM_IP_TARGET")] = None,
    minimum_ip_target: Annotated[int | None, typer.Option(help="MINIMUM_IP_TARGET")] = None,
    warm_prefix_target: Annotated[int | None, typer.Option(help="WARM_PREFIX_TARGET")] = None,
    max_eni: Annotated[int | None, typer.Option(help="MAX_ENI")] = None,
    prefix_delegation: Annotated[bool, typer.Option(help="ENABLE_PREFIX_DELEGATION")] = False,
    custom_networking: Annotated[
        bool, typer.Option(help="AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG (ENIConfig subnets)")
    ] = False,
    max_pods_cap: Annotated[
        bool, typer.Option(help="apply max-pods-calculator's 110/250 ceilings")
    ] = False,
    catalog: Annotated[
        Path | None, typer.Option(help="refreshed catalog overlay (default: user cache)")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="text or json")] = Format.TEXT,
) -> None:
    """Max pods and addresses per node; with -c, per node group and subnet of a cluster.

    With -c the numbers come from the live cluster and the roll to the config's target.
    Exits 3 when --cni-version's ipamd does not know the type (before v1.6.0), after
    printing the report (JSON key ``blocked``) and naming the release that knows it.
    """
    if (instance_type is None) == (config is None):
        raise BadInputError(
            "upgrader capacity",
            "needs exactly one of --instance-type and -c",
            "pass --instance-type T for one node, or -c CONFIG for a cluster",
        )
    if config is not None:
        from upgrader.pipeline.plan import cluster_capacity  # noqa: PLC0415 - lazy: issue 15

        cluster = cluster_capacity(config)
        if fmt is Format.JSON:
            emit_json(cluster.as_json())
        else:
            typer.echo(cluster.text())
        return
    from upgrader.pipeline.capacity import (  # noqa: PLC0415 - no adapters: issue 15
        CapacityRequest,
        instance_capacity,
    )

    assert instance_type is not None
    report = instance_capacity(
        CapacityRequest(
            instance_type=instance_type,
            pods=pods,
            cni_version=cni_version,
            warm_eni_target=warm_eni_target,
            warm_ip_target=warm_ip_target,
            minimum_ip_target=minimum_ip_target,
            warm_prefix_target=warm_prefix_target,
            max_eni=max_eni,
            prefix_delegation=prefix_delegation,
            custom_networking=custom_networking,
            max_pods_cap=max_pods_cap,
            catalog_overlay=catalog or default_overlay_path(),
        )
    )
    if fmt is Format.JSON:
        emit_json(report.as_json())
    else:
        typer.echo(render_text(report))
    gap = report.ipamd_gap
    if gap is not None:
        fix = (
            f"use --cni-version {gap.usable.tag} or later"
            if gap.usable
            else "add a release that knows it to the catalog"
        )
        typer.echo(
            f"blocked: instance type {gap.instance_type}: {gap.problem}; {gap.fixed_by}\n"
            f"  fix: {fix}, and upgrade the cluster's CNI to it before running "
            f"{gap.instance_type} nodes",
            err=True,
        )
        sys.exit(int(ExitCode.BLOCKED))
