"""SSM public parameters of the EKS-optimised AMIs, named and shaped as AWS publishes them.

AWS publishes, per Kubernetes version and AMI family, ``…/recommended`` (a JSON value with
schema_version, image_id, image_name and release_version) and its children
``…/recommended/image_id``, ``…/recommended/image_name`` and
``…/recommended/release_version``. Public parameters belong to no account: their ARN is
``arn:aws:ssm:<region>::parameter/aws/service/…`` (moto puts the caller's account in it).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from moto.ssm.models import Parameter

PUBLIC_PREFIX = "aws/service/"
RECOMMENDED_SUFFIX = "/image_id"


def public_arn(original: Any) -> Any:
    """moto's ``parameter_arn`` with no account for AWS's public parameters."""

    def patched(account_id: str, region: str, parameter_name: str) -> str:
        if parameter_name.lstrip("/").startswith(PUBLIC_PREFIX):
            account_id = ""
        return str(original(account_id, region, parameter_name))

    return patched


def _parameter(account_id: str, name: str, value: str, now: datetime, data_type: str) -> Any:
    return Parameter(  # type: ignore[abstract]
        account_id=account_id,
        name=name,
        value=value,
        parameter_type="String",
        description=None,
        allowed_pattern=None,
        keyid=None,
        last_modified_date=now,
        version=1,
        data_type=data_type,
    )


def seed_recommended(
    ssm: Any,
    account_id: str,
    image_id_path: str,
    *,
    image_id: str,
    image_name: str,
    release_version: str,
    now: datetime,
) -> None:
    """Store ``…/recommended`` and its children for the ``…/recommended/image_id`` path."""
    base = image_id_path.removesuffix(RECOMMENDED_SUFFIX)
    document = {
        "schema_version": "3",
        "image_id": image_id,
        "image_name": image_name,
        "release_version": release_version,
    }
    values = {
        base: (json.dumps(document, separators=(",", ":")), "text"),
        f"{base}/image_id": (image_id, "aws:ec2:image"),
        f"{base}/image_name": (image_name, "text"),
        f"{base}/release_version": (release_version, "text"),
        f"{base}/schema_version": ("3", "text"),
    }
    for name, (value, data_type) in values.items():
        ssm._parameters[name] = [_parameter(account_id, name, value, now, data_type)]
