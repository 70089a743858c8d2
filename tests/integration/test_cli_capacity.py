"""`upgrader capacity` and `upgrader catalog refresh` through the installed console script."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from upgrader.adapters import instance_catalog
from upgrader.catalog import instances

CONTRACT_KEYS = {
    "instance_type",
    "max_enis",
    "ipv4_per_eni",
    "max_pods",
    "pod_ip_capacity",
    "enis_attached",
    "subnet_ips",
}


def upgrader(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("upgrader")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, check=False, env=env, timeout=120
    )


def capacity_json(*args: str) -> dict[str, object]:
    p = upgrader("capacity", *args, "--format", "json")
    assert p.returncode == 0, p.stderr
    data: dict[str, object] = json.loads(p.stdout)
    return data


def test_contract_keys_and_r5_xlarge() -> None:
    d = capacity_json("--instance-type", "r5.xlarge")
    assert set(d) >= CONTRACT_KEYS
    assert (d["max_enis"], d["ipv4_per_eni"], d["max_pods"], d["pod_ip_capacity"]) == (
        4,
        15,
        58,
        56,
    )


@pytest.mark.parametrize(
    ("args", "subnet_ips"),
    [
        (["--pods", "10", "--cni-version", "v1.10.1", "--warm-eni-target", "1"], 30),
        (
            [
                "--pods",
                "30",
                "--cni-version",
                "v1.10.1",
                "--warm-ip-target",
                "5",
                "--minimum-ip-target",
                "10",
            ],
            38,
        ),
        (["--pods", "0", "--cni-version", "v1.10.1", "--warm-eni-target", "1"], 15),
        (
            [
                "--pods",
                "30",
                "--cni-version",
                "v1.10.1",
                "--prefix-delegation",
                "--warm-prefix-target",
                "1",
            ],
            49,
        ),
        (["--pods", "30", "--cni-version", "v1.10.1", "--custom-networking"], 46),
    ],
)
def test_worked_examples(args: list[str], subnet_ips: int) -> None:
    assert capacity_json("--instance-type", "r5.xlarge", *args)["subnet_ips"] == subnet_ips


def test_calculator_cap() -> None:
    d = capacity_json("--instance-type", "c5.18xlarge", "--max-pods-cap")
    assert (d["max_pods"], d["max_pods_uncapped"]) == (250, 737)


def test_text_table_has_the_seed_columns() -> None:
    p = upgrader("capacity", "--instance-type", "r5.xlarge", "--pods", "28")
    assert p.returncode == 0, p.stderr
    assert "| API Name | Memory | vCPUs | Max IPs | Max ENIs |" in p.stdout
    assert "| r5.xlarge | 32 GiB | 4 | 60 | 4 | 15 | 58 | 45 |" in p.stdout


@pytest.mark.parametrize(
    ("name", "limits"),
    [("p3.2xlarge", (4, 15, 58)), ("f1.2xlarge", (4, 15, 58)), ("dl1.24xlarge", (15, 50, 737))],
)
def test_types_only_the_cni_tables_list_have_their_limits(
    name: str, limits: tuple[int, int, int]
) -> None:
    d = capacity_json("--instance-type", name)
    assert (d["max_enis"], d["ipv4_per_eni"], d["max_pods"]) == limits
    assert d["vcpus"] is None and d["memory_mib"] is None and d["blocked"] is None


def test_unknown_vcpus_and_memory_print_as_a_dash() -> None:
    p = upgrader("capacity", "--instance-type", "g4ad.xlarge")
    assert p.returncode == 0, p.stderr
    assert "| g4ad.xlarge | — | — | 8 | 2 | 4 | 8 | 4 |" in p.stdout


def test_type_unknown_to_an_old_ipamd_exits_3_naming_the_release() -> None:
    args = ("capacity", "--cni-version", "v1.5.0", "--instance-type", "g4dn.xlarge")
    p = upgrader(*args, "--format", "json")
    assert p.returncode == 3, p.stderr
    d = json.loads(p.stdout)
    assert d["ipamd_knows_instance_type"] is False
    assert d["first_release_knowing_instance_type"] == "v1.5.4"
    assert d["first_release_upgrader_applies"] == "v1.5.5"
    assert "does not know g4dn.xlarge" in d["blocked"]
    assert "v1.5.4 is the first release that knows it" in p.stderr
    assert "fix: use --cni-version v1.5.5 or later" in p.stderr
    for version in ("v1.5.5", "v1.6.0"):
        ok = upgrader("capacity", "--cni-version", version, "--instance-type", "g4dn.xlarge")
        assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--instance-type", "no.such"], "no.such"),
        (["--instance-type", "r5.xlarge", "--cni-version", "banana"], "--cni-version"),
        (["--instance-type", "r5.xlarge", "--pods", "-1"], "--pods"),
        (["--instance-type", "r5.xlarge", "--pods", "many"], "pods"),
        (["--instance-type", "r5.xlarge", "--warm-eni-target", "-2"], "warm_eni_target"),
    ],
)
def test_bad_input_exits_2_with_a_fix(args: list[str], needle: str) -> None:
    p = upgrader("capacity", *args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert needle in p.stderr
    assert "Traceback" not in p.stderr


def test_bundled_catalog_is_what_the_generator_makes(tmp_path: Path) -> None:
    out = tmp_path / "types.csv"
    assert instance_catalog.main(["--from", "moto", "-o", str(out)]) == 0
    bundled = Path(instances.__file__).parent / "data" / "instance_types.csv"
    assert out.read_text() == bundled.read_text(), (
        "regenerate: python -m upgrader.adapters.instance_catalog --from moto "
        "-o upgrader/catalog/data/instance_types.csv"
    )


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.mark.integration
def test_live_refresh_over_http(moto_endpoint: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "UPGRADER_CACHE_DIR": str(tmp_path),
    }
    p = upgrader("catalog", "refresh", "--region", "us-east-1", env=env)
    assert p.returncode == 0, p.stderr
    refreshed = instances.from_csv((tmp_path / "instance-types.csv").read_text())
    assert refreshed["r5.xlarge"] == instances.bundled().get("r5.xlarge")
    assert len(refreshed) > 1000
    p = upgrader("capacity", "--instance-type", "r5.xlarge", "--format", "json", env=env)
    assert json.loads(p.stdout)["max_pods"] == 58
