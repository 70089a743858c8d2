"""The version catalog: bundled data consistency and the upgrade-path rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upgrader.catalog.versions import VersionCatalog, catalog
from upgrader.errors import ExitCode, VersionError
from upgrader.semver import Version

V = Version.parse


@pytest.fixture(scope="module")
def cat() -> VersionCatalog:
    return catalog()


# Data consistency


def test_every_eks_minor_from_1_12_to_1_35_is_present_and_contiguous(cat: VersionCatalog) -> None:
    assert [v.minor_str for v in cat.kubernetes_versions()] == [f"1.{m}" for m in range(12, 36)]
    assert cat.newest_kubernetes() == V("1.35")


@pytest.mark.parametrize("version", [f"1.{m}" for m in range(12, 36)])
def test_recommended_cni_is_known_safe_and_in_range(cat: VersionCatalog, version: str) -> None:
    release = cat.kubernetes(version)
    assert release.cni in cat.cni_releases()
    assert cat.is_banned(release.cni) is None
    assert release.supports_cni(release.cni)
    assert release.cni_min <= release.cni
    assert cat.cni_minor(release.cni_min)
    assert cat.cni_minor(release.cni_max_minor)
    assert release.source
    assert release.default_ami_family in release.ami_families


def test_cni_minors_are_contiguous_with_a_listed_latest_patch(cat: VersionCatalog) -> None:
    minors = [m.minor.minor for m in cat.cni_minors]
    assert minors == list(range(3, 24))
    for minor in cat.cni_minors:
        assert minor.latest_patch == max(minor.patches)
        assert all(p.minor_key == minor.minor.minor_key for p in minor.patches)
        assert minor.source
    assert cat.latest_patch("v1.4") == V("v1.4.1")
    assert cat.latest_patch(V("v1.5.5")) == V("v1.5.7")
    assert cat.latest_patch("v1.23") >= V("v1.23.1")


def test_cni_history_is_chronological_and_older_than_the_recommendation(
    cat: VersionCatalog,
) -> None:
    for release in cat.releases:
        versions = [item.version for item in release.cni_history]
        assert versions == sorted(versions)
        assert all(v < release.cni for v in versions)


def test_v1_5_5_is_supported_on_1_13(cat: VersionCatalog) -> None:
    assert cat.kubernetes("1.13").supports_cni(V("v1.5.5"))
    assert cat.kubernetes("1.13").supports_cni(V("v1.3.2"))


def test_lookup_accepts_patch_and_prefixed_forms(cat: VersionCatalog) -> None:
    assert cat.kubernetes("v1.13.7-eks-c57ff8").version == V("1.13")
    assert cat.kubernetes(V("1.13")) is cat.kubernetes("1.13")


def test_unknown_kubernetes_version_names_the_supported_range(cat: VersionCatalog) -> None:
    with pytest.raises(VersionError) as err:
        cat.kubernetes("1.36")
    assert "1.36" in err.value.subject
    assert "1.12" in err.value.message and "1.35" in err.value.message
    assert err.value.exit_code == ExitCode.BAD_INPUT


# CNI path


def test_path_from_the_incident_goes_through_v1_4(cat: VersionCatalog) -> None:
    assert cat.cni_path(V("v1.3.2"), V("v1.5.5"), V("1.13")) == (V("v1.4.1"), V("v1.5.5"))


def test_path_to_the_current_release_is_empty(cat: VersionCatalog) -> None:
    assert cat.cni_path(V("v1.5.5"), V("v1.5.5"), V("1.13")) == ()


def test_path_within_a_minor_is_one_step(cat: VersionCatalog) -> None:
    assert cat.cni_path("v1.5.3", "v1.5.5", "1.13") == (V("v1.5.5"),)


def test_banned_v1_5_4_is_refused_with_the_issue(cat: VersionCatalog) -> None:
    assert "#641" in (cat.is_banned("v1.5.4") or "")
    with pytest.raises(VersionError) as err:
        cat.cni_path(V("v1.3.2"), V("v1.5.4"), V("1.13"))
    assert "#641" in err.value.message
    assert "v1.5.5" in err.value.hint


def test_intermediate_steps_skip_banned_patches(cat: VersionCatalog) -> None:
    path = cat.cni_path("v1.4.1", "v1.6.3", "1.13")
    assert path == (V("v1.5.7"), V("v1.6.3"))


def test_jump_to_v1_12_passes_through_v1_7(cat: VersionCatalog) -> None:
    path = cat.cni_path(V("v1.6.3"), V("v1.12.6"), V("1.21"))
    assert any(step.minor == 7 for step in path)
    assert [step.minor for step in path] == [7, 8, 9, 10, 11, 12]
    assert path[-1] == V("v1.12.6")


def test_downgrade_is_refused(cat: VersionCatalog) -> None:
    with pytest.raises(VersionError, match="downgrade"):
        cat.cni_path("v1.6.3", "v1.5.5", "1.13")


def test_downgrade_below_v1_12_1_names_issue_2321(cat: VersionCatalog) -> None:
    with pytest.raises(VersionError) as err:
        cat.cni_path("v1.13.4", "v1.12.0", "1.22")
    assert "#2321" in err.value.message


def test_target_unsupported_on_the_kubernetes_version_is_refused(cat: VersionCatalog) -> None:
    with pytest.raises(VersionError) as err:
        cat.cni_path("v1.3.2", "v1.7.5", "1.13")
    assert "1.13" in err.value.subject
    assert "v1.6.3" in err.value.hint


def test_unknown_target_minor_or_patch_is_refused(cat: VersionCatalog) -> None:
    with pytest.raises(VersionError, match="not a minor the catalog knows"):
        cat.cni_path("v1.3.2", "v1.99.0", "1.13")
    with pytest.raises(VersionError, match=r"newer than the newest v1\.5 release"):
        cat.cni_path("v1.3.2", "v1.5.9", "1.13")


# Kubernetes steps


def test_one_minor_step_is_allowed(cat: VersionCatalog) -> None:
    cat.check_kubernetes_step("1.12", "1.13")
    cat.check_kubernetes_step("1.13", "1.13")
    assert cat.next_minor("1.12") == V("1.13")
    assert cat.next_minor("1.35") is None


def test_skipping_a_minor_is_refused_naming_both(cat: VersionCatalog) -> None:
    with pytest.raises(VersionError) as err:
        cat.check_kubernetes_step("1.12", "1.14")
    text = err.value.render()
    assert "1.12" in text and "1.14" in text
    assert "one minor per run" in err.value.hint


def test_kubernetes_downgrade_is_refused(cat: VersionCatalog) -> None:
    with pytest.raises(VersionError, match="downgrade"):
        cat.check_kubernetes_step("1.14", "1.13")


def test_removed_apis_in_1_22_include_crd_v1beta1(cat: VersionCatalog) -> None:
    removed = {(a.api_version, a.kind) for a in cat.removed_apis_between("1.21", "1.22")}
    assert ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition") in removed
    assert all(a.removed_in == V("1.22") for a in cat.removed_apis_between("1.21", "1.22"))


def test_removed_apis_in_1_25_include_pdb_v1beta1(cat: VersionCatalog) -> None:
    removed = {(a.api_version, a.kind) for a in cat.removed_apis_between("1.24", "1.25")}
    assert ("policy/v1beta1", "PodDisruptionBudget") in removed


def test_removed_apis_span_several_versions(cat: VersionCatalog) -> None:
    assert cat.removed_apis_between("1.12", "1.15") == ()
    versions = {a.removed_in for a in cat.removed_apis_between("1.15", "1.26")}
    assert versions == {V("1.16"), V("1.22"), V("1.25"), V("1.26")}


def test_crd_api_version(cat: VersionCatalog) -> None:
    assert cat.kubernetes("1.15").crd_api_version == "apiextensions.k8s.io/v1beta1"
    assert cat.kubernetes("1.16").crd_api_version == "apiextensions.k8s.io/v1"


# AMIs


def test_ami_parameter_for_1_13_is_al2(cat: VersionCatalog) -> None:
    assert (
        cat.kubernetes("1.13").ami_ssm_parameter()
        == "/aws/service/eks/optimized-ami/1.13/amazon-linux-2/recommended/image_id"
    )


def test_ami_parameter_for_1_33_is_al2023_and_al2_is_refused(cat: VersionCatalog) -> None:
    release = cat.kubernetes("1.33")
    assert release.default_ami_family == "amazon-linux-2023"
    assert release.ami_ssm_parameter() == (
        "/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id"
    )
    with pytest.raises(VersionError) as err:
        release.ami_ssm_parameter("amazon-linux-2")
    assert "1.33" in err.value.subject
    assert "amazon-linux-2023" in err.value.hint


# Skew


def test_kubelet_skew(cat: VersionCatalog) -> None:
    assert cat.kubelet_skew_ok("1.27", "1.25")
    assert not cat.kubelet_skew_ok("1.27", "1.24")
    assert cat.kubelet_skew_ok("1.28", "1.25")
    assert not cat.kubelet_skew_ok("1.28", "1.24")
    assert not cat.kubelet_skew_ok("1.13", "1.14")
    assert cat.kubelet_skew_ok("1.13", "v1.13.7-eks-c57ff8")


# Property: every path obeys the rules


@st.composite
def release_pairs(draw: st.DrawFn) -> tuple[Version, Version, Version]:
    cat = catalog()
    releases = cat.cni_releases()
    target = draw(
        st.sampled_from(
            [
                r
                for r in releases
                if cat.is_banned(r) is None and any(k.supports_cni(r) for k in cat.releases)
            ]
        )
    )
    current = draw(st.sampled_from([r for r in releases if r <= target]))
    kubernetes = draw(st.sampled_from([k.version for k in cat.releases if k.supports_cni(target)]))
    return current, target, kubernetes


@given(release_pairs())
def test_any_path_is_increasing_one_minor_per_step_and_safe(
    pair: tuple[Version, Version, Version],
) -> None:
    cat = catalog()
    current, target, kubernetes = pair
    path = cat.cni_path(current, target, kubernetes)
    if current == target:
        assert path == ()
        return
    assert path[-1] == target
    previous = current
    for step in path:
        assert step > previous
        assert step.minor - previous.minor <= 1
        assert cat.is_banned(step) is None
        assert step in cat.cni_releases()
        if step >= V("v1.12.0"):
            assert previous >= V("v1.7.0")
        previous = step
