"""The version catalog: EKS Kubernetes minors and VPC CNI releases, read from bundled data.

Data and sources live in ``data/kubernetes.yaml`` and ``data/cni_releases.yaml``; this module
only loads them and answers questions (which step is allowed, which CNI releases to apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from upgrader.catalog import data_yaml
from upgrader.errors import VersionError
from upgrader.semver import Version

K8S_DATA = "upgrader/catalog/data/kubernetes.yaml"
CNI_DATA = "upgrader/catalog/data/cni_releases.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class RemovedApi:
    """An API version of a kind that stops being served in ``removed_in``."""

    api_version: str
    kind: str
    replacement: str
    removed_in: Version


@dataclass(frozen=True, slots=True, kw_only=True)
class CniRecommendation:
    """An earlier VPC CNI recommendation for a Kubernetes version."""

    version: Version
    date: str | None
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KubernetesRelease:
    """One EKS Kubernetes minor and what runs with it."""

    version: Version
    cni: Version
    cni_history: tuple[CniRecommendation, ...]
    cni_min: Version
    cni_max_minor: Version
    kube_proxy: str
    coredns: str
    ami_ssm_parameters: tuple[tuple[str, str], ...]
    default_ami_family: str
    removed_apis: tuple[RemovedApi, ...]
    kubelet_skew: int
    crd_api_version: str
    eks_release: str | None
    source: str

    @property
    def ami_families(self) -> tuple[str, ...]:
        """AMI families EKS publishes for this version."""
        return tuple(family for family, _ in self.ami_ssm_parameters)

    def supports_cni(self, cni: Version) -> bool:
        """Whether ``cni`` is an accepted VPC CNI target on this version."""
        return self.cni_min <= cni and cni.minor_key <= self.cni_max_minor.minor_key

    def ami_ssm_parameter(self, family: str | None = None) -> str:
        """SSM parameter of the recommended EKS AMI ID; ``None`` means the default family."""
        wanted = family or self.default_ami_family
        for name, path in self.ami_ssm_parameters:
            if name == wanted:
                return path
        raise VersionError(
            f"AMI family {wanted!r} on Kubernetes {self.version.minor_str}",
            f"EKS publishes no {wanted} AMI for {self.version.minor_str}",
            f"use one of: {', '.join(self.ami_families)}",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CniMinor:
    """The known releases of one VPC CNI minor (``minor`` is ``vX.Y.0``)."""

    minor: Version
    patches: tuple[Version, ...]
    latest_patch: Version
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BannedCni:
    """A VPC CNI release that must never be applied."""

    version: Version
    reason: str
    issue: str
    use_instead: tuple[Version, ...]
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CniPrerequisite:
    """Reaching ``target_at_least`` or later requires running ``requires_at_least`` first."""

    target_at_least: Version
    requires_at_least: Version
    reason: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CniDowngradeFloor:
    """After running ``once_at_least`` or later, never go below ``floor``."""

    once_at_least: Version
    floor: Version
    reason: str
    issue: str
    source: str


def _parse(value: str | Version, what: str) -> Version:
    return value if isinstance(value, Version) else Version.parse(str(value), what)


def _minor_of(version: Version) -> Version:
    return Version(version.major, version.minor)


def _cni_minor_str(version: Version) -> str:
    return f"v{version.major}.{version.minor}"


def _either(versions: tuple[Version, ...]) -> str:
    return " or ".join(str(v) for v in versions)


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionCatalog:
    """All known Kubernetes minors and VPC CNI releases, with the rules between them."""

    releases: tuple[KubernetesRelease, ...]
    cni_minors: tuple[CniMinor, ...]
    banned: tuple[BannedCni, ...]
    prerequisites: tuple[CniPrerequisite, ...]
    downgrade_floors: tuple[CniDowngradeFloor, ...]

    # Kubernetes

    def kubernetes(self, version: str | Version) -> KubernetesRelease:
        """The release of Kubernetes minor ``version`` ("1.13", "v1.13.7" and Version all work)."""
        wanted = _parse(version, "Kubernetes version")
        for release in self.releases:
            if release.version.minor_key == wanted.minor_key:
                return release
        first, last = self.releases[0].version.minor_str, self.releases[-1].version.minor_str
        raise VersionError(
            f"Kubernetes {wanted.minor_str}",
            f"is not in the version catalog, which knows {first} to {last}",
            f"choose a version from {first} to {last}, or add it with its sources to {K8S_DATA}",
        )

    def kubernetes_versions(self) -> tuple[Version, ...]:
        """Every known Kubernetes minor, oldest first."""
        return tuple(release.version for release in self.releases)

    def newest_kubernetes(self) -> Version:
        """The newest Kubernetes minor the catalog knows."""
        return self.releases[-1].version

    def next_minor(self, version: str | Version) -> Version | None:
        """The minor after ``version``, or None if ``version`` is the newest known."""
        current = self.kubernetes(version).version
        for release in self.releases:
            if release.version.minor_key == (current.major, current.minor + 1):
                return release.version
        return None

    def check_kubernetes_step(self, current: str | Version, target: str | Version) -> None:
        """Refuse anything but staying put or moving exactly one minor up."""
        now = self.kubernetes(current).version
        then = self.kubernetes(target).version
        if then == now:
            return
        subject = f"Kubernetes {now.minor_str} -> {then.minor_str}"
        if then < now:
            raise VersionError(
                subject,
                "is a downgrade; an EKS control plane cannot be downgraded",
                f"keep {now.minor_str} or set the target to a newer minor",
            )
        step = self.next_minor(now)
        if step is None or then != step:
            raise VersionError(
                subject,
                f"skips {then.minor - now.minor - 1} minor version(s); "
                "EKS upgrades the control plane one minor at a time",
                f"upgrade one minor per run: target {now.minor_str} -> "
                f"{step.minor_str if step else then.minor_str} first, "
                f"then run again for each minor up to {then.minor_str}",
            )

    def removed_apis_between(
        self, current: str | Version, target: str | Version
    ) -> tuple[RemovedApi, ...]:
        """APIs removed in the versions after ``current`` up to and including ``target``."""
        low = self.kubernetes(current).version.minor_key
        high = self.kubernetes(target).version.minor_key
        return tuple(
            api
            for release in self.releases
            if low < release.version.minor_key <= high
            for api in release.removed_apis
        )

    def check_cni_release(self, version: Version, subject: str) -> Version:
        """``version`` if it can be a VPC CNI release: major 1, a minor from v1.0 up to the
        newest the catalog knows (patches of known minors are not all confirmed, so a patch
        is not judged). VersionError naming the known range otherwise."""
        newest = self.cni_releases()[-1]
        if version.major != 1 or version.minor_key > newest.minor_key:
            raise VersionError(
                subject,
                f"{version.tag} is not a VPC CNI release upgrader knows (releases run from "
                f"v1.0.0 to {newest.tag})",
                f"name a release such as {self.latest_patch(newest)}; if {version.tag} is "
                "newer than this upgrader, upgrade upgrader",
            )
        return version

    def known_api_versions(self, kind: str) -> frozenset[str]:
        """Every apiVersion any Kubernetes release served for ``kind``
        (``data/api_versions.yaml``); empty for a kind the catalog does not track."""
        return _api_versions().get(kind, frozenset())

    def kubelet_skew_ok(self, control_plane: str | Version, kubelet: str | Version) -> bool:
        """Whether a kubelet (or kube-proxy) of ``kubelet`` may run under ``control_plane``."""
        plane = self.kubernetes(control_plane)
        node = _parse(kubelet, "kubelet version")
        if node.major != plane.version.major:
            return False
        return 0 <= plane.version.minor - node.minor <= plane.kubelet_skew

    # VPC CNI

    def cni_releases(self) -> tuple[Version, ...]:
        """Every known VPC CNI release, oldest first (banned ones included)."""
        return tuple(sorted(patch for minor in self.cni_minors for patch in minor.patches))

    def cni_minor(self, minor: str | Version) -> CniMinor:
        """The known releases of VPC CNI minor ``minor`` ("v1.5", "v1.5.5" or Version)."""
        wanted = _parse(minor, "VPC CNI version")
        for entry in self.cni_minors:
            if entry.minor.minor_key == wanted.minor_key:
                return entry
        first, last = self.cni_minors[0].minor, self.cni_minors[-1].minor
        raise VersionError(
            f"VPC CNI {_cni_minor_str(wanted)}",
            f"is not a minor the catalog knows ({_cni_minor_str(first)} to {_cni_minor_str(last)})",
            f"choose a listed release, or add the minor with its source to {CNI_DATA}",
        )

    def latest_patch(self, minor: str | Version) -> Version:
        """The newest known release of VPC CNI minor ``minor``."""
        return self.cni_minor(minor).latest_patch

    def is_banned(self, version: str | Version) -> str | None:
        """Why ``version`` must never be applied, or None if it may be."""
        ban = self._ban(_parse(version, "VPC CNI version"))
        if ban is None:
            return None
        return f"{ban.reason} ({ban.issue}); use {_either(ban.use_instead)}"

    def _ban(self, version: Version) -> BannedCni | None:
        return next((ban for ban in self.banned if ban.version == version), None)

    def cni_path(
        self, current: str | Version, target: str | Version, kubernetes: str | Version
    ) -> tuple[Version, ...]:
        """The VPC CNI releases to apply in order to go from ``current`` to ``target``.

        One minor per step; each intermediate step is the newest non-banned patch of its
        minor and the last step is exactly ``target``. Empty when already at ``target``.
        """
        now = _parse(current, "current VPC CNI version")
        then = _parse(target, "target VPC CNI version")
        release = self.kubernetes(kubernetes)
        subject = f"VPC CNI {now} -> {then}"
        ban = self._ban(then)
        if ban is not None:
            raise VersionError(
                f"VPC CNI {then}",
                f"is banned: {ban.reason} ({ban.issue})",
                f"set the CNI target to {_either(ban.use_instead)}",
            )
        if then < now:
            raise self._downgrade_error(subject, now, then)
        if then.major != now.major:
            raise VersionError(
                subject, "crosses a major version", f"the catalog has no path; see {CNI_DATA}"
            )
        known = self.cni_minor(then)
        if then > known.latest_patch:
            raise VersionError(
                f"VPC CNI {then}",
                f"is newer than the newest {_cni_minor_str(then)} release the catalog knows "
                f"({known.latest_patch})",
                f"target a known release, or add {then} with its source to {CNI_DATA}",
            )
        if not release.supports_cni(then):
            raise VersionError(
                f"VPC CNI {then} on Kubernetes {release.version.minor_str}",
                f"is outside the supported range {release.cni_min} to "
                f"{_cni_minor_str(release.cni_max_minor)}.x",
                f"target a release in that range, e.g. the recommended {release.cni}",
            )
        if then == now:
            return ()
        steps = [
            self._newest_safe(self.cni_minor(Version(now.major, minor)))
            for minor in range(now.minor + 1, then.minor)
        ]
        steps.append(then)
        self._check_prerequisites(subject, now, steps)
        return tuple(steps)

    def _newest_safe(self, minor: CniMinor) -> Version:
        allowed = [patch for patch in minor.patches if self.is_banned(patch) is None]
        if not allowed:
            raise VersionError(
                f"VPC CNI {_cni_minor_str(minor.minor)}",
                "has no release that may be applied",
                f"add a safe release with its source to {CNI_DATA}",
            )
        return max(allowed)

    def _check_prerequisites(self, subject: str, start: Version, steps: list[Version]) -> None:
        previous = start
        for step in steps:
            for rule in self.prerequisites:
                if step >= rule.target_at_least and previous < rule.requires_at_least:
                    raise VersionError(
                        subject,
                        f"would go from {previous} to {step}, but reaching "
                        f"{rule.target_at_least} or later needs {rule.requires_at_least} or later "
                        f"first ({rule.reason})",
                        f"upgrade to {rule.requires_at_least} or later first, one minor at a time",
                    )
            previous = step

    def _downgrade_error(self, subject: str, now: Version, then: Version) -> VersionError:
        for floor in self.downgrade_floors:
            if now >= floor.once_at_least and then < floor.floor:
                return VersionError(
                    subject,
                    f"is a downgrade below {floor.floor}: {floor.reason} ({floor.issue})",
                    f"stay on {now} or move forward; never go below {floor.floor}",
                )
        return VersionError(
            subject,
            "is a downgrade, which the upgrader does not plan",
            f"stay on {now} or move forward",
        )


@cache
def _api_versions() -> dict[str, frozenset[str]]:
    raw = _read("api_versions.yaml")["kinds"]
    return {str(kind): frozenset(map(str, versions)) for kind, versions in raw.items()}


def _read(name: str) -> Any:
    return data_yaml.load(resources.files("upgrader.catalog").joinpath(f"data/{name}").read_text())


def _release(name: str, raw: dict[str, Any]) -> KubernetesRelease:
    version = Version.parse(name, "Kubernetes version")
    return KubernetesRelease(
        version=version,
        cni=Version.parse(raw["cni"]),
        cni_history=tuple(
            CniRecommendation(
                version=Version.parse(item["version"]),
                date=item.get("date"),
                note=item.get("note", ""),
            )
            for item in raw["cni_history"]
        ),
        cni_min=Version.parse(raw["cni_supported"]["min"]),
        cni_max_minor=_minor_of(Version.parse(raw["cni_supported"]["max_minor"])),
        kube_proxy=raw["kube_proxy"],
        coredns=raw["coredns"],
        ami_ssm_parameters=tuple(raw["ami_ssm_parameters"].items()),
        default_ami_family=raw["default_ami_family"],
        removed_apis=tuple(
            RemovedApi(
                api_version=api["api_version"],
                kind=api["kind"],
                replacement=api["replacement"],
                removed_in=version,
            )
            for api in raw["removed_apis"]
        ),
        kubelet_skew=int(raw["skew"]),
        crd_api_version=raw["crd_api"],
        eks_release=raw.get("eks_release"),
        source=raw["source"],
    )


@cache
def catalog() -> VersionCatalog:
    """The bundled version catalog (loaded once)."""
    kubernetes = _read("kubernetes.yaml")["versions"]
    cni = _read("cni_releases.yaml")
    rules = cni["path_rules"]
    releases = sorted(
        (_release(name, raw) for name, raw in kubernetes.items()), key=lambda r: r.version
    )
    minors = sorted(
        (
            CniMinor(
                minor=_minor_of(Version.parse(name)),
                patches=tuple(sorted(Version.parse(p) for p in raw["patches"])),
                latest_patch=Version.parse(raw["latest_patch"]),
                source=raw["source"],
            )
            for name, raw in cni["minors"].items()
        ),
        key=lambda m: m.minor,
    )
    return VersionCatalog(
        releases=tuple(releases),
        cni_minors=tuple(minors),
        banned=tuple(
            BannedCni(
                version=Version.parse(ban["version"]),
                reason=ban["reason"],
                issue=ban["issue"],
                use_instead=tuple(Version.parse(v) for v in ban["use_instead"]),
                source=ban["source"],
            )
            for ban in cni["banned"]
        ),
        prerequisites=tuple(
            CniPrerequisite(
                target_at_least=Version.parse(rule["target_at_least"]),
                requires_at_least=Version.parse(rule["requires_at_least"]),
                reason=rule["reason"],
                source=rule["source"],
            )
            for rule in rules["prerequisites"]
        ),
        downgrade_floors=tuple(
            CniDowngradeFloor(
                once_at_least=Version.parse(rule["once_at_least"]),
                floor=Version.parse(rule["floor"]),
                reason=rule["reason"],
                issue=rule["issue"],
                source=rule["source"],
            )
            for rule in rules["downgrade_floors"]
        ),
    )
