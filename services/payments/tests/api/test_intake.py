"""The one-statement webhook intake: all or nothing, replays and duplicates write nothing extra."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from caisse_payments.db import driver, intake
from caisse_payments.db.models import Base
from caisse_payments.domain.allocation import parse_order
from caisse_payments.domain.channels import TRANSFORMS
from caisse_payments.domain.signature import delivery_id
from caisse_payments.services import ingest as ingest_service
from caisse_payments.services.events import outbox_row
from caisse_shared.db import Database
from caisse_shared.events.registry import default_registry
from payments_testkit import database_of, scalar, signed
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

URL = "/api/payments/webhooks/kkiapay"
ORDER = ("PENALTIES", "INTEREST", "PRINCIPAL")


def _body(ref: str, amount: int = 2_500, **extra: Any) -> dict[str, Any]:
    return {
        "transactionId": ref,
        "isPaymentSucces": True,
        "amount": amount,
        "stateData": {"transaction_type": "cotisation_tontine"},
        **extra,
    }


async def _counts(app: Any, ref: str) -> tuple[int, int, int]:
    pid = await scalar(app, "SELECT id FROM payments.payment WHERE provider_reference=:r", r=ref)
    payments = await scalar(app, "SELECT count(*) FROM payments.payment WHERE provider_reference=:r", r=ref)
    history = await scalar(app, "SELECT count(*) FROM payments.payment_history WHERE payment_id=:p", p=pid)
    events = await scalar(
        app,
        "SELECT count(*) FROM payments.outbox WHERE payload IS NOT NULL AND key=("
        "SELECT reference_number FROM payments.payment WHERE provider_reference=:r)",
        r=ref,
    )
    return payments, history, events


async def test_new_payment_has_its_history_row_and_decodable_event(client: Any, app: Any) -> None:
    ref = f"I{uuid.uuid4().hex[:12]}"
    raw, headers = signed(_body(ref))
    resp = await client.post(URL, content=raw, headers=headers)
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert p["status"] == "RECEIVED"
    assert await _counts(app, ref) == (1, 1, 1)
    assert (
        await scalar(
            app, "SELECT actor FROM payments.payment_history WHERE payment_id=:p", p=uuid.UUID(p["id"])
        )
        == "webhook:kkiapay"
    )
    payload = await scalar(app, "SELECT payload FROM payments.outbox WHERE key=:k", k=p["reference_number"])
    event = default_registry().decode("payments.PaymentReceived", 1, payload)
    assert (event["payment_id"], event["amount"], event["status"]) == (p["id"], 2_500, "RECEIVED")
    delivery = await scalar(
        app,
        "SELECT count(*) FROM payments.webhook_delivery WHERE channel='kkiapay' AND delivery_id=:d",
        d=delivery_id(headers["X-Caisse-Signature"]),
    )
    assert delivery == 1


async def test_replay_and_provider_retry_write_nothing_more(client: Any, app: Any) -> None:
    ref, now = f"I{uuid.uuid4().hex[:12]}", int(time.time())
    raw, headers = signed(_body(ref), ts=now)
    assert (await client.post(URL, content=raw, headers=headers)).status_code == 201
    replay = await client.post(URL, content=raw, headers=headers)
    assert replay.status_code == 409
    assert replay.json()["code"] == "webhook_replayed"
    retry_raw, retry_headers = signed(_body(ref), ts=now - 1)  # the provider's retry: new signature
    retry = await client.post(URL, content=retry_raw, headers=retry_headers)
    assert retry.status_code == 200
    assert (await client.post(URL, content=retry_raw, headers=retry_headers)).status_code == 409
    assert await _counts(app, ref) == (1, 1, 1)


async def test_mismatched_duplicate_is_refused_and_recorded_once(client: Any, app: Any) -> None:
    ref = f"I{uuid.uuid4().hex[:12]}"
    raw, headers = signed(_body(ref))
    assert (await client.post(URL, content=raw, headers=headers)).status_code == 201
    other_raw, other_headers = signed(_body(ref, amount=9_999), ts=int(time.time()) - 1)
    resp = await client.post(URL, content=other_raw, headers=other_headers)
    assert resp.status_code == 409
    assert resp.json()["code"] == "provider_reference_mismatch"
    # kept with its answer: the same delivery again is a replay, recorded once
    again = await client.post(URL, content=other_raw, headers=other_headers)
    assert (again.status_code, again.json()["code"]) == (409, "webhook_replayed")
    assert await _counts(app, ref) == (1, 1, 1)
    conflicts = await scalar(
        app,
        "SELECT count(*) FROM payments.payment_conflict c JOIN payments.payment p ON p.id = c.payment_id "
        "WHERE p.provider_reference = :r AND c.kind = 'AMOUNT_MISMATCH'",
        r=ref,
    )
    assert conflicts == 1
    assert await scalar(app, "SELECT needs_review FROM payments.payment WHERE provider_reference=:r", r=ref)


@pytest.mark.parametrize("identical", [True, False])
async def test_fifty_concurrent_deliveries_one_payment(client: Any, app: Any, identical: bool) -> None:
    ref = f"I{uuid.uuid4().hex[:12]}"
    now = int(time.time())
    deliveries = [signed(_body(ref), ts=now if identical else now - i) for i in range(50)]
    responses = await asyncio.gather(*(client.post(URL, content=r, headers=h) for r, h in deliveries))
    codes = [x.status_code for x in responses]
    assert codes.count(201) == 1
    assert codes.count(409 if identical else 200) == 49, codes
    assert await _counts(app, ref) == (1, 1, 1)


async def test_the_statement_is_all_or_nothing(client: Any, app: Any) -> None:
    """An outbox row that cannot be inserted leaves no payment, history or delivery behind."""
    first = f"I{uuid.uuid4().hex[:12]}"
    raw, headers = signed(_body(first))
    created = (await client.post(URL, content=raw, headers=headers)).json()
    taken = await scalar(
        app, "SELECT event_id FROM payments.outbox WHERE key=:k", k=created["reference_number"]
    )
    ref, delivery_id = f"I{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    n = TRANSFORMS["kkiapay"][1](_body(ref), datetime.now(UTC))
    values = ingest_service._values(n, ingest_service.IngestContext(order=parse_order(ORDER)))
    event_row = outbox_row(ingest_service._first_event(n, values), producer="payments")  # type: ignore[arg-type]
    with pytest.raises(asyncpg.UniqueViolationError):
        await intake.insert_standalone(
            database_of(app).engine,
            values,
            delivery=("kkiapay", delivery_id),
            outcome="SUCCESS",
            compare_type=None,
            history_reason=None,
            outbox_row={**event_row, "event_id": taken},  # unique event_id already used
        )
    assert await scalar(app, "SELECT count(*) FROM payments.payment WHERE provider_reference=:r", r=ref) == 0
    assert (
        await scalar(app, "SELECT count(*) FROM payments.payment_history WHERE payment_id=:p", p=values["id"])
        == 0
    )
    assert (
        await scalar(
            app, "SELECT count(*) FROM payments.webhook_delivery WHERE delivery_id=:d", d=delivery_id
        )
        == 0
    )


@pytest.mark.parametrize(("column", "length"), [("account_number", 61), ("payer_phone", 41), ("cif", 61)])
async def test_the_statement_refuses_a_value_too_long_instead_of_cutting_it(
    app: Any, column: str, length: int
) -> None:
    """An explicit CAST to VARCHAR(n) cuts silently: the statement casts to VARCHAR, the column refuses."""
    ref = f"I{uuid.uuid4().hex[:12]}"
    n = TRANSFORMS["kkiapay"][1](_body(ref), datetime.now(UTC))
    values = ingest_service._values(n, ingest_service.IngestContext(order=parse_order(ORDER)))
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        await intake.insert_standalone(
            database_of(app).engine,
            {**values, column: "9" * length},
            delivery=("kkiapay", uuid.uuid4().hex),
            outcome="SUCCESS",
            compare_type=None,
            history_reason=None,
            outbox_row=None,
        )
    assert await scalar(app, "SELECT count(*) FROM payments.payment WHERE provider_reference=:r", r=ref) == 0


async def test_a_lost_driver_connection_is_dropped_from_the_pool(db_url: str) -> None:
    """The raw-driver path must not keep or hand back a dead connection."""
    db = Database(db_url, Base.metadata, pool_size=1)
    try:
        with pytest.raises(RuntimeError):
            async with driver.driver_connection(db.engine) as conn:
                conn.terminate()
                raise RuntimeError("connection lost mid-request")
        async with driver.driver_connection(db.engine) as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await db.dispose()


async def test_driver_connections_are_kept_checked_and_closed_on_dispose(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(db_url, Base.metadata, pool_size=4)
    try:
        async with driver.driver_connection(db.engine) as first:
            pass
        async with driver.driver_connection(db.engine) as again:
            assert again is first  # kept between webhooks, not checked back in
        with pytest.raises(asyncpg.DivisionByZeroError):  # server-side: still usable, still kept
            async with driver.driver_connection(db.engine) as conn:
                await conn.execute("SELECT 1/0")
        async with driver.driver_connection(db.engine) as conn:
            assert conn is first
        first.terminate()  # died while idle
        monkeypatch.setattr(driver, "PING_AFTER_S", 0.0)  # and idle long enough to be pinged
        async with driver.driver_connection(db.engine) as conn:
            assert conn is not first and await conn.fetchval("SELECT 1") == 1
        kept = conn
    finally:
        await db.dispose()
    assert kept.is_closed()  # dispose closes what was kept
    assert db.engine.sync_engine.pool.checkedout() == 0


async def test_payments_cannot_be_deleted_and_no_history_row_is_orphaned(client: Any, app: Any) -> None:
    """What the dropped history foreign key guarded (migration 0002) still holds."""
    ref = f"I{uuid.uuid4().hex[:12]}"
    raw, headers = signed(_body(ref))
    assert (await client.post(URL, content=raw, headers=headers)).status_code == 201
    for sql in (
        "DELETE FROM payments.payment WHERE provider_reference = :r",
        "TRUNCATE payments.payment CASCADE",
    ):
        with pytest.raises(IntegrityError, match="never deleted"):
            async with database_of(app).engine.begin() as conn:
                await conn.execute(text(sql), {"r": ref})
    assert await _counts(app, ref) == (1, 1, 1)
    orphans = await scalar(
        app,
        "SELECT count(*) FROM payments.payment_history h "
        "WHERE NOT EXISTS (SELECT 1 FROM payments.payment p WHERE p.id = h.payment_id)",
    )
    assert orphans == 0


async def test_intake_statements_in_flight_are_capped(db_url: str) -> None:
    db = Database(db_url, Base.metadata, pool_size=8)
    driver.limit_in_flight(db.engine, 2)
    busy, peak = 0, 0

    async def one() -> None:
        nonlocal busy, peak
        async with driver.driver_connection(db.engine) as conn:
            busy += 1
            peak = max(peak, busy)
            await conn.execute("SELECT pg_sleep(0.02)")
            busy -= 1

    try:
        await asyncio.gather(*(one() for _ in range(10)))
    finally:
        await db.dispose()
    assert peak == 2
