"""aiokafka producer/consumer factories with the suite's delivery settings."""

from __future__ import annotations

import contextlib
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


def make_producer(bootstrap: str, *, idempotent: bool, **kw: Any) -> AIOKafkaProducer:
    """acks=all producer; idempotence is a setting (Tansu rejects it, real Kafka wants it)."""
    opts: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": idempotent,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 15000,
        "retry_backoff_ms": 200,
    }
    opts.update(kw)
    return AIOKafkaProducer(**opts)


def make_consumer(bootstrap: str, group_id: str, *topics: str, **kw: Any) -> AIOKafkaConsumer:
    """Manual-commit consumer reading from the earliest uncommitted offset."""
    opts: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 500,
        "session_timeout_ms": 10000,
        "heartbeat_interval_ms": 1000,
        "fetch_max_wait_ms": 50,  # low event latency: Tansu holds a fetch for the full wait
    }
    opts.update(kw)
    return AIOKafkaConsumer(*topics, **opts)


async def ensure_topics(bootstrap: str, topics: list[str], *, partitions: int = 3) -> None:
    """Create topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
    finally:
        await admin.close()
