"""Consumer runner: inbox dedupe, retries then DLQ for poison and failing messages."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaProducer
from caisse_shared.db import Database
from caisse_shared.events.envelope import ReceivedEvent
from caisse_shared.events.registry import SchemaRegistry
from caisse_shared.messaging.consumer import ConsumerConfig, ConsumerRunner, dlq_topic
from caisse_shared.testing.kafka import next_offsets, wait_for_committed
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .conftest import produce, read_topic, widget_event, widgets

pytestmark = pytest.mark.integration


class BusinessFailure(Exception):
    """A handler error (e.g. a rule that cannot be satisfied)."""


async def handle_widget(session: AsyncSession, event: ReceivedEvent) -> None:
    """Effect: one widget row per event; fails on demand."""
    if event.payload["fail"]:
        raise BusinessFailure(f"widget {event.payload['widget_id']} refused")
    await session.execute(
        insert(widgets).values(id=event.payload["widget_id"], amount=event.payload["amount"])
    )


async def count_widgets(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(widgets))).scalar_one())


@pytest.fixture
async def runner(database: Database, kafka_bootstrap: str, registry: SchemaRegistry, unique: str):  # type: ignore[no-untyped-def]
    topic = f"demo.consumer.{unique}"
    r = ConsumerRunner(
        group=f"demo-{unique}",
        bootstrap=kafka_bootstrap,
        database=database,
        handlers={topic: handle_widget},
        registry=registry,
        config=ConsumerConfig(retry_delays_s=(0.3, 0.3), partitions=1),
    )
    await r.start()
    yield r, topic
    await r.stop()


async def test_redelivered_event_has_no_second_effect_and_poison_goes_to_dlq(
    runner,
    database: Database,
    kafka_bootstrap: str,
    registry: SchemaRegistry,  # type: ignore[no-untyped-def]
) -> None:
    r, topic = runner
    first = widget_event(topic, amount=700)
    failing = widget_event(topic, fail=True)
    after = [widget_event(topic, amount=i) for i in range(5)]
    sent = await produce(kafka_bootstrap, [first, first], registry)  # same event_id twice

    # a poison message: valid envelope, garbage Avro body
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    poison_headers = widget_event(topic).headers()
    sent.append(
        await producer.send_and_wait(topic, b"\xff\xfe not avro", key=b"poison", headers=poison_headers)
    )
    sent.append(await producer.send_and_wait(topic, b"no envelope at all", key=b"naked"))
    await producer.stop()
    sent += await produce(kafka_bootstrap, [failing, *after, first], registry)  # and `first` once more

    await wait_for_committed(kafka_bootstrap, r.group, next_offsets(sent))  # the group went past all
    dead = await read_topic(kafka_bootstrap, dlq_topic(topic), expect=3, timeout_s=30)
    reasons = {dict(d.headers)["dlq_error_type"].decode(): dict(d.headers) for d in dead}
    assert set(reasons) == {"PayloadInvalid", "EnvelopeError", "BusinessFailure"}
    failure = reasons["BusinessFailure"]
    assert failure["dlq_attempts"] == b"3"  # first try + 2 delayed retries
    assert failure["dlq_origin_topic"].decode() == topic
    assert b"refused" in failure["dlq_error"]
    assert failure["event_id"].decode() == str(failing.event_id)
    assert await count_widgets(database) == 6  # `first` applied once, 5 later ones flowed past
    assert r.dead_lettered == 3


async def test_batch_handler_receives_only_new_events(
    database: Database, kafka_bootstrap: str, registry: SchemaRegistry, unique: str
) -> None:
    topic = f"demo.batch.{unique}"
    seen: list[int] = []

    async def handle_batch(session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
        seen.append(len(events))
        await session.execute(
            insert(widgets),
            [{"id": e.payload["widget_id"], "amount": e.payload["amount"]} for e in events],
        )

    events = [widget_event(topic, amount=i) for i in range(50)]
    sent = await produce(kafka_bootstrap, events + events[:10], registry)
    r = ConsumerRunner(
        group=f"batch-{unique}",
        bootstrap=kafka_bootstrap,
        database=database,
        batch_handlers={topic: handle_batch},
        registry=registry,
        config=ConsumerConfig(partitions=1),
    )
    await r.start()
    try:
        await wait_for_committed(kafka_bootstrap, r.group, next_offsets(sent))
        assert await count_widgets(database) == 50
        assert sum(seen) == 50
        from caisse_shared.observability import CONSUMER_PROCESSED

        counted = {
            o: CONSUMER_PROCESSED.labels(f"batch-{unique}", topic, o)._value.get()
            for o in ("processed", "duplicate", "failed")
        }
        assert counted == {"processed": 50, "duplicate": 10, "failed": 0}
    finally:
        await r.stop()
