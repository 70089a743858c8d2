"""A read-only Kubernetes API reader: raw JSON GETs, paginated lists, API discovery.

Objects stay plain JSON so any served apiVersion (policy/v1beta1 on a 1.12
cluster, say) is read the same way, with its own ``apiVersion`` intact.

Every request has bounded connect and read timeouts, and is retried by tenacity with
exponential backoff and full jitter (honouring ``Retry-After``) when the server sheds
load (429), fails (5xx) or cannot be reached, within an attempt and time budget. A 429
from the Eviction API naming a PodDisruptionBudget is the budget speaking, not load: it
is returned at once. A server still not answering after the budget is exit 2, naming it.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tenacity
import urllib3
import yaml
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.config import new_client_from_config
from kubernetes.config.config_exception import ConfigException

from upgrader import textfile
from upgrader.adapters.errors import CloudAccessError, CloudError, CloudUnreachableError, scrub
from upgrader.errors import BadInputError

Json = dict[str, Any]
PAGE_SIZE = 500
TOKEN_REFRESH_SECONDS = 14 * 60.0  # EKS tokens live 15 minutes; clients renew after 14
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 30.0
ATTEMPTS = 6  # per request: the first and up to 5 retries ...
RETRY_BUDGET_SECONDS = 30.0  # ... while less than this has passed since the first
BACKOFF_FIRST_SECONDS = 0.25  # full jitter: up to 0.25, 0.5, 1, 2 ... seconds
BACKOFF_MOST_SECONDS = 4.0
RETRY_AFTER_MOST_SECONDS = 10.0  # a longer Retry-After is cut to this
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
KUBECONFIG_HINT = (
    "fix the kubeconfig (or KUBECONFIG), or drop `kubeconfig` from the config to use the "
    "EKS endpoint and an IAM token"
)


@dataclass(frozen=True, slots=True)
class _Answer:
    """One HTTP answer: status, raw body, and the seconds its Retry-After asks for."""

    status: int
    body: bytes
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After: <seconds>`` header (an HTTP date is not honoured)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _budget_refusal(body: bytes) -> bool:
    """Whether a 429 is an eviction a PodDisruptionBudget refuses (a ``DisruptionBudget``
    cause), which the drain retries itself, and not a server shedding load."""
    try:
        details = json.loads(body).get("details") or {}
        causes = details.get("causes") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(c, dict) and c.get("reason") == "DisruptionBudget" for c in causes)


def _retryable(answer: _Answer) -> bool:
    if answer.status == 429:
        return not _budget_refusal(answer.body)
    return answer.status in RETRIED_STATUSES


_JITTER = tenacity.wait_random_exponential(
    multiplier=BACKOFF_FIRST_SECONDS, max=BACKOFF_MOST_SECONDS
)


def _wait(state: tenacity.RetryCallState) -> float:
    """Backoff with full jitter, but never less than the server's Retry-After (capped)."""
    jitter = float(_JITTER(state))
    outcome = state.outcome
    if outcome is None or outcome.failed:
        return jitter
    after = outcome.result().retry_after
    return jitter if after is None else max(jitter, min(after, RETRY_AFTER_MOST_SECONDS))


def _last_outcome(state: tenacity.RetryCallState) -> _Answer:
    """After the budget: the last answer (its caller reports the status), or its error."""
    assert state.outcome is not None
    answer: _Answer = state.outcome.result()  # raises the last transport error
    return answer


class Credentials:
    """A bearer token that is made anew before it expires and on demand (after a 401).

    ``issue`` makes a token: an EKS token signed now, or the kubeconfig's credentials
    (re-running its ``exec`` plugin, ``aws eks get-token`` say). EKS tokens are valid
    for 15 minutes after signing; like ``aws eks get-token`` and client-go, a new one is
    made after ``refresh_after`` seconds (14 minutes) on ``clock`` (monotonic wall time).
    ``advice`` says what to check when even a fresh token is refused. The token is held
    here and in the client's Configuration only: never logged, never in an error.
    """

    def __init__(
        self,
        issue: Callable[[], str],
        *,
        advice: str,
        first: str | None = None,
        refresh_after: float = TOKEN_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issue = issue
        self.advice = advice
        self.refresh_after = refresh_after
        self._clock = clock
        self._lock = threading.Lock()
        self._token = issue() if first is None else first
        self._issued = clock()
        self.issued = 1  # how many tokens were made (the first included)

    def current(self) -> str:
        """The token to send now, made anew when it is ``refresh_after`` seconds old."""
        with self._lock:
            if self._clock() - self._issued >= self.refresh_after:
                self._renew()
            return self._token

    def renew(self) -> str:
        """A new token now (the server refused the current one)."""
        with self._lock:
            self._renew()
            return self._token

    def _renew(self) -> None:
        self._token = self._issue()
        self._issued = self._clock()
        self.issued += 1

    def install(self, configuration: Configuration) -> None:
        """Make every request of ``configuration``'s clients (calls, watches, long polls)
        ask for the current token: the client calls this hook while building each one."""
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        configuration.api_key = {"BearerToken": self._token}

        def refresh(config: Configuration) -> None:
            config.api_key["BearerToken"] = self.current()

        configuration.refresh_api_key_hook = refresh  # type: ignore[assignment]


class KubeReader:
    """GETs against one Kubernetes API server; ``where`` names it in errors.

    With ``credentials``, a 401 makes a new token and retries the call once; a second 401
    is an access error (exit 2) naming the cluster and what to check.
    """

    def __init__(
        self,
        api: ApiClient,
        where: str,
        credentials: Credentials | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.where = where
        self.credentials = credentials
        self.sleep = sleep  # between retries (tests pass their own)
        if credentials is not None:
            credentials.install(api.configuration)

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeReader:
        """A reader for the current context of the kubeconfig at ``path``.

        Its token (static, or from an ``exec`` plugin such as ``aws eks get-token``) is
        read again from the kubeconfig every 14 minutes and after a 401, re-running the
        plugin (a plugin whose tokens live less than 14 minutes is caught by the 401).
        """
        api = _kubeconfig_client(path)
        configuration = api.configuration
        token = _kubeconfig_token(configuration)
        if token is None:  # client certificates, or no user: nothing to refresh
            return cls(api, f"Kubernetes API {configuration.host}")
        configuration.api_key_prefix = {"BearerToken": "Bearer"}

        def issue() -> str:
            fresh = _kubeconfig_client(path)
            fresh_token = _kubeconfig_token(fresh.configuration)
            fresh.close()  # type: ignore[no-untyped-call]
            return fresh_token or ""

        credentials = Credentials(
            issue,
            first=token,
            advice=(
                f"check the credentials of the kubeconfig {path}'s user (for `aws eks "
                "get-token`: the AWS profile, region and cluster name it is given), and that "
                "the identity is mapped in the cluster's aws-auth ConfigMap"
            ),
        )
        return cls(api, f"Kubernetes API {configuration.host}", credentials)

    @classmethod
    def from_endpoint(
        cls,
        endpoint: str,
        certificate_authority: str,
        token: str | Credentials,
        *,
        cluster: str = "",
    ) -> KubeReader:
        """A reader for an EKS endpoint with its base64 CA bundle and a bearer token
        (fixed, or :class:`Credentials` made anew before expiry and after a 401)."""
        configuration = _configuration(endpoint)
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        credentials = token if isinstance(token, Credentials) else None
        configuration.api_key = {"BearerToken": token if isinstance(token, str) else ""}
        pem = _pem(certificate_authority)
        if pem is not None:
            configuration.ca_cert_data = pem
        where = (
            f"EKS cluster {cluster} (Kubernetes API {endpoint})"
            if cluster
            else (f"Kubernetes API {endpoint}")
        )
        return cls(ApiClient(configuration), where, credentials)

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def get(self, path: str, query: tuple[tuple[str, str], ...] = ()) -> Json:
        """The JSON object at ``path``; any failure is an upgrader error."""
        found = self.get_optional(path, query)
        if found is None:
            raise _not_served(self.where, path)
        return found

    def request(
        self,
        method: str,
        path: str,
        query: tuple[tuple[str, str], ...] = (),
        *,
        body: Json | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        """Send one request (retried as the module says); the HTTP status and raw body.
        Raises for a server that does not answer, and for a 401 a new token does not cure."""
        answer = self._send(method, path, query, body=body, content_type=content_type)
        if answer.status != 401 or self.credentials is None:
            return answer.status, answer.body
        self.credentials.renew()  # expired or revoked: a new token, and one more try
        answer = self._send(method, path, query, body=body, content_type=content_type)
        if answer.status == 401:
            raise CloudAccessError(
                self.where,
                f"{method} {path} was refused (HTTP 401 Unauthorized) even with a new token",
                self.credentials.advice,
            )
        return answer.status, answer.body

    def _send(
        self,
        method: str,
        path: str,
        query: tuple[tuple[str, str], ...],
        *,
        body: Json | None,
        content_type: str,
    ) -> _Answer:
        header_params = {"Accept": "application/json"}
        if body is not None:
            header_params["Content-Type"] = content_type
        verb, url, headers, payload, _ = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query),
            header_params=header_params,
            body=body,
            auth_settings=["BearerToken"],
        )

        def once() -> _Answer:
            response = self.api.call_api(
                verb,
                url,
                header_params=headers,
                body=payload,
                _request_timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            )
            data: bytes = response.read()  # type: ignore[no-untyped-call]
            after = _retry_after(response.getheader("Retry-After"))  # type: ignore[no-untyped-call]
            return _Answer(int(response.status), data, after)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(ATTEMPTS)
            | tenacity.stop_after_delay(RETRY_BUDGET_SECONDS),
            wait=_wait,
            retry=tenacity.retry_if_exception_type(urllib3.exceptions.HTTPError)
            | tenacity.retry_if_result(_retryable),
            retry_error_callback=_last_outcome,
            sleep=self.sleep,
        )
        try:
            answer: _Answer = retrying(once)
        except ApiException as err:  # TLS, or a request the client cannot build
            raise CloudUnreachableError(
                self.where,
                f"{method} {path} failed: {scrub(str(err.reason or err))}",
                "check the kubeconfig's server URL and certificate authority",
            ) from None
        except urllib3.exceptions.HTTPError as err:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise CloudUnreachableError(
                self.where,
                f"{method} {path}: no answer after {attempts} attempt(s) ({_cause(err)})",
                "check that the API server is reachable from here (private endpoint? VPN? "
                "the server URL in the kubeconfig?)",
            ) from None
        return answer

    def get_optional(self, path: str, query: tuple[tuple[str, str], ...] = ()) -> Json | None:
        """The JSON object at ``path``, or None when the server answers 404."""
        status, body = self.request("GET", path, query)
        if status == 404:
            return None
        if status in (401, 403):
            raise CloudAccessError(
                self.where,
                f"GET {path} was refused (HTTP {status})",
                "check the kubeconfig credentials, or that your IAM identity is mapped in the "
                "cluster's aws-auth ConfigMap with read access",
            )
        if status >= 300:
            raise CloudError(
                self.where,
                f"GET {path} failed (HTTP {status}): {scrub(reason(body))}",
                "retry; if it keeps failing, check the API server's health",
            )
        try:
            data: Json = json.loads(body)
        except ValueError:
            raise CloudError(
                self.where,
                f"GET {path} answered with something that is not JSON",
                "check that the endpoint is a Kubernetes API server",
            ) from None
        return data

    def list_all(self, path: str, query: tuple[tuple[str, str], ...] = ()) -> list[Json]:
        """Every item of a list endpoint, following ``continue`` tokens page by page."""
        items = self.list_optional(path, query)
        if items is None:
            raise _not_served(self.where, path)
        return items

    def list_optional(
        self, path: str, query: tuple[tuple[str, str], ...] = ()
    ) -> list[Json] | None:
        """Like :meth:`list_all`, or None when the server does not serve ``path`` (404)."""
        items: list[Json] = []
        token = ""
        while True:
            page_query = (*query, ("limit", str(PAGE_SIZE)))
            if token:
                page_query = (*page_query, ("continue", token))
            page = self.get_optional(path, page_query) if not token else self.get(path, page_query)
            if page is None:
                return None
            default_version = str(page.get("apiVersion", ""))
            for item in page.get("items") or []:
                # Real servers leave apiVersion out of list items; the list carries it.
                item.setdefault("apiVersion", default_version)
                items.append(item)
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return items

    def served_versions(self) -> frozenset[str]:
        """Group versions the server serves: ``v1``, ``apps/v1``, ``policy/v1beta1`` ..."""
        core = self.get("/api")
        groups = self.get("/apis")
        served = {str(v) for v in core.get("versions", [])}
        for group in groups.get("groups", []):
            served |= {str(v["groupVersion"]) for v in group.get("versions", [])}
        return frozenset(served)


def _cause(err: urllib3.exceptions.HTTPError) -> str:
    """``NewConnectionError: ... Connection refused``: the transport failure under
    urllib3's wrappers, without the connection object's repr."""
    reason = err.reason if isinstance(err, urllib3.exceptions.MaxRetryError) else err
    text = str(reason).split("): ", 1)[-1]
    return f"{type(reason).__name__}: {scrub(text)}"


def _configuration(host: str | None = None) -> Configuration:
    """A client configuration whose connection pool never retries by itself: the
    tenacity budget above is the only one."""
    configuration = Configuration(host=host)
    configuration.retries = 0
    return configuration


def _kubeconfig_client(path: Path) -> ApiClient:
    """A client for the kubeconfig's current context; a kubeconfig that is missing, not a
    regular text file, not YAML or not usable is bad input naming the file."""
    subject = f"kubeconfig {path}"
    doc = textfile.load_yaml(path, what="kubeconfig", hint=KUBECONFIG_HINT)
    if not isinstance(doc, dict):
        raise BadInputError(
            subject,
            f"is a YAML {type(doc).__name__}, not a kubeconfig (a mapping with clusters, "
            "contexts and users)",
            KUBECONFIG_HINT,
        )
    try:
        return new_client_from_config(  # type: ignore[no-untyped-call,no-any-return]
            config_file=str(path), persist_config=False, client_configuration=_configuration()
        )
    except (
        ConfigException,
        yaml.YAMLError,
        OSError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
    ) as err:
        raise BadInputError(
            subject, f"cannot be used: {scrub(str(err))}", KUBECONFIG_HINT
        ) from None


def _kubeconfig_token(configuration: Configuration) -> str | None:
    """The bare bearer token the kubeconfig loader put in ``configuration``, if any."""
    value = str(configuration.api_key.get("BearerToken") or "")
    return value.removeprefix("Bearer ").strip() or None


def _not_served(where: str, path: str) -> CloudError:
    return CloudError(
        where,
        f"GET {path} returned 404 Not Found",
        "check that the kubeconfig or endpoint points at the cluster's API server",
    )


def reason(body: bytes) -> str:
    """The ``message`` of a Kubernetes Status body (or its first bytes), at most 300 characters."""
    try:
        return str(json.loads(body).get("message", ""))[:300]
    except (ValueError, AttributeError):
        return body[:300].decode("utf-8", "replace")


def _pem(certificate_authority: str) -> str | None:
    """The CA bundle as PEM text, or None when it is not a certificate."""
    try:
        text = base64.b64decode(certificate_authority, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if "BEGIN CERTIFICATE" in text else None
