"""Bearer-token authentication as EKS does it, checked structurally and in virtual time.

An EKS token is ``k8s-aws-v1.`` + base64url (unpadded) of a presigned STS
``GetCallerIdentity`` URL signed over the ``x-k8s-aws-id`` header. EKS's
authenticator (aws-iam-authenticator) checks the URL's shape, then replays it to STS to
learn who signed it. The twin makes the same shape checks with the authenticator's rules
and error texts, and never calls AWS: any well-formed, unexpired token is the cluster's
admin (the sandbox maps every identity to ``system:masters``, as the cluster creator is).

Expiry. The authenticator rejects a token 15 minutes after its ``X-Amz-Date`` whatever
``X-Amz-Expires`` says; clients make a new one after about 14. The product signs with the
wall clock, but the twin's virtual clock runs ``speed`` times faster (600x: 15 virtual
minutes are 1.5 wall seconds), and ``X-Amz-Date`` has one-second resolution (10 virtual
minutes at 600x), so it cannot be mapped onto virtual time by arithmetic. Instead a
token's life starts, in virtual time, when the twin first *sees* it (keyed by its
signature): it expires 15 virtual minutes later. A long apply thus spans many token
lifetimes in the twin as in production. ``X-Amz-Date`` is still checked against the wall
clock (a token signed more than 15 wall minutes ago is expired, one signed in the future
beyond the clock skew STS allows is refused), so a stale token is stale on both clocks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_LIFETIME_SECONDS = 15 * 60  # aws-iam-authenticator's presignedURLExpiration
MAX_EXPIRES_SECONDS = 900  # X-Amz-Expires above this is refused
CLOCK_SKEW_SECONDS = 5 * 60  # SigV4: a request dated further in the future is refused
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_STS_HOST = re.compile(r"^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")
_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_REQUIRED = (
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
)


class TokenError(ValueError):
    """Why a bearer token was refused (logged by the twin; the client sees 401 only)."""


@dataclass(frozen=True, slots=True)
class User:
    """Who a request authenticated as; ``credential`` fingerprints an EKS token (never the
    token itself) so the request log shows when clients renew them; None for static ones."""

    name: str
    credential: str | None


def fingerprint(text: str) -> str:
    """A short, one-way name for a credential, safe to log."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_eks_token(
    token: str, *, wall_now: float, sts_endpoints: Iterable[str] = ()
) -> tuple[str, datetime]:
    """The presigned URL's signature and ``X-Amz-Date`` of a well-formed EKS token.

    ``sts_endpoints`` are more STS base URLs to accept (``http://127.0.0.1:PORT``: the
    sandbox's, which clients sign against when ``AWS_ENDPOINT_URL`` names it, as the
    authenticator accepts the STS endpoints it is configured with).
    Raises :class:`TokenError` with the authenticator's reason when it is not one.
    """
    params = _query(_presigned_url(token), frozenset(e.rstrip("/") for e in sts_endpoints))
    if params.get("action") != "GetCallerIdentity":
        raise TokenError("unexpected action parameter in pre-signed URL")
    if params.get("version") != "2011-06-15":
        raise TokenError("unexpected version parameter in pre-signed URL")
    for key in _REQUIRED:
        if not params.get(key):
            raise TokenError(f"{key} parameter must be present in pre-signed URL")
    if params["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
        raise TokenError("unexpected X-Amz-Algorithm in pre-signed URL")
    if CLUSTER_ID_HEADER not in params["x-amz-signedheaders"].split(";"):
        raise TokenError("client did not sign the x-k8s-aws-id header in the pre-signed URL")
    expires = params["x-amz-expires"]
    if not expires.isdigit() or int(expires) > MAX_EXPIRES_SECONDS:
        raise TokenError(f"invalid X-Amz-Expires parameter in pre-signed URL: {expires}")
    if not re.fullmatch(r"[0-9a-f]{64}", params["x-amz-signature"]):
        raise TokenError("malformed X-Amz-Signature in pre-signed URL")
    date_text = params["x-amz-date"]
    if not _DATE.match(date_text):
        raise TokenError(f"error parsing X-Amz-Date parameter {date_text}")
    try:
        date = datetime.strptime(date_text, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise TokenError(f"error parsing X-Amz-Date parameter {date_text}") from None
    signed = date.timestamp()
    if wall_now > signed + TOKEN_LIFETIME_SECONDS:
        raise TokenError(f"X-Amz-Date parameter is expired (15 minute expiration) {date}")
    if signed > wall_now + CLOCK_SKEW_SECONDS:
        raise TokenError(f"X-Amz-Date parameter is in the future {date}")
    return params["x-amz-signature"], date


def _presigned_url(token: str) -> str:
    if not token.startswith(TOKEN_PREFIX):
        raise TokenError("token is not an EKS token (no k8s-aws-v1. prefix)")
    body = token[len(TOKEN_PREFIX) :]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", body):
        raise TokenError("input token was not properly formatted: base64url without padding")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise TokenError("input token was not properly formatted: not base64url") from None


def _query(url: str, sts_endpoints: frozenset[str]) -> dict[str, str]:
    """The URL's query parameters, names lowercased, after the STS host and path checks."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" not in sts_endpoints:
        if parts.scheme != "https":
            raise TokenError(f"unexpected scheme {parts.scheme!r} in pre-signed URL")
        if not _STS_HOST.match(parts.hostname or "") or parts.port is not None:
            raise TokenError(f"unexpected hostname {parts.hostname!r} in pre-signed URL")
    if parts.path != "/":
        raise TokenError(f"unexpected path {parts.path!r} in pre-signed URL")
    try:
        raw = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise TokenError("input token was not properly formatted: malformed query") from None
    params: dict[str, str] = {}
    for key, values in raw.items():
        if len(values) != 1 or key.lower() in params:
            raise TokenError("input token was not properly formatted: multiple values")
        params[key.lower()] = values[0]
    return params


class Authenticator:
    """Accepts EKS tokens (15 virtual minutes from first use, unless ``eks_tokens`` is
    false) and fixed static tokens (the sandbox kubeconfig's own admin user).

    ``now`` is the twin's virtual clock; ``wall`` the real one (for ``X-Amz-Date``).
    """

    def __init__(
        self,
        now: Callable[[], float],
        *,
        static_tokens: Iterable[str] = (),
        eks_tokens: bool = True,
        sts_endpoints: Iterable[str] = (),
        wall: Callable[[], float] = time.time,
        lifetime: float = TOKEN_LIFETIME_SECONDS,
    ) -> None:
        self.now = now
        self.wall = wall
        self.lifetime = lifetime
        self._static = tuple(static_tokens)
        self.eks_tokens = eks_tokens
        self.sts_endpoints = list(sts_endpoints)  # the sandbox adds its AWS endpoint once up
        self._first_seen: dict[str, tuple[float, float]] = {}  # signature: (virtual, signed)
        self._lock = threading.Lock()
        self.refused = 0

    @property
    def tokens_seen(self) -> int:
        """How many distinct EKS tokens have been accepted (still remembered)."""
        with self._lock:
            return len(self._first_seen)

    def authenticate(self, authorization: str) -> User:
        """The user an ``Authorization`` header value authenticates as; else TokenError."""
        try:
            return self._authenticate(authorization)
        except TokenError:
            with self._lock:
                self.refused += 1
            raise

    def _authenticate(self, authorization: str) -> User:
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise TokenError("no bearer token")
        for static in self._static:
            if hmac.compare_digest(token.encode(), static.encode()):
                return User("kubernetes-admin", None)
        if not self.eks_tokens:
            raise TokenError("unknown static token")
        wall = self.wall()
        signature, date = parse_eks_token(token, wall_now=wall, sts_endpoints=self.sts_endpoints)
        now = self.now()
        with self._lock:
            first, _ = self._first_seen.setdefault(signature, (now, date.timestamp()))
            if now - first > self.lifetime:
                raise TokenError("token expired (15 minutes after first use, virtual time)")
            if len(self._first_seen) > 4096:  # forget tokens the wall clock has expired too
                self._first_seen = {
                    s: (t, signed)
                    for s, (t, signed) in self._first_seen.items()
                    if wall <= signed + TOKEN_LIFETIME_SECONDS
                }
        return User("kubernetes-admin", fingerprint(signature))
