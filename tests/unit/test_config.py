"""Config file (DESIGN §4): contract keys, defaults, and every problem at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.bad_inputs import BILLION_LAUGHS
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


def _problems(path: Path, text: str, *, target: str | None = None) -> str:
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(path, target=target)
    assert err.value.exit_code == ExitCode.BAD_INPUT
    return err.value.render()


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("  nodegroups: [", "  nodegroup: ["),
         "stacks.nodegroup: unknown key; did you mean `stacks.nodegroups`?"),
        (("  cni: v1.5.5", "  cin: v1.5.5"), "target.cin: unknown key; did you mean `target.cni`?"),
        (("  env:", "  evn:"), "cni.evn: unknown key; did you mean `cni.env`?"),
        (("gates: {subnet_reserve_ips: 12}", "gates: {subnet_reserv_ips: 12}"),
         "gates.subnet_reserv_ips: unknown key; did you mean `gates.subnet_reserve_ips`?"),
        (("cluster:", "clutser:"), "clutser: unknown key; did you mean `cluster`?"),
        (("cluster: staging", "cluster: staging\nzzz: 1"),
         "zzz: unknown key (known: addons, cluster, cni, gates, kubeconfig, manifests, region, "
         "rollback, stacks, target)"),
        (('kubernetes: "1.13"', "kubernetes: 1.20"),
         'target.kubernetes: read as 1.2 (a YAML number); quote it: "1.20"'),
        (('kubernetes: "1.13"', "kubernetes: 1.13"),
         'target.kubernetes: read as 1.13 (a YAML number); quote it: "1.13"'),
        (('kubernetes: "1.13"', 'kubernetes: "1.11"'),
         "target.kubernetes: '1.11' is not a Kubernetes version upgrader knows (it is older "
         "than 1.12, the oldest minor upgrader can upgrade from, and a control plane is never "
         "downgraded); nearest: 1.12"),
        (('kubernetes: "1.13"', 'kubernetes: "1.99"'),
         "target.kubernetes: '1.99' is not a Kubernetes version upgrader knows (the catalog "
         "knows 1.12 to 1.35); nearest: 1.35"),
        (("cni: v1.5.5", "cni: v1.5.6"),
         "target.cni: v1.5.6 is not a VPC CNI release upgrader knows (the catalog knows v1.3.0 "
         "to v1.23.3); nearest: v1.5.5, v1.5.7"),
        (("cni: v1.5.5", "cni: v1.5.4"), "target.cni: 'v1.5.4' must never be applied"),
        (("cni: v1.5.5", "cni: 1.5"),
         'target.cni: read as 1.5 (a YAML number); quote it: "v1.5.0"'),
        (('{WARM_ENI_TARGET: "1"}', "{WARM_ENI_TARGET: 1}"),
         "cni.env.WARM_ENI_TARGET: must be a string (quote it); read (not shown)"),
        (('{WARM_ENI_TARGET: "1"}', '{"WARM ENI": "1"}'),
         "cni.env: 'WARM ENI' cannot be environment variable names"),
        (("[staging-workers]", "[staging-workers, staging-workers]"),
         "stacks.nodegroups: 'staging-workers' is listed 2 times; list each node-group stack once"),
        (("[staging-workers]", "[staging-workers, staging-eks]"),
         "stacks.nodegroups: 'staging-eks' is the control-plane stack (stacks.control_plane); "
         "list only node-group stacks here"),
        (("[staging-workers]", "staging-workers"),
         "stacks.nodegroups: must be a list; read 'staging-workers'"),
        (("gates: {subnet_reserve_ips: 12}", "gates: {subnet_reserve_ips: true}"),
         "gates.subnet_reserve_ips: must be a whole number; read True"),
        (("gates: {subnet_reserve_ips: 12}", 'gates: {subnet_reserve_ips: "12"}'),
         "gates.subnet_reserve_ips: must be a whole number; read '12'"),
        (("gates: {subnet_reserve_ips: 12}", "gates: {stuck_pod_seconds: -1}"),
         "gates.stuck_pod_seconds: -1 must be a whole number >= 0"),
        (("region: ap-northeast-1", "region: tokyo"),
         "region: 'tokyo' is not an AWS region (ap-northeast-1)"),
        (("cluster: staging", "cluster: 12"), "cluster: must be a string (quote it); read 12"),
        (("gates: {subnet_reserve_ips: 12}", "manifests: [a]"),
         "manifests: must be a path (a string); read ['a']"),
    ],
)  # fmt: skip
def test_schema_problems_name_the_key_and_the_value_read(
    tmp_path: Path, edit: tuple[str, str], needle: str
) -> None:
    assert edit[0] in GOOD
    assert needle in _problems(tmp_path / "upgrader.yaml", GOOD.replace(*edit))


def test_all_problems_are_listed_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("  nodegroups: [", "  nodegroup: [")
        .replace("  cni: v1.5.5", "  cin: v9.9.9")
        .replace("  env:", "  evn:")
        .replace('"1.13"', "1.20")
        + "kubeconfig: nowhere/kubeconfig\n"
    )
    rendered = _problems(tmp_path / "upgrader.yaml", text, target="1.11")
    lines = [line.strip() for line in rendered.splitlines()[1:-1]]
    assert [line.split(":")[0] for line in lines] == [
        "target.kubernetes (--to)",
        "stacks.nodegroup",
        "target.kubernetes",
        "target.cin",
        "cni.evn",
        "kubeconfig",
    ]
    assert f"kubeconfig: {tmp_path / 'nowhere/kubeconfig'} does not exist" in rendered


def test_paths_must_be_regular_files(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    rendered = _problems(tmp_path / "upgrader.yaml", GOOD + "manifests: dir\n")
    assert f"manifests: {tmp_path / 'dir'} is a directory, not a regular file" in rendered


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "upgrader.yaml: is empty"),
        ("- a\n- b\n", "upgrader.yaml: is a YAML list, not a mapping of keys"),
        ("target: {kubernetes: '1.13'}\n",
         "cluster: is missing\n    region: is missing\n    stacks: is missing"),
        (GOOD.replace('  kubernetes: "1.13"\n', ""),
         "target.kubernetes: is missing (or pass --to)"),
    ],
)  # fmt: skip
def test_empty_wrong_shape_and_missing_keys(tmp_path: Path, text: str, needle: str) -> None:
    assert needle in _problems(tmp_path / "upgrader.yaml", text)


def test_nulls_are_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "upgrader.yaml"
    path.write_text(
        "cluster: c\nregion: us-east-1\nstacks: {control_plane: c-eks}\n"
        'target: {kubernetes: "1.13", cni: null}\ncni: null\ngates: null\n'
        "kubeconfig: null\nmanifests: null\n"
    )
    cfg = load(path)
    assert cfg.nodegroup_stacks == () and cfg.target_cni is None and cfg.cni_env == ()
    assert cfg.gates == tuple(sorted(GATE_DEFAULTS.items()))


def test_a_config_that_is_no_text_file_is_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS)
    for path, needle in (
        (tmp_path, "is a directory"),
        (fifo, "is a FIFO"),
        (bomb, "alias bomb"),
    ):
        with pytest.raises(ConfigError) as err:
            load(path)
        assert err.value.subject == f"config file {path}"
        assert needle in err.value.message
