"""Fixtures for tests of the Kubernetes API emulator: an in-process store behind a real
HTTP server, and the official client configured with its bearer token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from ekstwin.kubeapi import KubeApiServer, Store

TOKEN = "sandbox-token"


@pytest.fixture
def store() -> Store:
    return Store(seed=1)


@pytest.fixture
def server(store: Store) -> Iterator[KubeApiServer]:
    srv = KubeApiServer(store, token=TOKEN)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def api(server: KubeApiServer) -> Iterator[client.ApiClient]:
    config = client.Configuration(host=server.url)
    config.api_key = {"BearerToken": TOKEN}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    with client.ApiClient(config) as api_client:
        yield api_client
