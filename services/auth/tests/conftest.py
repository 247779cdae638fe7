"""Fixtures of the auth tests: a migrated database per module, the app, an admin session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from caisse_auth.config import Settings
from caisse_auth.main import create_app
from caisse_auth.services.bootstrap import create_admin
from caisse_shared.testing.infra import PostgresForTests
from fastapi import FastAPI

SERVICE_DIR = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "Adm1n-Passw0rd!"


async def make_settings(pg: PostgresForTests, **overrides: Any) -> Settings:
    """Settings on a fresh migrated database, cheap argon2 (tests only), no workers."""
    values: dict[str, Any] = {
        "database_url": await pg.migrated_database(SERVICE_DIR, "auth"),
        "environment": "development",
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "ip_max_attempts": 100_000,
        "run_background_workers": False,
        "log_json": False,
        "kafka_enable_idempotence": False,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Api:
    """An HTTP client on the app with sign-in helpers."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    async def login(self, username: str, password: str, **headers: str) -> dict[str, Any]:
        """Sign in; assert success; return the AuthResult body."""
        r = await self.client.post(
            "/api/auth/login", json={"username": username, "password": password}, headers=headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def headers_for(self, username: str, password: str) -> dict[str, str]:
        """Bearer headers of a fresh sign-in."""
        body = await self.login(username, password)
        return {"Authorization": f"Bearer {body['access_token']}"}

    async def create_user(
        self, admin: dict[str, str], username: str, password: str, roles: list[str], **fields: Any
    ) -> dict[str, Any]:
        """Create a user through the API (as ``admin``)."""
        r = await self.client.post(
            "/api/users",
            headers=admin,
            json={"username": username, "password": password, "roles": roles, **fields},
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


@asynccontextmanager
async def start_api(settings: Settings) -> AsyncIterator[Api]:
    """Run the app (lifespan included) and yield an Api on it."""
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield Api(app, client, settings)


@pytest.fixture(scope="module")
async def api(pg: PostgresForTests) -> AsyncIterator[Api]:
    """The auth app on its own database, shared by one test module."""
    settings = await make_settings(pg)
    async with start_api(settings) as a:
        kit = a.app.state.kit
        async with kit.database.unit_of_work() as session:
            await create_admin(kit, session, "root", ADMIN_PASSWORD)
        yield a


@pytest.fixture(scope="module")
async def admin(api: Api) -> dict[str, str]:
    """Bearer headers of the platform administrator."""
    return await api.headers_for("root", ADMIN_PASSWORD)


@pytest.fixture
def admin_password() -> str:
    """Password of the ``root`` platform administrator."""
    return ADMIN_PASSWORD


@pytest.fixture(scope="module")
def settings_for(pg: PostgresForTests) -> Callable[..., Awaitable[Settings]]:
    """``await settings_for(**overrides)``: settings on a fresh database."""

    async def build(**overrides: Any) -> Settings:
        return await make_settings(pg, **overrides)

    return build


@pytest.fixture(scope="module")
def api_for() -> Callable[[Settings], AbstractAsyncContextManager[Api]]:
    """``async with api_for(settings) as api``: another running app."""
    return start_api
