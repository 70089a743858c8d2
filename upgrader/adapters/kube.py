"""A read-only Kubernetes API reader: raw JSON GETs, paginated lists, API discovery.

Objects stay plain JSON so any served apiVersion (policy/v1beta1 on a 1.12
cluster, say) is read the same way, with its own ``apiVersion`` intact.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import urllib3
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.config import new_client_from_config
from kubernetes.config.config_exception import ConfigException

from upgrader.adapters.errors import CloudAccessError, CloudError, scrub
from upgrader.errors import BadInputError

Json = dict[str, Any]
PAGE_SIZE = 500
REQUEST_TIMEOUT_SECONDS = 60


class KubeReader:
    """GETs against one Kubernetes API server; ``where`` names it in errors."""

    def __init__(self, api: ApiClient, where: str) -> None:
        self.api = api
        self.where = where

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeReader:
        """A reader for the current context of the kubeconfig at ``path``."""
        try:
            api = new_client_from_config(config_file=str(path), persist_config=False)  # type: ignore[no-untyped-call]
        except (ConfigException, OSError, ValueError, TypeError) as err:
            raise BadInputError(
                f"kubeconfig {path}",
                f"cannot be used: {scrub(str(err))}",
                "fix the kubeconfig, or drop `kubeconfig` from the config to use the "
                "EKS endpoint and an IAM token",
            ) from None
        return cls(api, f"Kubernetes API {api.configuration.host}")

    @classmethod
    def from_endpoint(cls, endpoint: str, certificate_authority: str, token: str) -> KubeReader:
        """A reader for an EKS endpoint with its base64 CA bundle and a bearer token."""
        configuration = Configuration(host=endpoint)
        configuration.api_key = {"BearerToken": token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        pem = _pem(certificate_authority)
        if pem is not None:
            configuration.ca_cert_data = pem
        return cls(ApiClient(configuration), f"Kubernetes API {endpoint}")

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
        """Send one request; the HTTP status and raw body. Only transport failures raise."""
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
        with self._errors(f"{method} {path}"):
            response = self.api.call_api(
                verb,
                url,
                header_params=headers,
                body=payload,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
            data: bytes = response.read()  # type: ignore[no-untyped-call]
        return int(response.status), data

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

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except ApiException as err:
            raise CloudError(
                self.where,
                f"{doing} failed: {scrub(str(err.reason or err))}",
                "check that the API server is reachable from here (private endpoint? VPN?)",
            ) from None
        except urllib3.exceptions.HTTPError as err:
            raise CloudError(
                self.where,
                f"{doing} failed: {type(err).__name__}: {scrub(str(err))}",
                "check that the API server is reachable from here (private endpoint? VPN?)",
            ) from None


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
