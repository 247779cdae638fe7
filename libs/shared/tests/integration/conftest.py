"""Fixtures for the shared library's integration tests: a demo schema on the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.structs import RecordMetadata
from caisse_shared.db import Database, make_metadata
from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import SchemaRegistry
from caisse_shared.messaging.tables import messaging_tables
from caisse_shared.testing.infra import PostgresForTests
from sqlalchemy import BigInteger, Column, String, Table, text

FIXTURES = Path(__file__).parent.parent / "fixtures"
SCHEMA = "demo"
metadata = make_metadata(SCHEMA)
widgets = Table(
    "widget",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)
messaging_tables(metadata)


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    """Registry of the test-only schemas."""
    return SchemaRegistry(FIXTURES / "avro")


@pytest.fixture
async def database(pg: PostgresForTests) -> AsyncIterator[Database]:
    """A fresh database with the demo schema and the platform tables."""
    url = await pg.create_database("shared")
    db = Database(url, metadata, pool_size=25)
    async with db.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        await conn.run_sync(metadata.create_all)
    yield db
    await db.dispose()


def widget_event(topic: str, *, amount: int = 100, fail: bool = False, **kw: Any) -> Event:
    """A demo event for ``topic``."""
    wid = kw.pop("widget_id", uuid.uuid4().hex)
    return Event(
        event_type="demo.WidgetCreated",
        topic=topic,
        key=wid,
        payload={"widget_id": wid, "amount": amount, "currency": "XOF", "fail": fail},
        producer="test",
        **kw,
    )


async def produce(bootstrap: str, events: list[Event], registry: SchemaRegistry) -> list[RecordMetadata]:
    """Publish events directly (as another service's relay would); the send results."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sent = []
    try:
        for e in events:
            sent.append(
                await producer.send_and_wait(
                    e.topic,
                    registry.encode(e.event_type, e.schema_version, e.payload),
                    key=e.key.encode(),
                    headers=e.headers(),
                )
            )
    finally:
        await producer.stop()
    return sent


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    expect: int,
    timeout_s: float = 20.0,
    until: Callable[[list[ConsumerRecord]], bool] | None = None,  # type: ignore[type-arg]
) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Read a topic from the beginning with a fresh group until ``expect`` records (or timeout)."""
    import asyncio
    import time

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[ConsumerRecord] = []  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and len(out) < expect:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                out.extend(records)
        # a short grace period to catch anything unexpected beyond `expect`
        batch = await consumer.getmany(timeout_ms=500)
        for records in batch.values():
            out.extend(records)
        await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return out
