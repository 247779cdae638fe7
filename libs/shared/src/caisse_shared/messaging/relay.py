"""Outbox relay: claims unsent rows with SKIP LOCKED, publishes with acks=all, marks them sent."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import BigInteger, MetaData, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from caisse_shared.messaging.tables import outbox_table
from caisse_shared.observability import OUTBOX_BACKLOG, OUTBOX_PUBLISH_ERRORS, OUTBOX_PUBLISHED

log = logging.getLogger("caisse.relay")


@dataclass(slots=True)
class RelayConfig:
    """Tuning knobs; defaults suit one relay per service."""

    batch_size: int = 1000
    poll_interval_s: float = 0.05
    retention_s: float = 7 * 24 * 3600
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0
    cleanup_every_s: float = 300.0
    backlog_gauge_every_s: float = 5.0


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class OutboxRelay:
    """Moves committed outbox rows to Kafka; waits with backoff while the broker is down."""

    def __init__(
        self,
        engine: AsyncEngine,
        metadata: MetaData,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        service: str,
        config: RelayConfig | None = None,
        topic_creator: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.table = outbox_table(metadata)
        self.producer_factory = producer_factory
        self.service = service
        self.config = config or RelayConfig()
        # Topics are created with their partition count before the first send: an auto-created
        # topic could briefly show another count and route one key to two partitions.
        self.topic_creator = topic_creator
        self._known_topics: set[str] = set()
        self._partitions: dict[str, list[int]] = {}
        self._partitioner = DefaultPartitioner()
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_cleanup = 0.0
        self._last_gauge = 0.0
        self.published = 0
        self._lock_sql = text("SELECT pg_try_advisory_xact_lock(:key)")
        self._lock_key = _lock_key(f"caisse-outbox-relay:{self.table.fullname}")

    async def start(self) -> None:
        """Run the relay loop in the background."""
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        """Finish the batch in flight and stop."""
        self._stopping.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_producer()

    async def _close_producer(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _ensure_topics(self, producer: AIOKafkaProducer, topics: set[str]) -> None:
        """Create unseen topics, then load their metadata before the first send.

        Without the metadata wait, a batch mixing a new topic with known ones can see a
        NotLeaderForPartition on Tansu and stall until the request timeout.
        """
        new = sorted(topics - self._known_topics)
        if not new:
            return
        if self.topic_creator is not None:
            await self.topic_creator(new)
        for topic in new:
            self._partitions[topic] = sorted(await producer.partitions_for(topic))
        self._known_topics.update(new)

    async def _send_batches(self, producer: AIOKafkaProducer, rows: Sequence[Any]) -> list[Any]:
        """Append rows to one record batch per partition, in outbox order; return ack futures.

        Same partitioning as ``producer.send`` (murmur2 of the key), but without a future and a
        metadata wait per record: about 1.5x faster. aiokafka keeps one batch in flight per
        partition, so a partition's batches reach the broker in the order they are sent here.
        """
        futures: list[Any] = []
        open_batches: dict[tuple[str, int], Any] = {}
        for r in rows:
            key = r.key.encode() if r.key is not None else None
            partitions = self._partitions[r.topic]
            tp = (r.topic, self._partitioner(key, partitions, partitions))
            headers = [(k, str(v).encode()) for k, v in r.headers.items()]
            batch = open_batches.get(tp) or producer.create_batch()
            if batch.append(key=key, value=r.payload, timestamp=None, headers=headers) is None:
                futures.append(await producer.send_batch(batch, tp[0], partition=tp[1]))
                batch = producer.create_batch()
                batch.append(key=key, value=r.payload, timestamp=None, headers=headers)
            open_batches[tp] = batch
        for (topic, partition), batch in open_batches.items():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        return futures

    async def run(self) -> None:
        """Loop until stopped: publish batches, sleep briefly when idle, back off on failure."""
        backoff = self.config.backoff_initial_s
        while not self._stopping.is_set():
            try:
                sent = await self.publish_batch()
                backoff = self.config.backoff_initial_s
                await self._maybe_cleanup()
                if sent < self.config.batch_size:
                    await asyncio.sleep(self.config.poll_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                OUTBOX_PUBLISH_ERRORS.labels(self.service).inc()
                log.warning("outbox relay: publish failed, retrying in %.1fs: %s", backoff, exc)
                await self._close_producer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.config.backoff_max_s)

    async def publish_batch(self) -> int:
        """Claim one batch, publish every row, mark them sent, all in one transaction."""
        t = self.table
        async with self.engine.begin() as conn:
            # One publishing relay per service at a time (others stand by): keeps each
            # aggregate's events in commit order even with several replicas and workers.
            if not (await conn.execute(self._lock_sql, {"key": self._lock_key})).scalar_one():
                return 0
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.headers)
                    .where(t.c.sent_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.config.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                OUTBOX_BACKLOG.labels(self.service).set(0)
                return 0
            producer = await self._ensure_producer()
            await self._ensure_topics(producer, {r.topic for r in rows})
            futures = await self._send_batches(producer, rows)
            await asyncio.gather(*futures)  # acks=all for every record before marking sent
            # one array parameter instead of an expanding IN list of batch_size binds
            await conn.execute(
                update(t)
                .where(t.c.id == func.any(bindparam("ids", type_=ARRAY(BigInteger))))
                .values(sent_at=func.now()),
                {"ids": [r.id for r in rows]},
            )
        for r in rows:
            OUTBOX_PUBLISHED.labels(self.service, r.topic).inc()
        self.published += len(rows)
        return len(rows)

    async def backlog(self) -> int:
        """Unsent rows right now (also exported as a gauge)."""
        t = self.table
        async with self.engine.connect() as conn:
            n = (await conn.execute(select(func.count()).where(t.c.sent_at.is_(None)))).scalar_one()
        OUTBOX_BACKLOG.labels(self.service).set(n)
        return int(n)

    async def _maybe_cleanup(self) -> None:
        """Refresh the backlog gauge every few seconds; purge and reload metadata less often."""
        now = time.monotonic()
        if now - self._last_gauge >= self.config.backlog_gauge_every_s:
            self._last_gauge = now
            await self.backlog()
        if now - self._last_cleanup < self.config.cleanup_every_s:
            return
        self._last_cleanup = now
        self._known_topics.clear()  # reload partition counts now and then (topics can grow)
        await self.purge_sent_older_than(self.config.retention_s)

    async def purge_sent_older_than(self, seconds: float) -> int:
        """Delete sent rows past the retention period (kept until then for replays)."""
        t = self.table
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(t).where(
                    t.c.sent_at.is_not(None),
                    t.c.sent_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds),
                )
            )
        return int(result.rowcount or 0)
