"""Outbox + relay against the real PostgreSQL and broker."""

from __future__ import annotations

import asyncio

import pytest
from caisse_shared.db import Database
from caisse_shared.events.registry import SchemaRegistry
from caisse_shared.infra import TansuBroker
from caisse_shared.messaging.kafka import ensure_topics, make_producer
from caisse_shared.messaging.outbox import add_event
from caisse_shared.messaging.relay import OutboxRelay, RelayConfig
from caisse_shared.messaging.tables import outbox_table
from caisse_shared.observability import OUTBOX_PUBLISH_ERRORS
from sqlalchemy import func, select

from .conftest import metadata, read_topic, widget_event

pytestmark = pytest.mark.integration


def relay_for(database: Database, bootstrap: str, **cfg: float) -> OutboxRelay:
    return OutboxRelay(
        database.engine,
        metadata,
        lambda: make_producer(bootstrap, idempotent=False),
        service="demo",
        config=RelayConfig(**cfg),  # type: ignore[arg-type]
        topic_creator=lambda topics: ensure_topics(bootstrap, topics),
    )


async def drain(relay: OutboxRelay) -> None:
    while await relay.publish_batch():
        pass


async def test_committed_event_published_once_rolled_back_never(
    database: Database, kafka_bootstrap: str, registry: SchemaRegistry, unique: str
) -> None:
    topic = f"demo.widget.created.{unique}"
    committed = widget_event(topic, amount=500, correlation_id="corr-1")
    rolled_back = widget_event(topic, amount=999)
    async with database.unit_of_work() as session:
        await add_event(session, committed, registry=registry)
    with pytest.raises(RuntimeError):
        async with database.unit_of_work() as session:
            await add_event(session, rolled_back, registry=registry)
            raise RuntimeError("business rule failed after the event was written")

    relay = relay_for(database, kafka_bootstrap)
    await drain(relay)
    await drain(relay)  # a second pass must not publish again
    await relay.stop()

    records = await read_topic(kafka_bootstrap, topic, expect=1)
    assert len(records) == 1
    headers = {k: v.decode() for k, v in records[0].headers}
    assert headers["event_id"] == str(committed.event_id)
    assert headers["event_type"] == "demo.WidgetCreated"
    assert headers["schema_version"] == "1"
    assert headers["correlation_id"] == "corr-1"
    assert records[0].key == committed.key.encode()
    assert registry.decode("demo.WidgetCreated", 1, records[0].value)["amount"] == 500
    assert relay.published == 1


async def test_outbox_waits_while_broker_down_and_delivers_all_after(
    database: Database, registry: SchemaRegistry, unique: str, tmp_path: object
) -> None:
    broker = TansuBroker().start()
    topic = f"demo.outage.{unique}"
    relay = relay_for(
        database,
        broker.bootstrap,
        poll_interval_s=0.02,
        backoff_initial_s=0.1,
        backoff_max_s=0.5,
        batch_size=20,
    )
    events = [widget_event(topic, amount=i) for i in range(60)]
    try:
        broker.stop()
        async with database.unit_of_work() as session:
            for e in events:
                await add_event(session, e, registry=registry)
        failures = OUTBOX_PUBLISH_ERRORS.labels("demo")
        before = failures._value.get()
        await relay.start()
        for _ in range(200):  # until it failed and backed off three times (0.1, 0.2, 0.4 s)
            if failures._value.get() >= before + 3:
                break
            await asyncio.sleep(0.05)
        assert failures._value.get() >= before + 3
        assert relay._task is not None and not relay._task.done()  # failing, not crashed
        t = outbox_table(metadata)
        async with database.engine.connect() as conn:
            unsent = (await conn.execute(select(func.count()).where(t.c.sent_at.is_(None)))).scalar_one()
        assert unsent == 60

        broker.start()  # same port, empty memory storage
        for _ in range(200):
            if await relay.backlog() == 0:
                break
            await asyncio.sleep(0.1)
        assert await relay.backlog() == 0
        records = await read_topic(broker.bootstrap, topic, expect=60)
        ids = {dict(r.headers)["event_id"].decode() for r in records}
        assert ids == {str(e.event_id) for e in events}
    finally:
        await relay.stop()
        broker.stop()


async def test_purge_keeps_recent_sent_rows(
    database: Database, kafka_bootstrap: str, registry: SchemaRegistry, unique: str
) -> None:
    topic = f"demo.retention.{unique}"
    async with database.unit_of_work() as session:
        await add_event(session, widget_event(topic), registry=registry)
    relay = relay_for(database, kafka_bootstrap)
    await drain(relay)
    await relay.stop()
    assert await relay.purge_sent_older_than(3600) == 0  # within retention: kept for replays
    assert await relay.purge_sent_older_than(0) == 1


async def test_two_relays_publish_each_event_once_in_order(
    database: Database, kafka_bootstrap: str, registry: SchemaRegistry, unique: str
) -> None:
    """Replicas stand by while one publishes: no duplicates, one key's events stay in order."""
    topic = f"demo.replicas.{unique}"
    events = [widget_event(topic, amount=i, widget_id="same-aggregate") for i in range(300)]
    for start in range(0, 300, 30):
        async with database.unit_of_work() as session:
            for e in events[start : start + 30]:
                await add_event(session, e, registry=registry)
    relays = [relay_for(database, kafka_bootstrap, batch_size=25, poll_interval_s=0.01) for _ in range(3)]
    for r in relays:
        await r.start()
    for _ in range(200):
        if await relays[0].backlog() == 0:
            break
        await asyncio.sleep(0.05)
    for r in relays:
        await r.stop()
    records = await read_topic(kafka_bootstrap, topic, expect=300)
    amounts = [registry.decode("demo.WidgetCreated", 1, r.value)["amount"] for r in records]
    assert amounts == list(range(300))
    assert sum(r.published for r in relays) == 300


async def test_add_events_writes_large_batches_in_one_statement(
    database: Database, registry: SchemaRegistry, unique: str
) -> None:
    """40,000 events (280,000 values) exceed asyncpg's 32,767 bind parameters for row VALUES."""
    from caisse_shared.messaging.outbox import add_events

    events = [widget_event(f"demo.bulk.{unique}", amount=i) for i in range(40_000)]
    async with database.unit_of_work() as session:
        await add_events(session, events, registry=registry)
    t = outbox_table(metadata)
    async with database.engine.connect() as conn:
        rows = (await conn.execute(select(t.c.event_id, t.c.headers, t.c.key).order_by(t.c.id))).all()
    assert [r.event_id for r in rows] == [e.event_id for e in events]
    assert rows[7].headers["event_id"] == str(events[7].event_id)
    assert rows[7].key == events[7].key
