"""Errors raised when AWS or Kubernetes access fails; messages never carry secrets."""

from __future__ import annotations

import re

from upgrader.errors import BadInputError, UpgraderError

# Access key IDs, presigned-URL signatures, EKS tokens and bearer headers.
_SECRETS = re.compile(
    r"(?:A(?:KIA|SIA)[A-Z0-9]{12,})"
    r"|(?:k8s-aws-v1\.[A-Za-z0-9_\-]+)"
    r"|(?:(?<=Bearer )\S+)"
    r"|(?:(?<=X-Amz-Signature=)[0-9a-f]+)"
    r"|(?:(?<=X-Amz-Credential=)[^&\s]+)"
    r"|(?:(?<=X-Amz-Security-Token=)[^&\s]+)",
)


def scrub(text: str) -> str:
    """``text`` with credentials, signatures and tokens replaced by ``***``."""
    return _SECRETS.sub("***", text)


class CloudError(UpgraderError):
    """An AWS or Kubernetes call failed unexpectedly (exit 1)."""


class CloudNotFoundError(BadInputError):
    """An object the config names does not exist (exit 2)."""


class CloudAccessError(BadInputError):
    """The credentials were refused or lack a permission (exit 2)."""
