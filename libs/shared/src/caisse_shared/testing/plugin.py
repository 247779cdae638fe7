"""pytest plugin (``-p caisse_shared.testing.plugin``): real PostgreSQL and broker fixtures.

A test whose fixtures reach a real server is marked ``integration`` here, whatever its module
says, so ``-m "not integration"`` (``make test-unit``) never starts PostgreSQL or the broker; the
fixtures refuse to start a server for a test that is not marked (reached some other way).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported by the fixtures: a run that needs no server does not load them
    from caisse_shared.testing.infra import BrokerForTests, PostgresForTests
    from caisse_shared.testing.tokens import TokenFactory

# Tests run as development (dev secrets, sandbox provider); "test" is a deployment environment.
os.environ.setdefault("CAISSE_ENV", "development")

# Fixtures that start (or connect to) a real server; any fixture depending on one is covered.
REAL_SERVER_FIXTURES = frozenset({"pg", "broker", "kafka_bootstrap"})
SERVER_MARKERS = ("integration", "e2e")
_RUNNING = pytest.StashKey[pytest.Item]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers this plugin sets (projects using it need not declare them)."""
    config.addinivalue_line("markers", "integration: needs the real PostgreSQL and broker")
    config.addinivalue_line("markers", "e2e: whole-suite scenario")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``integration`` every test whose fixture closure reaches a real server."""
    for item in items:
        if REAL_SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Remember which test is setting up, for the server fixtures' check."""
    item.config.stash[_RUNNING] = item
    return (yield)


def _refuse_unless_marked(config: pytest.Config, server: str) -> None:
    """Fail a test that would start ``server`` without being marked for it."""
    item = config.stash.get(_RUNNING, None)
    if item is not None and not any(item.get_closest_marker(m) for m in SERVER_MARKERS):
        pytest.fail(
            f"{item.nodeid} starts {server} but is not marked integration: request the `pg` or "
            "`broker` fixture (directly or through another fixture) instead of reaching it another way",
            pytrace=False,
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Repeat pytest-randomly's seed at the end (``-q`` hides the header) with how to replay it."""
    seed = getattr(config.option, "randomly_seed", None)
    if config.pluginmanager.hasplugin("randomly") and isinstance(seed, int):
        terminalreporter.write_line(f"random order seed {seed}: replay with --randomly-seed={seed}")


@pytest.fixture(scope="session")
def pg(pytestconfig: pytest.Config) -> Iterator[PostgresForTests]:
    """The test PostgreSQL server (embedded pgserver unless DATABASE_URL or Docker)."""
    _refuse_unless_marked(pytestconfig, "PostgreSQL")
    from caisse_shared.testing.infra import PostgresForTests

    server = PostgresForTests()
    yield server
    server.stop()
    # pgserver logs from an atexit hook after pytest closed its streams: silence that noise
    logging.getLogger("pgserver").disabled = True


@pytest.fixture(scope="session")
def broker(pytestconfig: pytest.Config) -> Iterator[BrokerForTests]:
    """The shared test broker (embedded Tansu unless KAFKA_BOOTSTRAP_SERVERS or Docker)."""
    _refuse_unless_marked(pytestconfig, "the broker")
    from caisse_shared.testing.infra import BrokerForTests

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
    from caisse_shared.testing.tokens import TokenFactory

    return TokenFactory()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic, group and database names."""
    return uuid.uuid4().hex[:10]
