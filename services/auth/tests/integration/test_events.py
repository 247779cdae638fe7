"""auth.* events reach the broker through the outbox relay, with no secret inside."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from caisse_auth.services.audit import TOPICS
from caisse_auth.services.bootstrap import create_admin
from caisse_shared.events.envelope import parse_headers
from caisse_shared.events.registry import default_registry

pytestmark = pytest.mark.integration
PASSWORD = "Event-Passw0rd!"


@pytest.fixture(scope="module")
async def live_api(settings_for: Any, api_for: Any, kafka_bootstrap: str) -> AsyncIterator[Any]:
    """The app with its outbox relay running against the test broker."""
    settings = await settings_for(run_background_workers=True, kafka_bootstrap_servers=kafka_bootstrap)
    async with api_for(settings) as api:
        kit = api.app.state.kit
        async with kit.database.unit_of_work() as session:
            await create_admin(kit, session, "root", PASSWORD)
        yield api


async def _collect(bootstrap: str, wanted: int, key_filter: set[str]) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        *TOPICS.values(),
        bootstrap_servers=bootstrap,
        group_id=f"auth-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while len(out) < wanted:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for rec in records:
                        h = parse_headers(rec.headers)
                        payload = default_registry().decode(
                            h["event_type"], int(h["schema_version"]), rec.value
                        )
                        if payload.get("username") in key_filter:
                            out.append(
                                {
                                    "type": h["event_type"],
                                    "topic": rec.topic,
                                    "payload": payload,
                                    "raw": rec.value,
                                }
                            )
    finally:
        await consumer.stop()
    return out


async def test_auth_events_are_published(live_api: Any, kafka_bootstrap: str) -> None:
    admin = await live_api.headers_for("root", PASSWORD)
    user = await live_api.create_user(admin, "event.user", PASSWORD, ["client"])
    await live_api.client.post(
        "/api/auth/login", json={"username": "event.user", "password": "Wrong-Passw0rd!"}
    )
    body = await live_api.login("event.user", PASSWORD)
    await live_api.client.post(f"/api/users/{user['id']}/roles", headers=admin, json={"role": "finance"})
    await live_api.client.post("/api/auth/logout", json={"token": body["token"]})
    events = await _collect(kafka_bootstrap, 5, {"event.user"})
    by_type = {e["type"]: e for e in events}
    assert set(by_type) == {
        "auth.UserCreated",
        "auth.LoginFailed",
        "auth.LoginSucceeded",
        "auth.UserUpdated",
        "auth.LoggedOut",
    }
    assert by_type["auth.UserCreated"]["topic"] == "auth.user.created"
    assert by_type["auth.LoginFailed"]["payload"]["reason"] == "invalid_credentials"
    assert by_type["auth.LoginSucceeded"]["payload"]["session_id"] == body["session_id"]
    assert by_type["auth.UserUpdated"]["payload"]["roles"] == ["client", "finance"]
    assert by_type["auth.LoggedOut"]["payload"]["reason"] == "logout"
    for e in events:  # never a password or a token on the wire
        for secret in (PASSWORD, "Wrong-Passw0rd!", body["token"], body["refresh_token"]):
            assert secret.encode() not in e["raw"]
