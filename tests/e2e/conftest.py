"""The four services in-process on their own databases and the shared broker, for e2e scenarios.

Each app runs with its lifespan (outbox relay, consumers, sync runner) and is reached only through
an ASGI HTTP client; the only other channel is Kafka. Tokens are issued by the real auth app and
verified by the other services against auth's published JWKS.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from caisse_auth.config import Settings as AuthSettings
from caisse_auth.main import create_app as create_auth
from caisse_bank_sync.config import Settings as BankSyncSettings
from caisse_bank_sync.config import SourceConfig
from caisse_bank_sync.main import create_app as create_bank_sync
from caisse_collection.config import Settings as CollectionSettings
from caisse_collection.main import create_app as create_collection
from caisse_payments.config import Settings as PaymentsSettings
from caisse_payments.main import create_app as create_payments
from caisse_shared.http.security import TokenVerifier
from caisse_shared.testing.infra import PostgresForTests
from fastapi import FastAPI
from pydantic import SecretStr

from .helpers import Bus, Suite, Users, bearer

SERVICES = Path(__file__).resolve().parents[2] / "services"
ADMIN_PASSWORD = "E2e-Adm1n-Passw0rd!"
USER_PASSWORD = "E2e-Us3r-Passw0rd!"


def _common(url: str, bootstrap: str) -> dict[str, Any]:
    """Settings every service gets: its database, the shared broker, no idempotent producer."""
    return {
        "database_url": url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_enable_idempotence": False,  # the embedded Tansu broker rejects it
        "log_json": False,
        "consumer_retry_delays_s": (0.5, 1.0),
    }


async def _auth_settings(pg: PostgresForTests, bootstrap: str) -> AuthSettings:
    """Auth in development mode so its bootstrap creates the ``admin`` with a chosen password."""
    return AuthSettings(
        **_common(await pg.migrated_database(SERVICES / "auth", "e2e_auth"), bootstrap),
        environment="development",
        admin_password=SecretStr(ADMIN_PASSWORD),
        argon2_time_cost=1,  # cheap hashing: tests only
        argon2_memory_kib=1024,
    )


async def _client(stack: AsyncExitStack, app: FastAPI) -> httpx.AsyncClient:
    """Start the app's lifespan (workers included) and return an HTTP client on it."""
    await stack.enter_async_context(LifespanManager(app, startup_timeout=60, shutdown_timeout=30))
    transport = httpx.ASGITransport(app=app)
    return await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://t"))


async def _verifier(auth: httpx.AsyncClient, settings: AuthSettings) -> TokenVerifier:
    """A verifier holding the keys auth publishes (no TCP port in-process, so no JWKS URL)."""
    resp = await auth.get("/.well-known/jwks.json")
    assert resp.status_code == 200, resp.text
    keys = resp.json()["keys"]
    assert keys, "auth publishes no signing key"
    return TokenVerifier(issuer=settings.jwt_issuer, audience=settings.jwt_audience, keys=keys)


async def _services(
    pg: PostgresForTests, bootstrap: str, verifier: TokenVerifier, groups: dict[str, str], extracts: Path
) -> list[FastAPI]:
    """bank-sync (T24 extracts read from ``extracts``), payments and collection, unique groups."""

    async def common(name: str) -> dict[str, Any]:
        return _common(await pg.migrated_database(SERVICES / name, f"e2e_{name}"), bootstrap)

    bank_sync = BankSyncSettings(
        **await common("bank-sync"), sources={"T24": SourceConfig(kind="file", path=extracts)}
    )
    payments = PaymentsSettings(
        **await common("payments"), loans_group=groups["payments"], reconciliation_schedule_enabled=False
    )
    collection = CollectionSettings(
        **await common("collection"),
        consumer_group=groups["collection"],
        run_jobs_on_start=False,  # no scheduled job may touch the case during the scenario
        jobs_interval_s=3600,
    )
    return [
        create_bank_sync(bank_sync, verifier=verifier),
        create_payments(payments, verifier=verifier),
        create_collection(collection, verifier=verifier),
    ]


@pytest.fixture(scope="module")
async def suite(pg: PostgresForTests, kafka_bootstrap: str, tmp_path_factory: Any) -> AsyncIterator[Suite]:
    """auth, bank-sync, payments and collection running, each on its own migrated database."""
    run = uuid.uuid4().hex[:8]
    groups = {"payments": f"payments-loans-e2e-{run}", "collection": f"collection-e2e-{run}"}
    extracts = tmp_path_factory.mktemp("t24")
    auth_settings = await _auth_settings(pg, kafka_bootstrap)
    async with AsyncExitStack() as stack:
        auth = await _client(stack, create_auth(auth_settings))
        verifier = await _verifier(auth, auth_settings)
        apps = await _services(pg, kafka_bootstrap, verifier, groups, extracts)
        bank_sync, payments, collection = [await _client(stack, app) for app in apps]
        yield Suite(
            auth=auth,
            bank_sync=bank_sync,
            payments=payments,
            collection=collection,
            bootstrap=kafka_bootstrap,
            extract_dir=extracts,
            institution=f"SFD-E2E-{run.upper()}",
            groups=groups,
        )


async def login(auth: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    """Sign in through auth's API; returns the AuthResult."""
    resp = await auth.post("/api/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def _new_user(suite: Suite, admin: dict[str, str], name: str, role: str) -> dict[str, Any]:
    """Create a user of the suite's institution with one role, then sign them in."""
    resp = await suite.auth.post(
        "/api/users",
        headers=admin,
        json={
            "username": name,
            "password": USER_PASSWORD,
            "roles": [role],
            "institution_id": suite.institution,
            "full_name": name.replace("-", " ").title(),
        },
    )
    assert resp.status_code == 201, resp.text
    return await login(suite.auth, name, USER_PASSWORD)


@pytest.fixture(scope="module")
async def users(suite: Suite) -> Users:
    """The bootstrap ``admin`` creates an operator, a collection manager and a collection agent."""
    admin = bearer((await login(suite.auth, "admin", ADMIN_PASSWORD))["access_token"])
    operator = await _new_user(suite, admin, "e2e-operator", "banksync_operator")
    manager = await _new_user(suite, admin, "e2e-manager", "collection_manager")
    agent = await _new_user(suite, admin, "e2e-agent", "collection_agent")
    return Users(
        admin=admin,
        operator=bearer(operator["access_token"]),
        manager=bearer(manager["access_token"]),
        agent=bearer(agent["access_token"]),
        agent_subject=str(agent["user"]["id"]),
    )


@pytest.fixture(scope="module")
def bus(suite: Suite) -> Bus:
    """Kafka access on the suite's broker."""
    return Bus(suite.bootstrap)
