"""Injected AWS faults: throttling and 5xx answers, each a fraction of one service's calls.

A faulted request never reaches moto; it is answered with the service's own error in its
protocol, chosen so botocore's retry handler (``botocore/data/_retry.json``, legacy and
standard modes) retries it:

* EC2 (query, ``<Response><Errors>``): ``RequestLimitExceeded``, HTTP 503.
* Auto Scaling, CloudFormation, IAM, STS (query, ``<ErrorResponse>``): ``Throttling``,
  HTTP 400, "Rate exceeded".
* SSM (JSON 1.1): ``ThrottlingException``, HTTP 400; EKS (REST-JSON): ``ThrottlingException``,
  HTTP 429.
* 5xx: HTTP 500 ``InternalFailure`` (EC2: ``InternalError``), or HTTP 503
  ``ServiceUnavailable`` for every other draw, both retried by botocore.

Decisions come from the twin's own seeded random (drawn only when a rate is set), so a
scenario's faults repeat from run to run when its calls come in the same order.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Mapping
from typing import Any

SERVICES = ("ec2", "autoscaling", "cloudformation", "eks", "ssm", "sts", "iam")
KINDS = ("aws_throttle", "aws_5xx")
SEED = 20190601
_JSON = frozenset({"eks", "ssm"})
THROTTLE_MESSAGE = "Rate exceeded"
EC2_THROTTLE_MESSAGE = "Request limit exceeded."
UNAVAILABLE_MESSAGE = "Service is unavailable. Please try again later."
INTERNAL_MESSAGE = "We encountered an internal error. Please try again."

Answer = tuple[str, list[tuple[str, str]], bytes]


def rate_problems(key: str, value: Any) -> list[str]:
    """What is wrong with ``{service: rate}`` (empty: nothing)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [f"{key}: {value!r} must be a mapping of service to rate"]
    problems = []
    for service, rate in value.items():
        if service not in SERVICES:
            problems.append(f"{key}.{service}: is not a service (known: {', '.join(SERVICES)})")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            problems.append(f"{key}.{service}: {rate!r} must be a number from 0 to 1")
    return problems


class AwsFaults:
    """The twin's fault rates; :meth:`draw` decides one request's fate."""

    def __init__(self, seed: int = SEED) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.throttle: dict[str, float] = {}
        self.errors_5xx: dict[str, float] = {}

    def configure(self, spec: Mapping[str, Any]) -> None:
        """Set the rates named in ``spec`` (``aws_throttle``, ``aws_5xx``: ``{service: rate}``;
        a kind left out keeps its rates). Raises ValueError listing every problem."""
        problems = [p for kind in KINDS for p in rate_problems(kind, spec.get(kind))]
        if problems:
            raise ValueError("; ".join(problems))
        with self._lock:
            if "aws_throttle" in spec:
                self.throttle = {str(k): float(v) for k, v in (spec["aws_throttle"] or {}).items()}
            if "aws_5xx" in spec:
                self.errors_5xx = {str(k): float(v) for k, v in (spec["aws_5xx"] or {}).items()}

    def draw(self, service: str) -> tuple[str, Answer] | None:
        """``(kind, answer)`` when this request of ``service`` is to fail, else None."""
        with self._lock:
            for kind, rates in (("throttle", self.throttle), ("5xx", self.errors_5xx)):
                rate = rates.get(service, 0.0)
                if rate > 0 and self._random.random() < rate:
                    if kind == "throttle":
                        return kind, throttled(service)
                    unavailable = self._random.random() < 0.5  # half of them
                    return kind, server_error(service, unavailable=unavailable)
        return None


def _answer(service: str, status: str, code: str, message: str, kind: str) -> Answer:
    request_id = str(uuid.uuid4())
    extra: list[tuple[str, str]] = []
    if service in _JSON:
        body = json.dumps({"__type": code, "message": message}).encode()
        content = "application/x-amz-json-1.1" if service == "ssm" else "application/json"
        extra = [("x-amzn-ErrorType", code)]
    elif service == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{message}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        content = "text/xml"
    else:
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        content = "text/xml"
    headers = [
        ("Content-Type", content),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
        *extra,
    ]
    return status, headers, body


def throttled(service: str) -> Answer:
    """The service's throttling error, as the service sends it."""
    if service == "ec2":
        return _answer(
            service, "503 Service Unavailable", "RequestLimitExceeded", EC2_THROTTLE_MESSAGE, ""
        )
    if service == "eks":
        return _answer(
            service, "429 Too Many Requests", "ThrottlingException", THROTTLE_MESSAGE, ""
        )
    code = "ThrottlingException" if service in _JSON else "Throttling"
    return _answer(service, "400 Bad Request", code, THROTTLE_MESSAGE, "Sender")


def server_error(service: str, *, unavailable: bool = False) -> Answer:
    """HTTP 500 InternalFailure (EC2: InternalError) or 503 ServiceUnavailable."""
    if unavailable:
        code = "Unavailable" if service == "ec2" else "ServiceUnavailable"
        return _answer(service, "503 Service Unavailable", code, UNAVAILABLE_MESSAGE, "Receiver")
    code = "InternalError" if service == "ec2" else "InternalFailure"
    return _answer(service, "500 Internal Server Error", code, INTERNAL_MESSAGE, "Receiver")
