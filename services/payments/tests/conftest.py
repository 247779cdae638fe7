"""Shared fixtures: one migrated database and one app per test module."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from payments_testkit import SERVICE_DIR, create_app, make_settings


@pytest.fixture(scope="module")
async def db_url(pg: Any) -> str:
    """A fresh migrated database for the module."""
    url: str = await pg.migrated_database(SERVICE_DIR, prefix="payments")
    return url


@pytest.fixture(scope="module")
async def app(db_url: str, token_factory: Any) -> AsyncIterator[Any]:
    """The app without background workers (relay/consumers tested in integration)."""
    application = create_app(make_settings(db_url), verifier=token_factory.verifier())
    yield application
    await application.state.database.dispose()


@pytest.fixture(scope="module")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client over ASGI."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
