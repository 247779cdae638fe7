"""Consumer runner with inbox dedupe and a DB effect: events/s vs a raw aiokafka consume loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer
from caisse_shared.events.envelope import ReceivedEvent
from caisse_shared.messaging.consumer import ConsumerConfig, ConsumerRunner
from caisse_shared.messaging.kafka import make_producer
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench._common import REGISTRY, arg, stack, widget_event, widgets


async def produce(bootstrap: str, topic: str, n: int) -> None:
    producer = make_producer(bootstrap, idempotent=False)
    await producer.start()
    futures = []
    for i in range(n):
        e = widget_event(topic, i)
        futures.append(
            await producer.send(
                topic,
                REGISTRY.encode(e.event_type, 1, e.payload),
                key=e.key.encode(),
                headers=e.headers(),
            )
        )
    await asyncio.gather(*futures)
    await producer.stop()


async def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    """Baseline: getmany loop with manual commits, no decoding, no DB; events/s after the first batch."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="raw",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=500,
    )
    await consumer.start()
    got, started = 0, 0.0
    while got < n:
        batch = await consumer.getmany(timeout_ms=500)
        if batch and not started:
            started = time.perf_counter()
        for records in batch.values():
            got += len(records)
        if batch:
            await consumer.commit()
    elapsed = time.perf_counter() - started
    await consumer.stop()
    return n / elapsed


async def runner_consume(st, topic: str, n: int, *, batch: bool) -> float:  # type: ignore[no-untyped-def]
    """ConsumerRunner: decode, inbox insert, one widget row per event, commit, offsets; events/s."""

    async def one(session: AsyncSession, e: ReceivedEvent) -> None:
        await session.execute(insert(widgets).values(id=e.payload["widget_id"], amount=e.payload["amount"]))

    async def many(session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
        await session.execute(
            insert(widgets),
            [{"id": e.payload["widget_id"], "amount": e.payload["amount"]} for e in events],
        )

    runner = ConsumerRunner(
        group=f"runner-{batch}",
        bootstrap=st.broker.bootstrap,
        database=st.database,
        handlers={} if batch else {topic: one},
        batch_handlers={topic: many} if batch else {},
        registry=REGISTRY,
        config=ConsumerConfig(partitions=3),
    )
    await runner.start()
    while runner.processed == 0:
        await asyncio.sleep(0.01)
    started, first = time.perf_counter(), runner.processed
    while runner.processed < n:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await runner.stop()
    async with st.database.engine.connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(widgets))).scalar_one()
    assert rows >= n, rows
    return (n - first) / elapsed


async def main(argv: list[str]) -> None:
    """Print consumer throughput figures and ratios."""
    n = int(arg(argv, "events", 100_000))
    async with stack() as st:
        await produce(st.broker.bootstrap, "bench.consume.a", n)
        await produce(st.broker.bootstrap, "bench.consume.b", n)
        raw = await raw_consume(st.broker.bootstrap, "bench.consume.a", n)
        batched = await runner_consume(st, "bench.consume.a", n, batch=True)
        async with st.database.engine.begin() as conn:
            await conn.execute(widgets.delete())
        single = await runner_consume(st, "bench.consume.b", n, batch=False)
    print(f"raw aiokafka consume loop: {raw:,.0f} events/s")
    print(f"runner, batch handler (inbox + 1 row/event): {batched:,.0f} events/s  ratio {batched / raw:.2f}")
    print(
        f"runner, per-event handler (inbox + 1 row/event): {single:,.0f} events/s  ratio {single / raw:.2f}"
    )
