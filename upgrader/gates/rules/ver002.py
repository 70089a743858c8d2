"""VER002: the VPC CNI path, one minor per step."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.catalog.versions import catalog
from upgrader.errors import VersionError
from upgrader.gates.findings import blocking
from upgrader.gates.inputs import GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity
from upgrader.semver import Version


def ver002_cni_path(inputs: GateInputs) -> Iterator[Finding]:
    """The VPC CNI path: one minor per step, never a banned release (v1.5.4), v1.7 or
    later before v1.12 or later, and a target the target Kubernetes supports."""
    cat = catalog()
    src, dst, k8s = inputs.from_.cni, inputs.to.cni, inputs.to.kubernetes
    try:
        cat.cni_path(src, dst, k8s)
    except VersionError as err:
        yield blocking("VER002", err.subject, f"{err.message}. Fix: {err.hint}.")
        return
    previous = Version.parse(src)
    release = cat.kubernetes(k8s)
    for step in inputs.cni_steps:
        subject = f"VPC CNI {previous.tag} -> {step.tag}"
        ban = cat.is_banned(step)
        if ban:
            yield blocking("VER002", subject, f"{step.tag} must never be applied: {ban}.")
        allowed = {previous.minor_key, (previous.major, previous.minor + 1)}
        if step.minor_key not in allowed or step <= previous:
            yield blocking(
                "VER002",
                subject,
                "is not one minor (or a patch) forward; the CNI is updated one minor per "
                "step. Fix: plan again so each minor in between gets its own step.",
            )
        if step >= Version(1, 12) and previous < Version(1, 7):
            yield blocking(
                "VER002",
                subject,
                "reaches v1.12 or later from before v1.7 (v1.12 restores state from "
                "/var/run/aws-node/ipam.json, written from v1.7). Fix: go through v1.7 first.",
            )
        if step == inputs.cni_steps[-1] and not release.supports_cni(step):
            yield blocking(
                "VER002",
                subject,
                f"{step.tag} is outside what Kubernetes {k8s} supports ({release.cni_min} to "
                f"v{release.cni_max_minor.minor_str}.x). Fix: target {release.cni}.",
            )
        previous = step


RULE = Rule(
    id="VER002",
    title="CNI path: one minor per step, never v1.5.4, ≥ v1.7 before ≥ v1.12",
    severity=Severity.BLOCKING,
    inputs=("from_", "to", "cni_steps"),
    check=ver002_cni_path,
    description=(
        "The VPC CNI moves one minor per step, never to a banned release (v1.5.4, "
        "aws/amazon-vpc-cni-k8s#641), through v1.7 or later before v1.12 or later, and "
        "ends at a release the target Kubernetes supports."
    ),
)
