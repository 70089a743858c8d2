"""API001: no object, compiled or live, uses an API the target Kubernetes does not serve."""

from __future__ import annotations

from collections.abc import Iterator

from upgrader.catalog.versions import RemovedApi, catalog
from upgrader.gates.findings import blocking
from upgrader.gates.inputs import ApiUse, GateInputs
from upgrader.gates.rule import Rule
from upgrader.model.plan import Finding, Severity
from upgrader.semver import Version

CRD_KIND = "CustomResourceDefinition"
CRD_V1 = "apiextensions.k8s.io/v1"
CRD_V1_SINCE = Version(1, 16)


def _removed_index(removed: tuple[RemovedApi, ...]) -> dict[tuple[str, str], RemovedApi]:
    return {(r.api_version, r.kind): r for r in removed}


def _hit(use: ApiUse, api: RemovedApi, where: str) -> Finding:
    return blocking(
        "API001",
        use.ref,
        f"{where} uses {use.api_version} {use.kind}, removed in Kubernetes "
        f"{api.removed_in.minor_str}. Fix: rewrite it with {api.replacement} "
        "(and re-apply it before the control-plane upgrade if it is live).",
    )


def api001_removed_apis(inputs: GateInputs) -> Iterator[Finding]:
    """Live objects use no API removed between the current and the target minor;
    compiled manifests (applied on the target) use no API removed up to the target and
    no CRD API the target does not serve yet."""
    cat = catalog()
    target = cat.kubernetes(inputs.to.kubernetes).version
    live_removed = _removed_index(cat.removed_apis_between(inputs.from_.kubernetes, target))
    first = cat.kubernetes_versions()[0]
    all_removed = _removed_index(
        (*cat.kubernetes(first).removed_apis, *cat.removed_apis_between(first, target))
    )
    for obj in sorted(inputs.state.live_objects, key=lambda o: (o.kind, o.namespace or "", o.name)):
        use = ApiUse(
            source="live",
            api_version=obj.api_version,
            kind=obj.kind,
            namespace=obj.namespace,
            name=obj.name,
        )
        api = live_removed.get((use.api_version, use.kind))
        if api is not None:
            yield _hit(use, api, "the live object (last applied)")
    for use in sorted(inputs.manifest_apis, key=lambda u: (u.source, u.kind, u.ref)):
        api = all_removed.get((use.api_version, use.kind))
        known = cat.known_api_versions(use.kind)
        if api is not None:
            yield _hit(use, api, f"manifest {use.source}")
        elif known and use.api_version not in known:
            yield blocking(
                "API001",
                use.ref,
                f"manifest {use.source} uses {use.api_version} {use.kind}, which no Kubernetes "
                f"release serves. Fix: use one of {', '.join(sorted(known))} (the newest that "
                f"Kubernetes {target.minor_str} serves).",
            )
        elif use.kind == CRD_KIND and use.api_version == CRD_V1 and target < CRD_V1_SINCE:
            yield blocking(
                "API001",
                use.ref,
                f"manifest {use.source} uses {CRD_V1}, which Kubernetes {target.minor_str} "
                f"does not serve yet (from 1.16). Fix: use {cat.kubernetes(target).crd_api_version}"
                " for this version.",
            )


RULE = Rule(
    id="API001",
    title="no manifest uses an API removed in the target",
    severity=Severity.BLOCKING,
    inputs=("state", "from_", "to", "manifest_apis"),
    check=api001_removed_apis,
    description=(
        "Manifests (the compiled jsonnet and the team's own) use no API removed up to the "
        "target Kubernetes version, nor a CRD API the target does not serve yet; live "
        "objects (as last applied) use no API removed between the current and the target "
        "version."
    ),
)
