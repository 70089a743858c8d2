"""Config file (DESIGN §4): contract keys, defaults, and every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from upgrader.config import GATE_DEFAULTS, load, parse
from upgrader.errors import ConfigError, ExitCode
from upgrader.semver import Version

GOOD = """\
cluster: staging
region: ap-northeast-1
stacks:
  control_plane: staging-eks
  nodegroups: [staging-workers]
target:
  kubernetes: "1.13"
  cni: v1.5.5
cni:
  env: {WARM_ENI_TARGET: "1"}
gates: {subnet_reserve_ips: 12}
"""


def test_design_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "upgrader.yaml"
    path.write_text(GOOD)
    cfg = load(path)
    assert cfg.cluster == "staging"
    assert cfg.region == "ap-northeast-1"
    assert cfg.control_plane_stack == "staging-eks"
    assert cfg.nodegroup_stacks == ("staging-workers",)
    assert cfg.target_kubernetes == Version.parse("1.13")
    assert cfg.target_cni == Version.parse("v1.5.5")
    assert cfg.cni_env == (("WARM_ENI_TARGET", "1"),)
    assert cfg.gate("subnet_reserve_ips") == 12
    assert cfg.gate("control_plane_min_free_ips") == GATE_DEFAULTS["control_plane_min_free_ips"]
    assert cfg.kubeconfig is None and cfg.manifests is None


def test_to_overrides_the_target(tmp_path: Path) -> None:
    path = tmp_path / "upgrader.yaml"
    path.write_text(GOOD)
    assert load(path, target="1.14").target_kubernetes == Version.parse("1.14")


def test_every_problem_is_listed_with_exit_2(tmp_path: Path) -> None:
    raw = {
        "cluster": "",
        "region": "tokyo",
        "stacks": {"nodegroups": "workers"},
        "target": {"kubernetes": "1.99"},
        "gates": {"subnet_reserve_ips": -1, "bogus": 1},
        "kubeconfig": "missing/kubeconfig",
        "extra": True,
    }
    with pytest.raises(ConfigError) as err:
        parse(raw, tmp_path / "upgrader.yaml")
    assert err.value.exit_code == ExitCode.BAD_INPUT
    text = err.value.render()
    for key in (
        "cluster:",
        "region:",
        "stacks.control_plane:",
        "stacks.nodegroups:",
        "target.kubernetes:",
        "gates.subnet_reserve_ips:",
        "gates.bogus:",
        "kubeconfig:",
        "extra: unknown key",
    ):
        assert key in text, key


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cluster: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(bad)


def test_relative_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "kube").write_text("")
    path = tmp_path / "upgrader.yaml"
    path.write_text(GOOD + "kubeconfig: kube\n")
    assert load(path).kubeconfig == tmp_path / "kube"


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (("gates: {subnet_reserve_ips: 12}", "gates: {control_plane_min_azs: 0}"),
         ["gates.control_plane_min_azs", "would switch CAP002 off", "at least 1"]),
        (("cni: v1.5.5", "cni: v9.9.9"),
         ["target.cni", "v9.9.9 is not a VPC CNI release upgrader knows", "v1.23"]),
    ],
)  # fmt: skip
def test_values_that_would_switch_a_gate_off_or_name_no_release(
    tmp_path: Path, edit: tuple[str, str], needles: list[str]
) -> None:
    path = tmp_path / "upgrader.yaml"
    path.write_text(GOOD.replace(*edit))
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.exit_code == ExitCode.BAD_INPUT
    for needle in needles:
        assert needle in err.value.render()
