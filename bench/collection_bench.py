"""Collection benchmark: automatic assignment of 100,000 delinquent customers to 500 agents
(seconds, max/min workload ratio), daily task-list generation, and payment latency to the case:
from a signed payment webhook on the payments app to the case updated in collection (both apps
in-process, relays and consumers running; p50/p99 and where the time goes), and from the event
produced directly on payments.payment.received to the case updated."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager
from caisse_collection.config import Settings
from caisse_collection.db.models import Agent, Base, CustomerAgent, CustomerCase, Team
from caisse_collection.domain.buckets import bucket_for
from caisse_collection.main import create_app as create_collection
from caisse_collection.main import make_consumer
from caisse_collection.services.auto_assign import auto_assign_open_cases
from caisse_collection.services.jobs import generate_daily_tasks
from caisse_shared.db import Database
from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import default_registry
from caisse_shared.infra import EmbeddedPostgres, TansuBroker
from caisse_shared.migrations import upgrade_async
from caisse_shared.testing.tokens import TokenFactory
from sqlalchemy import func, insert, select, text

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "collection"
WEBHOOK_SECRET = "dev-secret"  # payments' development default for the mtn-momo channel
WARMUP = 5  # first webhooks (connections, prepared statements, topic metadata) are not measured
INST = "BENCH"


def _arg(argv: list[str], name: str, default: int) -> int:
    for a in argv:
        if a.startswith(f"--{name}="):
            return int(a.split("=", 1)[1])
    return default


async def seed(db: Database, customers: int, agents: int) -> None:
    """Teams by bucket, agents, and delinquent cases with skewed amounts."""
    async with db.unit_of_work() as s:
        teams = [
            {"id": uuid.uuid4(), "institution_id": INST, "name": f"T{i}", "buckets": []} for i in range(10)
        ]
        await s.execute(insert(Team), teams)
        await s.execute(
            insert(Agent),
            [
                {
                    "id": uuid.uuid4(),
                    "institution_id": INST,
                    "code": f"A{i}",
                    "name": f"Agent {i}",
                    "team_id": teams[i % 10]["id"],
                    "status": "ACTIVE",
                }
                for i in range(agents)
            ],
        )
        rows = []
        for i in range(customers):
            dpd = 1 + (i * 7919) % 180
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "cif": f"C{i:07d}",
                    "institution_id": INST,
                    "status": "NEW",
                    "currency": "XOF",
                    "days_past_due": dpd,
                    "bucket": bucket_for(dpd),
                    "overdue_amount": 10_000 + (i % 50) * 1000,
                    "outstanding_amount": 50_000 + ((i * 104729) % 5000) * 1000,
                    "priority": 0,
                    "contact_count": 0,
                    "broken_promises": 0,
                }
            )
            if len(rows) == 10_000:
                await s.execute(insert(CustomerCase), rows)
                rows = []
        if rows:
            await s.execute(insert(CustomerCase), rows)


async def bench_assignment(db: Database) -> None:
    """Automatic assignment of every case; workload ratio by count and amount."""
    t0 = time.perf_counter()
    async with db.unit_of_work() as s:
        n = await auto_assign_open_cases(s, INST, by="bench")
    elapsed = time.perf_counter() - t0
    async with db.unit_of_work() as s:
        loads = (
            await s.execute(
                select(CustomerAgent.agent_id, func.count(), func.sum(CustomerCase.outstanding_amount))
                .join(CustomerCase, CustomerCase.id == CustomerAgent.case_id)
                .where(CustomerAgent.active.is_(True))
                .group_by(CustomerAgent.agent_id)
            )
        ).all()
    counts = [r[1] for r in loads]
    amounts = [int(r[2]) for r in loads]
    print(
        f"auto-assignment: {n} customers -> {len(loads)} agents in {elapsed:.2f}s "
        f"(incl. {n} CUSTOMER_ASSIGNED outbox events)"
    )
    print(
        f"  workload max/min by count: {max(counts) / min(counts):.3f} "
        f"({min(counts)}..{max(counts)}); by amount: {max(amounts) / min(amounts):.3f}"
    )


async def bench_tasks(db: Database) -> None:
    """Daily task-list generation for every assigned open case."""
    t0 = time.perf_counter()
    async with db.unit_of_work() as s:
        n = await generate_daily_tasks(s, datetime.now(UTC).date())
    print(f"daily task list: {n} tasks in {time.perf_counter() - t0:.2f}s")


def _percentiles(lat: list[float]) -> str:
    """'p50 x ms, p99 y ms' of latencies in milliseconds."""
    lat = sorted(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return f"p50 {statistics.median(lat):.1f} ms, p99 {p99:.1f} ms"


async def _credited(db: Database, payment_id: str) -> datetime:
    """Poll collection until the payment is credited to the case; the credit's transaction time."""
    while True:
        async with db.unit_of_work() as s:
            at = (
                await s.execute(
                    text("SELECT created_at FROM collection.payment_credit WHERE payment_id = :p"),
                    {"p": payment_id},
                )
            ).scalar_one_or_none()
        if isinstance(at, datetime):
            return at
        await asyncio.sleep(0.002)


def _signed_momo(account: str, n: int) -> tuple[bytes, dict[str, str]]:
    """An MTN MoMo callback paying 1,000 XOF on a loan, signed as payments expects."""
    body = json.dumps(
        {
            "financialTransactionId": f"MTN-BENCH-{n}-{uuid.uuid4().hex[:8]}",
            "externalId": account,
            "amount": "1000",
            "currency": "XOF",
            "status": "SUCCESSFUL",
            "payer": {"partyIdType": "MSISDN", "partyId": "22177000111"},
        }
    ).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Caisse-Timestamp": stamp, "X-Caisse-Signature": f"sha256={mac}"}
    return body, headers | {"Content-Type": "application/json"}


async def _payments_db(pg: EmbeddedPostgres, samples: int) -> str:
    """A migrated payments database whose loan read model holds the loans paid in the benchmark."""
    from caisse_payments.db.models import loan

    admin = Database(pg.url, loan.metadata)
    async with admin.engine.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
            text("CREATE DATABASE payments")
        )
    await admin.dispose()
    url = pg.url_for("payments")
    await upgrade_async(SERVICE_DIR.parent / "payments", url)
    db = Database(url, loan.metadata)
    async with db.unit_of_work() as s:
        await s.execute(
            insert(loan),
            [
                {"account_number": f"LN{i:07d}", "cif": f"C{i:07d}", "currency": "XOF", "status": "ACTIVE"}
                | {"outstanding_principal": 10_000_000, "outstanding_interest": 0, "outstanding_penalties": 0}
                | {"institution_id": INST, "source_occurred_at": datetime.now(UTC)}
                for i in range(samples)
            ],
        )
    await db.dispose()
    return url


async def _webhook_sample(client: Any, db: Database, pay_db: Database, i: int) -> list[float]:
    """One webhook, in ms: [total, webhook answered, relay pick-up, broker + consumer fetch to the
    credit's transaction start, apply + commit + seen by the poll]."""
    body, headers = _signed_momo(f"LN{i:07d}", i)
    t0 = time.time()
    resp = await client.post("/api/payments/webhooks/mtn-momo", content=body, headers=headers)
    t_answer = time.time()
    assert resp.status_code == 201 and resp.json()["status"] == "ALLOCATED", resp.text
    applied = (await _credited(db, resp.json()["id"])).timestamp()
    t_seen = time.time()
    async with pay_db.unit_of_work() as s:
        sent = (
            await s.execute(
                text(
                    "SELECT sent_at FROM payments.outbox WHERE event_type = 'payments.PaymentReceived' "
                    "AND key = :k ORDER BY id DESC LIMIT 1"
                ),
                {"k": f"LN{i:07d}"},
            )
        ).scalar_one()
    ms = [
        t_seen - t0,
        t_answer - t0,
        sent.timestamp() - t_answer,
        applied - sent.timestamp(),
        t_seen - applied,
    ]
    return [x * 1000 for x in ms]


def _apps(url: str, pay_url: str, bootstrap: str) -> tuple[Any, Any]:
    """Payments and collection apps as deployed (relays, consumers), trusting a test key."""
    from caisse_payments.config import Settings as PaymentsSettings
    from caisse_payments.main import create_app as create_payments

    verifier = TokenFactory().verifier()
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "kafka_enable_idempotence": False,
        "CAISSE_LOG_LEVEL": "WARNING",  # not a line per request in the figures
    }
    payments = PaymentsSettings(
        database_url=pay_url, consume_loans=False, reconciliation_schedule_enabled=False, **common
    )
    collection = Settings(database_url=url, consumer_group="bench-webhook", run_jobs_on_start=False, **common)
    return create_payments(payments, verifier=verifier), create_collection(collection, verifier=verifier)


async def bench_webhook_latency(pg: EmbeddedPostgres, url: str, bootstrap: str, samples: int) -> None:
    """Signed webhook on payments -> PaymentReceived via its outbox relay -> collection's consumer."""
    import httpx

    pay_url = await _payments_db(pg, samples + WARMUP)
    payments, collection = _apps(url, pay_url, bootstrap)
    async with LifespanManager(payments, startup_timeout=60), LifespanManager(collection, startup_timeout=60):
        await asyncio.wait_for(collection.state.consumer.ready.wait(), 60)
        db, pay_db = collection.state.database, payments.state.database
        transport = httpx.ASGITransport(app=payments)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            rows = [await _webhook_sample(client, db, pay_db, i) for i in range(samples + WARMUP)]
    rows = rows[WARMUP:]
    total, answer, relay, consume, apply = (list(col) for col in zip(*rows, strict=True))
    print(f"webhook -> case updated latency ({samples} signed MTN MoMo webhooks): {_percentiles(total)}")
    print(
        f"  of which webhook answered {_percentiles(answer)}; relay pick-up {_percentiles(relay)};\n"
        f"  relay send + broker + consumer fetch {_percentiles(consume)}; "
        f"apply + commit + poll {_percentiles(apply)}"
    )


async def bench_event_latency(db: Database, bootstrap: str, samples: int, first: int) -> None:
    """payments.payment.received produced directly on the broker -> case updated (consumer running)."""
    from aiokafka import AIOKafkaProducer

    settings = Settings(
        database_url="",
        kafka_bootstrap_servers=bootstrap,
        kafka_enable_idempotence=False,
        consumer_group="bench",
    )
    runner = make_consumer(settings, db)
    await runner.start()
    await asyncio.wait_for(runner.ready.wait(), 60)
    await asyncio.sleep(3)  # let the new group skip through the webhook phase's events first
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    lat: list[float] = []
    for i in range(first, first + samples):
        ev = _payment_event(i)
        t0 = time.perf_counter()
        await producer.send_and_wait(
            ev.topic,
            default_registry().encode(ev.event_type, 1, ev.payload),
            key=ev.key.encode(),
            headers=ev.headers(),
        )
        await _credited(db, f"P{i}")
        lat.append((time.perf_counter() - t0) * 1000)
    print(
        f"event -> case updated latency ({samples} payments.payment.received produced directly): "
        f"{_percentiles(lat)}"
    )
    await producer.stop()
    await runner.stop()


def _payment_event(i: int) -> Event:
    """A PaymentReceived for customer C<i> as payments would publish it."""
    cif = f"C{i:07d}"
    payload: dict[str, Any] = {
        "payment_id": f"P{i}",
        "reference_number": f"R{i}",
        "channel": "MTN_MOMO",
        "provider_reference": f"X{i}",
        "account_number": None,
        "cif": cif,
        "amount": 1000,
        "currency": "XOF",
        "status": "ALLOCATED",
        "paid_at": datetime.now(UTC),
    }
    return Event(
        event_type="payments.PaymentReceived", topic="payments.payment.received", key=cif, payload=payload
    )


async def _mark_backlog_sent(db: Database) -> int:
    """The nightly run's 100,000 outbox events are not what the latency runs measure: set aside."""
    async with db.unit_of_work() as s:
        result = await s.execute(text("UPDATE collection.outbox SET sent_at = now() WHERE sent_at IS NULL"))
    return int(getattr(result, "rowcount", 0))


async def main(argv: list[str] | None = None) -> None:
    """Run the three measurements on an embedded PostgreSQL in a temp dir."""
    argv = argv or []
    customers, agents = _arg(argv, "customers", 100_000), _arg(argv, "agents", 500)
    tmp = Path(tempfile.mkdtemp(prefix="collection-bench-"))
    pg = EmbeddedPostgres(tmp / "pg", cleanup=True)
    try:
        url = pg.url
        await upgrade_async(SERVICE_DIR, url)
        db = Database(url, Base.metadata)
        t0 = time.perf_counter()
        await seed(db, customers, agents)
        print(f"seeded {customers} delinquent customers, {agents} agents in {time.perf_counter() - t0:.1f}s")
        await bench_assignment(db)
        await bench_tasks(db)
        samples = _arg(argv, "samples", 200)
        print(f"(set aside {await _mark_backlog_sent(db)} unsent collection outbox events)")
        broker = TansuBroker().start()
        try:
            await bench_webhook_latency(pg, url, broker.bootstrap, samples)
            await bench_event_latency(db, broker.bootstrap, samples, first=samples + WARMUP)
        finally:
            broker.stop()
        await db.dispose()
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import sys

    asyncio.run(main(sys.argv[1:]))
