"""``/v1/enis`` of every release shape read into one pool (research/vpc-cni.md §6)."""

from __future__ import annotations

import json

import pytest

from upgrader.diagnosis.pool import Pool, PoolFormatError, parse_pool

ZERO = "0001-01-01T00:00:00Z"
FREED = "2026-12-07T05:00:00.000000Z"
POD_KEY = {"networkName": "aws-cni", "containerID": "abc", "ifName": "eth0"}
NO_KEY = {"networkName": "", "containerID": "", "ifName": ""}

V1_3 = {
    "TotalIPs": 3,
    "AssignedIPs": 1,
    "ENIIPPools": {
        "eni-a": {
            "IsPrimary": True,
            "DeviceNumber": 0,
            "AssignedIPv4Addresses": 1,
            "IPv4Addresses": {"10.0.0.5": {"Assigned": True}, "10.0.0.6": {"Assigned": False}},
        },
        "eni-b": {
            "IsPrimary": False,
            "DeviceNumber": 1,
            "AssignedIPv4Addresses": 0,
            "IPv4Addresses": {"10.0.0.7": {"Assigned": False}},
        },
    },
}
V1_5 = {
    "TotalIPs": 2,
    "AssignedIPs": 1,
    "ENIIPPools": {
        "eni-a": {
            "IsPrimary": True,
            "ID": "eni-a",
            "DeviceNumber": 0,
            "AssignedIPv4Addresses": 1,
            "IPv4Addresses": {
                "10.0.0.5": {"Address": "10.0.0.5", "Assigned": True, "UnassignedTime": ZERO},
                "10.0.0.6": {"Address": "10.0.0.6", "Assigned": False, "UnassignedTime": FREED},
            },
        }
    },
}
V1_7 = {
    "TotalIPs": 2,
    "AssignedIPs": 1,
    "ENIs": {
        "eni-a": {
            "ID": "eni-a",
            "IsPrimary": True,
            "DeviceNumber": 0,
            "IPv4Addresses": {
                "10.0.0.5": {"IPAMKey": POD_KEY, "Address": "10.0.0.5", "UnassignedTime": ZERO},
                "10.0.0.6": {"IPAMKey": NO_KEY, "Address": "10.0.0.6", "UnassignedTime": ZERO},
            },
        }
    },
}


def _cidrs(prefix: bool, listed: dict[str, object]) -> dict[str, object]:
    block = "10.0.0.16/28" if prefix else "10.0.0.5/32"
    return {block: {"Cidr": {}, "IPAddresses": listed, "IsPrefix": prefix, "AddressFamily": "4"}}


V1_10 = {
    "TotalIPs": 3,
    "AssignedIPs": 1,
    "ENIs": {
        "eni-a": {
            "ID": "eni-a",
            "IsPrimary": True,
            "DeviceNumber": 0,
            "AvailableIPv4Cidrs": {
                **_cidrs(False, {"10.0.0.5": {"Address": "10.0.0.5", "IPAMKey": POD_KEY}}),
                "10.0.0.6/32": {"IPAddresses": {}, "IsPrefix": False},
                "10.0.0.7/32": {
                    "IPAddresses": {"10.0.0.7": {"Address": "10.0.0.7", "IPAMKey": NO_KEY}},
                    "IsPrefix": False,
                },
            },
        }
    },
}
V1_20 = {
    "0": V1_10,
    "1": {
        "TotalIPs": 16,
        "AssignedIPs": 0,
        "ENIs": {
            "eni-p": {
                "ID": "eni-p",
                "IsPrimary": False,
                "DeviceNumber": 1,
                "AvailableIPv4Cidrs": _cidrs(True, {}),
            }
        },
    },
}


@pytest.mark.parametrize(
    ("doc", "total", "assigned", "enis", "cooling", "free"),
    [
        (V1_3, 3, 1, 2, None, 2),  # v1.3: no UnassignedTime, cooldown unknown
        (V1_5, 2, 1, 1, 1, 0),  # v1.5: freed address counted as cooling
        (V1_7, 2, 1, 1, 0, 1),
        (V1_10, 3, 1, 1, 1, 1),  # v1.9+: a listed unassigned address is cooling down
        (V1_20, 19, 1, 2, 1, 17),  # per network card; a prefix is 16 addresses
    ],
    ids=["v1.3", "v1.5", "v1.7", "v1.10", "v1.20"],
)
def test_every_shape_reads_into_one_pool(
    doc: dict[str, object], total: int, assigned: int, enis: int, cooling: int | None, free: int
) -> None:
    pool = parse_pool(json.dumps(doc))
    assert isinstance(pool, Pool)
    assert (pool.total, pool.assigned, len(pool.enis)) == (total, assigned, enis)
    assert pool.cooling == cooling and pool.free == free


def test_device_numbers_and_per_eni_counts() -> None:
    pool = parse_pool(json.dumps(V1_3))
    assert [(e.eni_id, e.device_number, e.primary, e.addresses, e.assigned) for e in pool.enis] == [
        ("eni-a", 0, True, 2, 1),
        ("eni-b", 1, False, 1, 0),
    ]


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"TotalIPs": 1}', '{"ENIs": {}}', "garbage"])
def test_anything_else_is_a_format_error(text: str) -> None:
    with pytest.raises(PoolFormatError):
        parse_pool(text)
