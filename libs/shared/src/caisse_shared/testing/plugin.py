"""pytest plugin (``-p caisse_shared.testing.plugin``): real PostgreSQL and broker fixtures."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator

import pytest

from caisse_shared.testing.infra import BrokerForTests, PostgresForTests
from caisse_shared.testing.tokens import TokenFactory

# Tests run as development (dev secrets, sandbox provider); "test" is a deployment environment.
os.environ.setdefault("CAISSE_ENV", "development")


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresForTests]:
    """The test PostgreSQL server (embedded pgserver unless DATABASE_URL or Docker)."""
    server = PostgresForTests()
    yield server
    server.stop()
    # pgserver logs from an atexit hook after pytest closed its streams: silence that noise
    logging.getLogger("pgserver").disabled = True


@pytest.fixture(scope="session")
def broker() -> Iterator[BrokerForTests]:
    """The shared test broker (embedded Tansu unless KAFKA_BOOTSTRAP_SERVERS or Docker)."""
    b = BrokerForTests()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(broker: BrokerForTests) -> str:
    """Bootstrap servers of the shared test broker."""
    return broker.bootstrap


@pytest.fixture(scope="session")
def token_factory() -> TokenFactory:
    """Signs access tokens that services built with ``token_factory.verifier()`` accept."""
    return TokenFactory()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group and database names."""
    return uuid.uuid4().hex[:10]
