"""Real broker: bank-sync LoanUpdated feeds the read model; payment events reach their topics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from asgi_lifespan import LifespanManager
from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import default_registry
from caisse_shared.testing.kafka import next_offsets, wait_for_committed
from payments_testkit import create_app, make_settings, scalar

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def live(db_url: str, kafka_bootstrap: str, token_factory: Any) -> AsyncIterator[Any]:
    """The app with relay and loan consumer running (one consumer group per module)."""
    settings = make_settings(
        db_url,
        kafka_bootstrap,
        run_background_workers=True,
        loans_group=f"payments-loans-{uuid.uuid4().hex[:6]}",
        consumer_retry_delays_s=(0.2,),
    )
    app = create_app(settings, verifier=token_factory.verifier())
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        yield app


async def _produce_loan(
    bootstrap: str, account: str, *, principal: int, occurred: datetime, status: str = "ACTIVE"
) -> RecordMetadata:
    payload = {
        "account_number": account,
        "cif": "CIF-K",
        "source_system": "T24",
        "currency": "XOF",
        "status": status,
        "original_amount": 500_000,
        "outstanding_principal": principal,
        "outstanding_interest": 2_000,
        "outstanding_penalties": 0,
    }
    ev = Event(
        event_type="banksync.LoanUpdated",
        topic="banksync.loan.updated",
        key=account,
        payload=payload,
        occurred_at=occurred,
        producer="bank_sync",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        return await producer.send_and_wait(
            ev.topic,
            default_registry().encode(ev.event_type, 1, payload),
            key=account.encode(),
            headers=ev.headers(),
        )
    finally:
        await producer.stop()


async def _read_topic(bootstrap: str, topic: str, key: str, timeout: float = 30) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=uuid.uuid4().hex,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not found and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for recs in batch.values() for r in recs if r.key == key.encode()]
    finally:
        await consumer.stop()
    return found


async def test_loan_events_feed_allocation_and_events_are_published(
    live: Any, kafka_bootstrap: str, token_factory: Any
) -> None:
    account = f"LN{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    newer = await _produce_loan(kafka_bootstrap, account, principal=40_000, occurred=now)
    # An older snapshot arriving late must not overwrite the newer one.
    older = await _produce_loan(kafka_bootstrap, account, principal=99_999, occurred=now - timedelta(hours=1))
    await wait_for_committed(kafka_bootstrap, live.state.settings.loans_group, next_offsets([newer, older]))
    assert (
        await scalar(
            live, "SELECT outstanding_principal FROM payments.loan WHERE account_number=:a", a=account
        )
        == 40_000
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=live), base_url="http://t") as c:
        resp = await c.post(
            "/api/payments",
            headers=token_factory.headers("payments:create"),
            json={
                "provider_reference": uuid.uuid4().hex,
                "amount": 12_000,
                "currency": "XOF",
                "account_number": account,
            },
        )
    p = resp.json()
    assert (p["status"], p["allocated_interest"], p["allocated_principal"]) == ("ALLOCATED", 2_000, 10_000)
    records = await _read_topic(kafka_bootstrap, "payments.payment.received", account)
    assert len(records) == 1
    headers = dict(records[0].headers)
    assert headers["event_type"] == b"payments.PaymentReceived"
    decoded = default_registry().decode("payments.PaymentReceived", 1, records[0].value)
    assert decoded["payment_id"] == p["id"]
    assert decoded["allocated_principal"] == 10_000
