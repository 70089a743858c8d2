"""boto3 sessions and clients, and AWS failures turned into upgrader errors.

Only the standard credential chain and ``AWS_ENDPOINT_URL`` (honoured by boto3
itself) decide where calls go. Retries are botocore's own (adaptive mode: backoff
with jitter, and a client-side rate limit once AWS throttles); every call has bounded
connect and read timeouts. The first call of a command goes through a probe client
with a small retry budget, so an endpoint that does not answer is reported, naming
it, within seconds instead of after a minute of retries.
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
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from upgrader.adapters.errors import (
    CloudAccessError,
    CloudError,
    CloudNotFoundError,
    CloudUnreachableError,
    scrub,
)
from upgrader.errors import UpgraderError

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_ssm import SSMClient

# Seconds and attempts: an hours-long apply rides out throttling and brief outages;
# the probe (a command's first call) fails fast on an endpoint that is not there.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 10
PROBE_ATTEMPTS = 2
_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
)
_PROBE_CONFIG = BotoConfig(
    retries={"mode": "standard", "max_attempts": PROBE_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=15,
)
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
# AWS's "slow down" answers (as botocore's retry handler lists them)
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
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


def is_busy(err: ClientError) -> bool:
    """Whether AWS answered but asked to slow down or failed on its side (429, 5xx)."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return error_code(err) in THROTTLE_CODES or status in (429, 500, 502, 503, 504)


def is_unsupported(err: ClientError) -> bool:
    """Whether the endpoint lacks this API (an older region or a partial emulator)."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(err) in {"404", "UnknownOperationException", "InvalidAction"} or (
        status == 404 and not is_not_found(err)
    )


def _first_line(text: str, limit: int = 120) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


@contextmanager
def aws_errors(
    subject: str,
    doing: str,
    *,
    not_found_hint: str | None = None,
    endpoint: str | None = None,
) -> Iterator[None]:
    """Turn botocore failures inside the block into upgrader errors about ``subject``;
    ``endpoint`` (the client's URL) is named when it answers unlike AWS."""
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
        if endpoint is not None and (is_unsupported(err) or code.isdigit()):
            raise CloudUnreachableError(
                f"AWS endpoint {endpoint}",
                f"answered {doing} with {code or 'an error'} "
                f"({_first_line(message)}): it is not the AWS API upgrader expected",
                "check AWS_ENDPOINT_URL (and the region): it must point at AWS or its emulator",
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
    except ProfileNotFound as err:
        raise CloudAccessError(
            f"AWS profile {err.kwargs.get('profile', '')!r}",
            f"does not exist (needed for {doing} for {subject})",
            "set AWS_PROFILE to a profile in ~/.aws/config (aws configure list-profiles), "
            "or unset it",
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as err:
        raise CloudUnreachableError(
            subject,
            f"cannot reach AWS for {doing} after {PROBE_ATTEMPTS if endpoint else MAX_ATTEMPTS} "
            f"attempt(s): {scrub(str(err))}",
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
        if session is None:
            with aws_errors(f"AWS region {region}", "opening a session"):
                session = boto3.session.Session(region_name=region)
        return cls(session)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def _client(self, name: str, config: BotoConfig = _CLIENT_CONFIG) -> Any:
        key = name if config is _CLIENT_CONFIG else f"{name}/probe"
        if key not in self._clients:
            with aws_errors(f"AWS {name}", "creating the client"):
                self._clients[key] = self.session.client(name, config=config)  # type: ignore[call-overload]
        return self._clients[key]

    @property
    def eks_probe(self) -> EKSClient:
        """EKS with a small retry budget: for a command's first call."""
        client: EKSClient = self._client("eks", _PROBE_CONFIG)
        return client

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
