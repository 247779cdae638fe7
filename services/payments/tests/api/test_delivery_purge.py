"""Scheduled purge of the webhook replay guard: old deliveries go, recent ones still block replays."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from caisse_payments.services import scheduler as scheduler_module
from caisse_payments.services.scheduler import ReconciliationScheduler
from payments_testkit import database_of, scalar, signed
from sqlalchemy import text

URL = "/api/payments/webhooks/kkiapay"


async def _old_deliveries(app: Any, n: int, age_hours: float) -> str:
    """``n`` deliveries received ``age_hours`` ago on a fresh channel tag; the tag."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    async with database_of(app).engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO payments.webhook_delivery (channel, delivery_id, received_at) "
                "SELECT :tag, md5(random()::text || g), now() - make_interval(hours => :h) "
                "FROM generate_series(1, :n) g"
            ),
            {"tag": tag, "n": n, "h": age_hours},
        )
    return tag


async def _left(app: Any, tag: str) -> int:
    count = "SELECT count(*) FROM payments.webhook_delivery WHERE channel = :t"
    return int(await scalar(app, count, t=tag))


async def test_purge_keeps_what_can_still_be_replayed(
    client: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "PURGE_BATCH", 2)  # several batches
    old, recent = await _old_deliveries(app, 5, 30), await _old_deliveries(app, 3, 1)
    raw, headers = signed(
        {"transactionId": f"P{uuid.uuid4().hex[:10]}", "isPaymentSucces": True, "amount": 900}
    )
    assert (await client.post(URL, content=raw, headers=headers)).status_code == 201
    sched = ReconciliationScheduler(
        database_of(app), interval_s=None, tolerance_days=1, delivery_retention_s=24 * 3600
    )
    assert await sched.purge_deliveries() == 5  # the 30-hour-old ones: none else is past 24 h
    assert (await _left(app, old), await _left(app, recent)) == (0, 3)
    assert (await client.post(URL, content=raw, headers=headers)).status_code == 409


async def test_the_scheduler_runs_the_purge(app: Any) -> None:
    old = await _old_deliveries(app, 3, 2)
    sched = ReconciliationScheduler(
        database_of(app), interval_s=None, tolerance_days=1, delivery_retention_s=3600, purge_interval_s=0.05
    )
    await sched.start()
    try:
        for _ in range(100):
            if await _left(app, old) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await sched.stop()
    assert await _left(app, old) == 0
