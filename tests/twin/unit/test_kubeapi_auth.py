"""The twin's EKS token check: the authenticator's structural rules, no call to AWS, and
expiry 15 virtual minutes after a token is first used."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

import pytest

from ekstwin.kubeapi.auth import Authenticator, TokenError, parse_eks_token

NOW = time.time()
STAMP = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(NOW))
SIGNATURE = "ab" * 32


def token(host: str = "sts.ap-northeast-1.amazonaws.com", **overrides: str) -> str:
    params = {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": "AKIAEXAMPLE/20190101/ap-northeast-1/sts/aws4_request",
        "X-Amz-Date": STAMP,
        "X-Amz-Expires": "60",
        "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
        "X-Amz-Signature": SIGNATURE,
    }
    params.update(overrides)
    url = f"https://{host}/?" + urlencode({k: v for k, v in params.items() if v != "-"})
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def test_a_well_formed_token_is_accepted_on_global_and_regional_hosts() -> None:
    for host in ("sts.amazonaws.com", "sts.us-east-1.amazonaws.com"):
        signature, date = parse_eks_token(token(host), wall_now=NOW)
        assert signature == SIGNATURE
        assert date.strftime("%Y%m%dT%H%M%SZ") == STAMP


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("Bearer-ish", "prefix"),
        ("k8s-aws-v1.", "base64url"),
        ("k8s-aws-v1.!!!!", "base64url"),
        (token("sts.amazonaws.com.evil.example"), "hostname"),
        (token("iam.amazonaws.com"), "hostname"),
        (token(Action="AssumeRole"), "action"),
        (token(Version="2020-01-01"), "version"),
        (token(**{"X-Amz-Algorithm": "HMAC-SHA1"}), "Algorithm"),
        (token(**{"X-Amz-SignedHeaders": "host"}), "x-k8s-aws-id"),
        (token(**{"X-Amz-Expires": "9999999"}), "X-Amz-Expires"),
        (token(**{"X-Amz-Date": "yesterday"}), "X-Amz-Date"),
        (token(**{"X-Amz-Credential": "-"}), "x-amz-credential"),
        (token(**{"X-Amz-Signature": "-"}), "x-amz-signature"),
        (token(**{"X-Amz-Date": "19900422T010203Z"}), "expired"),
    ],
)
def test_malformed_tokens_are_refused_with_the_authenticators_reason(bad: str, reason: str) -> None:
    with pytest.raises(TokenError, match=reason):
        parse_eks_token(bad, wall_now=NOW)


def test_a_token_expires_15_virtual_minutes_after_its_first_use() -> None:
    virtual = [1_000_000.0]
    auth = Authenticator(lambda: virtual[0], static_tokens=["static-admin"], wall=lambda: NOW)
    first = auth.authenticate(f"Bearer {token()}")
    virtual[0] += 14 * 60
    assert auth.authenticate(f"Bearer {token()}") == first
    virtual[0] += 2 * 60  # 16 virtual minutes: a second and a half of wall time at 600x
    with pytest.raises(TokenError, match="expired"):
        auth.authenticate(f"Bearer {token()}")
    other = token(**{"X-Amz-Signature": "cd" * 32})  # a new token lives again
    assert auth.authenticate(f"Bearer {other}").credential != first.credential
    assert auth.authenticate("Bearer static-admin").name == "kubernetes-admin"
    for header in ("", "Bearer", "Basic abc", "Bearer static-admin2"):
        with pytest.raises(TokenError):
            auth.authenticate(header)
    assert auth.refused == 5
    assert first.credential is not None and len(first.credential) == 12
    assert SIGNATURE not in first.credential
