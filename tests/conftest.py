"""Shared fixtures: the real sandbox, the real registry, a real server on 127.0.0.1."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

# Tests run against whatever isolation this host offers; the adversarial suite forces tiers itself.
os.environ.setdefault("TRACEFIX_LOG_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def registry():
    from tracefix.tasks.registry import default_registry

    return default_registry()


@pytest.fixture(scope="session")
def curated(registry):
    return registry.tasks("curated")


@pytest.fixture()
def gym(registry):
    from tracefix.core.environment import TraceFixRLGym

    return TraceFixRLGym(registry=registry)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    from tracefix.server.embedded import embedded_server

    with embedded_server() as url:
        yield url
