"""Helpers of the end-to-end scenarios: polling, the running suite's handles, direct Kafka access."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from caisse_shared.testing.kafka import wait_for_committed

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 45.0) -> T:
    """Poll ``check`` until it returns a truthy value (returned), or fail naming ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


def bearer(token: str) -> dict[str, str]:
    """Authorization header of an access token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Suite:
    """HTTP clients on the four running apps, plus what the scenario needs to know about them."""

    auth: httpx.AsyncClient
    bank_sync: httpx.AsyncClient
    payments: httpx.AsyncClient
    collection: httpx.AsyncClient
    bootstrap: str
    extract_dir: Path
    institution: str
    groups: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Users:
    """Bearer headers of the users created through auth's API, and the agent's auth subject."""

    admin: dict[str, str]
    operator: dict[str, str]
    manager: dict[str, str]
    agent: dict[str, str]
    agent_subject: str


def event_ids(records: Iterable[ConsumerRecord[bytes, bytes]]) -> set[tuple[str, bytes]]:
    """(topic, event_id header) of each record: delivery is at least once, events are these."""
    return {(r.topic, dict(r.headers)["event_id"]) for r in records}


def events_by_topic(records: Iterable[ConsumerRecord[bytes, bytes]]) -> dict[str, int]:
    """How many distinct events per topic."""
    out: dict[str, int] = {}
    for topic, _ in event_ids(records):
        out[topic] = out.get(topic, 0) + 1
    return out


class Bus:
    """Direct Kafka access for the scenario: read a key's events, produce copies, watch groups."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    async def read(
        self, topics: Iterable[str], key: str, want: int, timeout: float = 30.0
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record with ``key`` on ``topics`` (no consumer group: partitions are assigned),
        reading until ``want`` distinct events were seen and a further poll brings nothing new."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            await consumer.topics()  # metadata for every topic
            tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            return await self._collect(consumer, key.encode(), want, timeout)
        finally:
            await consumer.stop()

    @staticmethod
    async def _collect(
        consumer: AIOKafkaConsumer, key: bytes, want: int, timeout: float
    ) -> list[ConsumerRecord[bytes, bytes]]:
        found: list[ConsumerRecord[bytes, bytes]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            found.extend(r for recs in batch.values() for r in recs if r.key == key)
            if len(event_ids(found)) >= want and not batch:
                return sorted(found, key=lambda r: (r.topic, r.partition, r.offset))
            if loop.time() > deadline:
                raise AssertionError(f"found {len(event_ids(found))} of {want} events keyed {key!r}")

    async def republish(self, records: Iterable[ConsumerRecord[bytes, bytes]]) -> dict[TopicPartition, int]:
        """Produce exact copies (topic, partition, key, value, headers); returns last offset per tp."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        last: dict[TopicPartition, int] = {}
        try:
            for r in records:
                meta = await producer.send_and_wait(
                    r.topic, value=r.value, key=r.key, partition=r.partition, headers=list(r.headers)
                )
                last[TopicPartition(meta.topic, meta.partition)] = meta.offset
        finally:
            await producer.stop()
        return last

    async def wait_consumed(
        self, group: str, offsets: dict[TopicPartition, int], timeout: float = 30.0
    ) -> None:
        """Wait until ``group`` committed past each given offset (i.e. processed those records)."""
        after = {tp: offset + 1 for tp, offset in offsets.items()}
        await wait_for_committed(self.bootstrap, group, after, timeout_s=timeout)
