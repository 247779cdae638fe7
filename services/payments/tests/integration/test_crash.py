"""SIGKILL the service under a load of notifications; after restart nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from caisse_shared.db import async_url
from caisse_shared.events.registry import default_registry
from caisse_shared.infra import free_port
from payments_testkit import signed
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[4]


def _start(db_url: str, bootstrap: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CAISSE_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "CAISSE_ENV": "development",
        "CAISSE_PAYMENTS_CONSUME_LOANS": "false",
        "CAISSE_LOG_LEVEL": "WARNING",
        "CAISSE_PAYMENTS_RECONCILIATION_SCHEDULE_ENABLED": "false",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "caisse_payments.main:create_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_live(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=1) as c:
        while time.monotonic() < deadline:
            try:
                if (await c.get("/health/live")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("service did not start")


def _body(ref: str) -> dict[str, Any]:
    return {
        "transactionId": ref,
        "isPaymentSucces": True,
        "amount": 1_500,
        "stateData": {"transaction_type": "depot_epargne"},
    }


async def _fire(base: str, refs: list[str], ok: dict[str, str], stop_after: float | None) -> None:
    """Send each notification once with 16 clients; remember which got a 2xx (and its id)."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for r in refs:
        queue.put_nowait(r)
    started = time.monotonic()

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            if stop_after is not None and time.monotonic() - started > stop_after + 5:
                return
            ref = queue.get_nowait()
            raw, headers = signed(_body(ref))
            try:
                resp = await client.post("/api/payments/webhooks/kkiapay", content=raw, headers=headers)
            except httpx.HTTPError:
                continue
            if resp.status_code in (200, 201):
                ok[ref] = resp.json()["id"]

    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))


async def _events_by_payment(bootstrap: str, wanted: set[str], timeout: float = 30) -> dict[str, set[str]]:
    consumer = AIOKafkaConsumer(
        "payments.payment.received",
        bootstrap_servers=bootstrap,
        group_id=uuid.uuid4().hex,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[str, set[str]] = {}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for rec in (r for recs in batch.values() for r in recs):
                pid = default_registry().decode("payments.PaymentReceived", 1, rec.value)["payment_id"]
                if pid in wanted:
                    seen.setdefault(pid, set()).add(dict(rec.headers)["event_id"].decode())
            if not batch and wanted <= set(seen):
                break
    finally:
        await consumer.stop()
    return seen


async def _stored(db_url: str) -> tuple[list[Any], int]:
    """Payments per reference, once the restarted relay has drained the outbox."""
    engine = create_async_engine(async_url(db_url))
    try:
        async with engine.connect() as conn:
            deadline = time.monotonic() + 20
            while (
                unsent := (
                    await conn.execute(text("SELECT count(*) FROM payments.outbox WHERE sent_at IS NULL"))
                ).scalar()
            ) and time.monotonic() < deadline:
                await conn.rollback()
                await asyncio.sleep(0.2)
            rows = (
                await conn.execute(
                    text(
                        "SELECT provider_reference, count(*) FROM payments.payment WHERE channel='KKIAPAY' "
                        "AND provider_reference LIKE 'CRASH-%' GROUP BY 1"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return list(rows), int(unsent or 0)


async def test_sigkill_under_load_loses_and_doubles_nothing(db_url: str, kafka_bootstrap: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    refs = [f"CRASH-{uuid.uuid4().hex[:12]}" for _ in range(800)]
    ok: dict[str, str] = {}
    proc = _start(db_url, kafka_bootstrap, port)
    try:
        await _wait_live(base)
        load = asyncio.create_task(_fire(base, refs, ok, stop_after=1.0))
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        await load
        acknowledged = dict(ok)
        assert 0 < len(acknowledged) < len(refs), len(acknowledged)
        proc = _start(db_url, kafka_bootstrap, port)
        await _wait_live(base)
        # Providers retry every notification (new signature each time): all must map 1:1.
        retried: dict[str, str] = {}
        await _fire(base, refs, retried, stop_after=None)
        assert set(retried) == set(refs)
        assert all(retried[r] == pid for r, pid in acknowledged.items())
        rows, unsent = await _stored(db_url)
    finally:
        proc.kill()
        proc.wait(10)
    assert {r for r, _ in rows} == set(refs)
    assert all(n == 1 for _, n in rows)
    assert unsent == 0
    seen = await _events_by_payment(kafka_bootstrap, set(retried.values()))
    assert set(seen) == set(retried.values())
    assert all(len(ids) == 1 for ids in seen.values())
