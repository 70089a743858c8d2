"""EKS bearer tokens, built as ``aws eks get-token`` and aws-iam-authenticator build them.

The token is ``k8s-aws-v1.`` + base64url (unpadded) of a presigned STS
GetCallerIdentity URL whose signature covers the ``x-k8s-aws-id: <cluster>``
header; the EKS authenticator replays it to learn the caller's IAM identity.
"""

from __future__ import annotations

import base64
from typing import Any

import boto3

from upgrader.adapters.aws import aws_errors
from upgrader.adapters.kube import TOKEN_REFRESH_SECONDS, Credentials

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
URL_EXPIRES_SECONDS = 60  # the authenticator rejects presigned URLs valid for longer


def token(cluster: str, session: boto3.session.Session) -> str:
    """A bearer token for ``cluster``'s Kubernetes API, from ``session``'s credentials."""

    def add_cluster_header(request: Any, **_: Any) -> None:
        request.headers[CLUSTER_ID_HEADER] = cluster

    with aws_errors(f"EKS cluster {cluster}", "presigning the STS GetCallerIdentity token"):
        sts = session.client("sts", region_name=session.region_name or "us-east-1")
        sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
        url = sts.generate_presigned_url(
            "get_caller_identity",
            Params={},
            ExpiresIn=URL_EXPIRES_SECONDS,
            HttpMethod="GET",
        )
    encoded = base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")
    return TOKEN_PREFIX + encoded


def credentials(
    cluster: str,
    session: boto3.session.Session,
    *,
    refresh_after: float = TOKEN_REFRESH_SECONDS,
) -> Credentials:
    """EKS tokens for ``cluster``: one now, a new one every 14 minutes and after a 401."""
    return Credentials(
        lambda: token(cluster, session),
        advice=(
            f"check that the AWS identity in use (AWS_PROFILE, credentials, region) is the one "
            f"mapped in EKS cluster {cluster}'s aws-auth ConfigMap, and that this machine's "
            "clock is right (EKS tokens are valid for 15 minutes from their signing time)"
        ),
        refresh_after=refresh_after,
    )
