"""The error the twin's in-process primitives raise: an AWS error code and message."""

from __future__ import annotations

from moto.eks.exceptions import InvalidParameterException


class AwsError(Exception):
    """An EC2/EKS/Auto Scaling error as AWS would return it (``code`` is the API error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def invalid_parameter(cluster: str, message: str) -> InvalidParameterException:
    """EKS's InvalidParameterException (HTTP 400) about ``cluster``."""
    return InvalidParameterException(
        clusterName=cluster,
        nodegroupName=None,
        fargateProfileName=None,
        addonName=None,
        message=message,
    )
