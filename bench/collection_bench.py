"""Collection benchmark: automatic assignment of 100,000 delinquent customers to 500 agents
(seconds, max/min workload ratio), daily task-list generation, and event-to-case latency
(payments.payment.received produced on the broker -> case updated; p50/p99)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from caisse_collection.config import Settings
from caisse_collection.db.models import Agent, Base, CustomerAgent, CustomerCase, Team
from caisse_collection.domain.buckets import bucket_for
from caisse_collection.main import make_consumer
from caisse_collection.services.auto_assign import auto_assign_open_cases
from caisse_collection.services.jobs import generate_daily_tasks
from caisse_shared.db import Database
from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import default_registry
from caisse_shared.infra import EmbeddedPostgres, TansuBroker
from caisse_shared.migrations import upgrade_async
from sqlalchemy import func, insert, select, text

SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "collection"
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


async def bench_latency(db: Database, url: str, samples: int) -> None:
    """payments.payment.received produced -> case row updated (consumer running)."""
    from aiokafka import AIOKafkaProducer

    broker = TansuBroker().start()
    try:
        settings = Settings(
            database_url=url,
            kafka_bootstrap_servers=broker.bootstrap,
            kafka_enable_idempotence=False,
            consumer_group="bench",
        )
        runner = make_consumer(settings, db)
        await runner.start()
        await asyncio.wait_for(runner.ready.wait(), 60)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
        await producer.start()
        reg = default_registry()
        lat: list[float] = []
        for i in range(samples):
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
            ev = Event(
                event_type="payments.PaymentReceived",
                topic="payments.payment.received",
                key=cif,
                payload=payload,
            )
            t0 = time.perf_counter()
            await producer.send_and_wait(
                ev.topic,
                reg.encode(ev.event_type, 1, payload),
                key=cif.encode(),
                headers=ev.headers(),
            )
            while True:
                async with db.unit_of_work() as s:
                    done = (
                        await s.execute(
                            text("SELECT 1 FROM collection.payment_credit WHERE payment_id = :p"),
                            {"p": f"P{i}"},
                        )
                    ).first()
                if done:
                    break
                await asyncio.sleep(0.002)
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"event -> case updated latency ({samples} payments.payment.received, produced "
            f"directly, not via the payments webhook): p50 {statistics.median(lat):.1f} ms, "
            f"p99 {p99:.1f} ms"
        )
        await producer.stop()
        await runner.stop()
    finally:
        broker.stop()


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
        await bench_latency(db, url, _arg(argv, "samples", 200))
        await db.dispose()
    finally:
        pg.stop()


if __name__ == "__main__":
    import sys

    asyncio.run(main(sys.argv[1:]))
