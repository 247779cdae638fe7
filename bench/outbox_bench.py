"""Outbox relay: events/s and commit-to-broker latency, vs raw aiokafka produce in the same run."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from caisse_shared.messaging.kafka import make_producer
from caisse_shared.messaging.outbox import add_events
from caisse_shared.messaging.relay import OutboxRelay, RelayConfig

from bench._common import REGISTRY, arg, metadata, percentile, stack, widget_event


async def raw_produce(bootstrap: str, topic: str, n: int, payload: bytes) -> float:
    """Baseline: aiokafka acks=all produce of n records, events/s."""
    producer = make_producer(bootstrap, idempotent=False)
    await producer.start()
    started = time.perf_counter()
    futures = [
        await producer.send(topic, payload, key=str(i).encode(), headers=[("event_id", b"x" * 36)] * 7)
        for i in range(n)
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return n / elapsed


async def fill_outbox(st, topic: str, n: int) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, n, 2000):
        async with st.database.unit_of_work() as s:
            await add_events(
                s,
                [widget_event(topic, i) for i in range(start, min(n, start + 2000))],
                registry=REGISTRY,
            )


async def relay_throughput(st, n: int, batch: int) -> float:  # type: ignore[no-untyped-def]
    """Drain n pre-committed outbox rows; events/s."""
    topic = f"bench.relay.{batch}"
    await fill_outbox(st, topic, n)
    relay = OutboxRelay(
        st.database.engine,
        metadata,
        lambda: make_producer(st.broker.bootstrap, idempotent=False),
        service="bench",
        config=RelayConfig(batch_size=batch),
    )
    await relay.publish_batch()  # connect the producer outside the timing
    started = time.perf_counter()
    while await relay.publish_batch():
        pass
    elapsed = time.perf_counter() - started
    await relay.stop()
    return (relay.published - batch) / elapsed


async def relay_latency(st, n: int, rate: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Commit-to-broker-to-consumer latency at a steady write rate; (p50, p99) in ms."""
    topic = "bench.latency"
    committed: dict[str, float] = {}
    latencies: list[float] = []
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=st.broker.bootstrap,
        group_id="lat",
        fetch_max_wait_ms=20,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    relay = OutboxRelay(
        st.database.engine,
        metadata,
        lambda: make_producer(st.broker.bootstrap, idempotent=False),
        service="bench",
        config=RelayConfig(batch_size=1000, poll_interval_s=0.01),
    )
    await relay.start()

    async def write() -> None:
        per_tick = max(1, rate // 100)
        for start in range(0, n, per_tick):
            events = [widget_event(topic, i) for i in range(start, min(n, start + per_tick))]
            async with st.database.unit_of_work() as s:
                await add_events(s, events, registry=REGISTRY)
            now = time.perf_counter()
            for e in events:
                committed[str(e.event_id)] = now
            await asyncio.sleep(0.01)

    async def read() -> None:
        while len(latencies) < n:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = time.perf_counter()
                for r in records:
                    eid = dict(r.headers)["event_id"].decode()
                    if eid in committed:
                        latencies.append((now - committed[eid]) * 1000)

    await asyncio.sleep(6)  # let the consumer group settle (Tansu join ~5 s)
    await asyncio.gather(write(), asyncio.wait_for(read(), 120))
    await relay.stop()
    await consumer.stop()
    return percentile(latencies, 50), percentile(latencies, 99)


async def main(argv: list[str]) -> None:
    """Print relay throughput, latency and the ratio to raw produce."""
    n = int(arg(argv, "events", 100_000))
    async with stack() as st:
        payload = REGISTRY.encode("demo.WidgetCreated", 1, widget_event("x", 1).payload)
        raw = await raw_produce(st.broker.bootstrap, "bench.raw", n, payload)
        relay = await relay_throughput(st, n, batch=2000)
        p50, p99 = await relay_latency(st, min(n, 20_000), rate=2000)
    print(f"raw aiokafka produce (acks=all): {raw:,.0f} events/s")
    print(f"outbox relay ({n:,} events, batch 2000): {relay:,.0f} events/s  ratio to raw: {relay / raw:.2f}")
    print(f"commit-to-consumer latency at 2,000 events/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
