"""The EKS bearer token: format, signed header, expiry; and secret scrubbing."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from upgrader.adapters.eks_auth import token
from upgrader.adapters.errors import scrub


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> boto3.session.Session:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return boto3.session.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE12",
        aws_secret_access_key="not-a-real-secret",
        region_name="ap-northeast-1",
    )


def _decode(value: str) -> str:
    assert value.startswith("k8s-aws-v1.")
    body = value.removeprefix("k8s-aws-v1.")
    assert "=" not in body  # unpadded, as aws-iam-authenticator expects
    assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_token_is_a_presigned_get_caller_identity_url_bound_to_the_cluster(
    session: boto3.session.Session,
) -> None:
    url = _decode(token("staging", session))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "https"
    assert parts.hostname == "sts.ap-northeast-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["Version"] == ["2011-06-15"]
    assert query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0].split(";")
    assert query["X-Amz-Credential"][0].startswith("AKIAEXAMPLEEXAMPLE12/")
    assert "/ap-northeast-1/sts/aws4_request" in query["X-Amz-Credential"][0]
    assert len(query["X-Amz-Signature"][0]) == 64


def test_token_signature_depends_on_the_cluster_name(session: boto3.session.Session) -> None:
    def signature(cluster: str) -> str:
        return parse_qs(urlsplit(_decode(token(cluster, session))).query)["X-Amz-Signature"][0]

    assert signature("staging") != signature("production")


def test_scrub_removes_tokens_keys_and_signatures(session: boto3.session.Session) -> None:
    secret = token("staging", session)
    text = (
        f"GET failed with Authorization: Bearer {secret} for AKIAEXAMPLEEXAMPLE12 "
        f"url={_decode(secret)}"
    )
    cleaned = scrub(text)
    assert "k8s-aws-v1." not in cleaned
    assert "AKIAEXAMPLEEXAMPLE12" not in cleaned
    assert parse_qs(urlsplit(_decode(secret)).query)["X-Amz-Signature"][0] not in cleaned
    assert "GET failed" in cleaned
