"""boto3 sessions and clients, and AWS failures turned into upgrader errors.

Only the standard credential chain and ``AWS_ENDPOINT_URL`` (honoured by boto3
itself) decide where calls go.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from upgrader.adapters.errors import CloudAccessError, CloudError, CloudNotFoundError, scrub
from upgrader.errors import UpgraderError

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_ssm import SSMClient

_RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 5})
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "SignatureDoesNotMatch",
    }
)
NOT_FOUND_CODES = frozenset({"ResourceNotFoundException", "ChangeSetNotFound", "NotFound"})


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def error_message(err: ClientError) -> str:
    return scrub(str(err.response.get("Error", {}).get("Message", "")))


def is_not_found(err: ClientError) -> bool:
    """Whether AWS said the object does not exist (codes differ per service)."""
    code = error_code(err)
    return (
        code in NOT_FOUND_CODES
        or code.endswith(".NotFound")
        or (code == "ValidationError" and "does not exist" in error_message(err))
    )


def is_unsupported(err: ClientError) -> bool:
    """Whether the endpoint lacks this API (an older region or a partial emulator)."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(err) in {"404", "UnknownOperationException", "InvalidAction"} or (
        status == 404 and not is_not_found(err)
    )


@contextmanager
def aws_errors(subject: str, doing: str, *, not_found_hint: str | None = None) -> Iterator[None]:
    """Turn botocore failures inside the block into upgrader errors about ``subject``."""
    try:
        yield
    except UpgraderError:
        raise
    except ClientError as err:
        code, message = error_code(err), error_message(err)
        if not_found_hint is not None and is_not_found(err):
            raise CloudNotFoundError(
                subject, f"does not exist ({message})", not_found_hint
            ) from None
        if code in ACCESS_CODES:
            raise CloudAccessError(
                subject,
                f"AWS refused {doing}: {code}: {message}",
                "check the AWS credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID) and that "
                "their IAM policy allows this call",
            ) from None
        raise CloudError(
            subject,
            f"{doing} failed: {code or 'error'}: {message}",
            "retry; if it keeps failing, check the AWS service health and this message",
        ) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise CloudAccessError(
            subject,
            f"no usable AWS credentials for {doing}",
            "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ) from None
    except NoRegionError:
        raise CloudAccessError(
            subject, f"no AWS region for {doing}", "set region in the config or AWS_REGION"
        ) from None
    except EndpointConnectionError as err:
        raise CloudError(
            subject,
            f"cannot reach AWS for {doing}: {scrub(str(err))}",
            "check the network, and AWS_ENDPOINT_URL if you set it",
        ) from None
    except BotoCoreError as err:
        raise CloudError(
            subject,
            f"{doing} failed: {type(err).__name__}: {scrub(str(err))}",
            "retry; if it keeps failing, report this message",
        ) from None


@dataclass
class Aws:
    """One boto3 session and its clients, for one region."""

    session: boto3.session.Session
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def connect(cls, region: str, session: boto3.session.Session | None = None) -> Aws:
        """A session on the standard credential chain, pinned to ``region``."""
        return cls(session or boto3.session.Session(region_name=region))

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            with aws_errors(f"AWS {name}", "creating the client"):
                self._clients[name] = self.session.client(name, config=_RETRIES)  # type: ignore[call-overload]
        return self._clients[name]

    @property
    def eks(self) -> EKSClient:
        client: EKSClient = self._client("eks")
        return client

    @property
    def cfn(self) -> CloudFormationClient:
        client: CloudFormationClient = self._client("cloudformation")
        return client

    @property
    def autoscaling(self) -> AutoScalingClient:
        client: AutoScalingClient = self._client("autoscaling")
        return client

    @property
    def ec2(self) -> EC2Client:
        client: EC2Client = self._client("ec2")
        return client

    @property
    def ssm(self) -> SSMClient:
        client: SSMClient = self._client("ssm")
        return client


def batches(items: list[str], size: int) -> Iterator[list[str]]:
    """``items`` in chunks of ``size`` (API limits on IDs per request)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
