"""Consumer runner: inbox dedupe in the handler's transaction, offsets after commit,
non-blocking delayed retries on ``<topic>.retry.<group>``, dead letters on ``<topic>.dlq``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_shared.db import Database
from caisse_shared.events.envelope import (
    EnvelopeError,
    ReceivedEvent,
    parse_headers,
    read_envelope,
)
from caisse_shared.events.registry import (
    PayloadInvalid,
    SchemaNotFound,
    SchemaRegistry,
    default_registry,
)
from caisse_shared.messaging.kafka import ensure_topics, make_consumer, make_producer
from caisse_shared.messaging.tables import inbox_table
from caisse_shared.observability import (
    CONSUMER_LAG,
    CONSUMER_PROCESSED,
    DLQ_MESSAGES,
    RETRY_MESSAGES,
    log_event,
    reset_correlation_id,
    set_correlation_id,
)

log = logging.getLogger("caisse.consumer")

Handler = Callable[[AsyncSession, ReceivedEvent], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[ReceivedEvent]], Awaitable[None]]

H_ATTEMPT = "retry_attempt"
H_DUE = "retry_due_at"
H_ORIGIN_TOPIC = "origin_topic"


def _first_occurrences(
    events: Sequence[tuple[object, ReceivedEvent, int]], fresh: set[object]
) -> list[ReceivedEvent]:
    """New events in log order, each once even if the batch holds it twice."""
    remaining = set(fresh)
    out: list[ReceivedEvent] = []
    for _, event, _ in events:
        if event.event_id in remaining:
            remaining.discard(event.event_id)
            out.append(event)
    return out


def retry_topic(topic: str, group: str) -> str:
    """Per-group retry topic, so one group's retries never reach another group."""
    return f"{topic}.retry.{group}"


def dlq_topic(topic: str) -> str:
    """Dead-letter topic of a main topic."""
    return f"{topic}.dlq"


@dataclass(slots=True)
class _Failure:
    record: ConsumerRecord  # type: ignore[type-arg]
    origin_topic: str
    attempt: int
    error: str
    error_type: str
    poison: bool


@dataclass(slots=True)
class ConsumerConfig:
    """Retry delays (one per retry before the DLQ) and batch size."""

    retry_delays_s: tuple[float, ...] = (1.0, 5.0, 30.0)
    max_batch: int = 2000
    poll_timeout_ms: int = 200
    partitions: int = 3


@dataclass
class ConsumerRunner:
    """Runs handlers for topics in one consumer group, exactly-once in effect via the inbox."""

    group: str
    bootstrap: str
    database: Database
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    producer_factory: Callable[[], AIOKafkaProducer] | None = None
    registry: SchemaRegistry | None = None
    config: ConsumerConfig = field(default_factory=ConsumerConfig)
    processed: int = 0
    dead_lettered: int = 0

    def __post_init__(self) -> None:
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._resume_tasks: set[asyncio.Task[None]] = set()
        self._inbox = inbox_table(self.database.metadata)
        self._claim_sql = text(
            f'INSERT INTO "{self.database.schema}".inbox '  # noqa: S608 (schema from our own metadata)
            '(consumer, event_id, event_type, topic, partition, "offset") '
            "SELECT :consumer, * FROM unnest("
            "CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:topics AS text[]), "
            "CAST(:parts AS int[]), CAST(:offs AS bigint[])) "
            "ON CONFLICT DO NOTHING RETURNING event_id"
        )
        self._registry = self.registry or default_registry()
        self.ready = asyncio.Event()

    @property
    def main_topics(self) -> list[str]:
        """Topics with a handler."""
        return sorted(set(self.handlers) | set(self.batch_handlers))

    def all_topics(self) -> list[str]:
        """Main and retry topics this group reads."""
        return [*self.main_topics, *(retry_topic(t, self.group) for t in self.main_topics)]

    async def start(self) -> None:
        """Create topics, join the group, and consume in the background."""
        await ensure_topics(
            self.bootstrap,
            [*self.all_topics(), *(dlq_topic(t) for t in self.main_topics)],
            partitions=self.config.partitions,
        )
        factory = self.producer_factory or (lambda: make_producer(self.bootstrap, idempotent=False))
        self._producer = factory()
        await self._producer.start()
        self._consumer = make_consumer(
            self.bootstrap, self.group, *self.all_topics(), max_poll_records=self.config.max_batch
        )
        await self._consumer.start()
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.group}")

    async def stop(self) -> None:
        """Finish the batch in flight, commit, leave the group."""
        self._stopping.set()
        if self._task:
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(self._task, timeout=15)
        for t in list(self._resume_tasks):
            t.cancel()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stopping.is_set():
            try:
                batch = await self._consumer.getmany(timeout_ms=self.config.poll_timeout_ms)
                if self._consumer.assignment():
                    self.ready.set()
                if batch:
                    await self._process(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer %s: batch failed; will be redelivered", self.group)
                await asyncio.sleep(1.0)
                await self._rewind_to_committed()

    async def _rewind_to_committed(self) -> None:
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            committed = await self._consumer.committed(tp)
            if committed is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)

    async def _process(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:  # type: ignore[type-arg]
        """One transaction for everything fetched, then failures routed, then offsets committed."""
        assert self._consumer is not None
        events: list[tuple[ConsumerRecord, ReceivedEvent, int]] = []  # type: ignore[type-arg]
        failures: list[_Failure] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, records in batch.items():
            if tp.topic.endswith(f".retry.{self.group}"):
                records = self._due_prefix(tp, records)
            if not records:
                continue
            for rec in records:
                decoded = self._decode(rec)
                if isinstance(decoded, _Failure):
                    failures.append(decoded)
                else:
                    events.append((rec, decoded[0], decoded[1]))
            offsets[tp] = records[-1].offset + 1
        failures.extend(await self._apply(events))
        await self._route_failures(failures)
        if offsets:
            await self._consumer.commit(offsets)
        for tp, next_offset in offsets.items():
            hw = self._consumer.highwater(tp)
            if hw is not None:
                CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(max(0, hw - next_offset))

    def _due_prefix(self, tp: TopicPartition, records: list[ConsumerRecord]) -> list[ConsumerRecord]:  # type: ignore[type-arg]
        """Records whose retry time has come; pause the partition until the next one is due."""
        assert self._consumer is not None
        now = time.time()
        for i, rec in enumerate(records):
            due = float(parse_headers(rec.headers).get(H_DUE, "0") or 0)
            if due > now:
                self._consumer.seek(tp, rec.offset)
                self._consumer.pause(tp)
                task = asyncio.create_task(self._resume_later(tp, due - now))
                self._resume_tasks.add(task)
                task.add_done_callback(self._resume_tasks.discard)
                return records[:i]
        return records

    async def _resume_later(self, tp: TopicPartition, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._consumer is not None and tp in self._consumer.assignment():
            self._consumer.resume(tp)

    def _decode(self, rec: ConsumerRecord) -> tuple[ReceivedEvent, int] | _Failure:  # type: ignore[type-arg]
        try:
            headers = parse_headers(rec.headers)
        except EnvelopeError as exc:
            return _Failure(rec, rec.topic, 0, str(exc), "EnvelopeError", poison=True)
        origin = headers.get(H_ORIGIN_TOPIC, rec.topic)
        attempt = int(headers.get(H_ATTEMPT, "0") or 0)
        try:
            event_id, event_type, version, occurred_at = read_envelope(headers)
            if rec.value is None:
                raise PayloadInvalid("empty message value")
            payload = self._registry.decode(event_type, version, rec.value)
        except (EnvelopeError, SchemaNotFound, PayloadInvalid) as exc:
            return _Failure(rec, origin, attempt, str(exc), type(exc).__name__, poison=True)
        key = rec.key.decode(errors="replace") if rec.key is not None else None
        event = ReceivedEvent(
            event_id=event_id,
            event_type=event_type,
            schema_version=version,
            occurred_at=occurred_at,
            producer=headers.get("producer", ""),
            correlation_id=headers.get("correlation_id"),
            causation_id=headers.get("causation_id"),
            key=key,
            payload=payload,
            topic=origin,
            partition=rec.partition,
            offset=rec.offset,
        )
        return event, attempt

    async def _apply(self, events: list[tuple[ConsumerRecord, ReceivedEvent, int]]) -> list[_Failure]:  # type: ignore[type-arg]
        """Fast path: the whole batch in one transaction; on any error, redo one by one."""
        if not events:
            return []
        try:
            async with self.database.unit_of_work() as session:
                fresh = await self._claim(session, [e for _, e, _ in events])
                applied = _first_occurrences(events, fresh)
                await self._dispatch(session, applied)
        except Exception:
            log.info("consumer %s: batch of %d failed, isolating", self.group, len(events))
            return await self._apply_one_by_one(events)
        self._count(applied, [e for _, e, _ in events], [])
        return []

    async def _apply_one_by_one(
        self,
        events: list[tuple[ConsumerRecord, ReceivedEvent, int]],  # type: ignore[type-arg]
    ) -> list[_Failure]:
        """Each event in its own savepoint, so one failure does not undo the others."""
        failures: list[_Failure] = []
        applied: list[ReceivedEvent] = []
        async with self.database.unit_of_work() as session:
            for rec, event, attempt in events:
                token = set_correlation_id(event.correlation_id)
                try:
                    async with session.begin_nested():
                        if await self._claim(session, [event]):
                            await self._dispatch(session, [event])
                            applied.append(event)
                except Exception as exc:
                    log.warning(
                        "consumer %s: %s %s failed: %s", self.group, event.event_type, event.event_id, exc
                    )
                    failures.append(
                        _Failure(rec, event.topic, attempt, str(exc)[:2000], type(exc).__name__, poison=False)
                    )
                finally:
                    reset_correlation_id(token)
        self._count(applied, [e for _, e, _ in events], [f.origin_topic for f in failures])
        return failures

    def _count(
        self, applied: Sequence[ReceivedEvent], seen: Sequence[ReceivedEvent], failed_topics: list[str]
    ) -> None:
        """Metrics per topic: applied, failed, and duplicate (already in the inbox); a log line
        per applied event (after its commit), under the event's correlation id."""
        self.processed += len(applied)
        for e in applied:
            token = set_correlation_id(e.correlation_id)
            try:
                log_event(
                    log,
                    "event.consumed",
                    consumer=self.group,
                    topic=e.topic,
                    event_type=e.event_type,
                    event_id=str(e.event_id),
                )
            finally:
                reset_correlation_id(token)
        done = Counter(e.topic for e in applied)
        failed = Counter(failed_topics)
        for topic, total in Counter(e.topic for e in seen).items():
            for outcome, n in (
                ("processed", done[topic]),
                ("failed", failed[topic]),
                ("duplicate", total - done[topic] - failed[topic]),
            ):
                if n > 0:
                    CONSUMER_PROCESSED.labels(self.group, topic, outcome).inc(n)

    async def _claim(self, session: AsyncSession, events: Sequence[ReceivedEvent]) -> set[object]:
        """Insert inbox rows; return the event ids not seen before (one round trip via unnest)."""
        unique = list({e.event_id: e for e in events}.values())
        result = await session.execute(
            self._claim_sql,
            {
                "consumer": self.group,
                "ids": [e.event_id for e in unique],
                "types": [e.event_type for e in unique],
                "topics": [e.topic for e in unique],
                "parts": [e.partition for e in unique],
                "offs": [e.offset for e in unique],
            },
        )
        return set(result.scalars().all())

    async def _dispatch(self, session: AsyncSession, events: Sequence[ReceivedEvent]) -> None:
        by_topic: dict[str, list[ReceivedEvent]] = {}
        for e in events:
            by_topic.setdefault(e.topic, []).append(e)
        for topic, group in by_topic.items():
            batch_handler = self.batch_handlers.get(topic)
            if batch_handler is not None:
                await batch_handler(session, group)
                continue
            handler = self.handlers[topic]
            for e in group:
                token = set_correlation_id(e.correlation_id)
                try:
                    await handler(session, e)
                finally:
                    reset_correlation_id(token)

    def _log_dead_letter(self, f: _Failure) -> None:
        """One error line per dead letter, under the message's correlation id if it has one."""
        raw = dict(f.record.headers or ()).get("correlation_id")
        token = set_correlation_id(raw.decode("utf-8", "replace") if raw else None)
        try:
            log.error(
                "consumer %s: dead-lettered %s@%d: %s",
                self.group,
                f.origin_topic,
                f.record.offset,
                f.error,
                extra={
                    "event": "event.dead_lettered",
                    "consumer": self.group,
                    "topic": f.origin_topic,
                    "partition": f.record.partition,
                    "offset": f.record.offset,
                    "error_type": f.error_type,
                },
            )
        finally:
            reset_correlation_id(token)

    async def _route_failures(self, failures: list[_Failure]) -> None:
        """Send each failure to its retry topic, or to the DLQ when retries are spent or useless."""
        assert self._producer is not None
        futures = []
        for f in failures:
            base = [
                (k, v) for k, v in (f.record.headers or ()) if k not in (H_ATTEMPT, H_DUE, H_ORIGIN_TOPIC)
            ]
            if not f.poison and f.attempt < len(self.config.retry_delays_s):
                due = time.time() + self.config.retry_delays_s[f.attempt]
                topic = retry_topic(f.origin_topic, self.group)
                extra = [
                    (H_ATTEMPT, str(f.attempt + 1)),
                    (H_DUE, f"{due:.3f}"),
                    (H_ORIGIN_TOPIC, f.origin_topic),
                    ("last_error", f.error[:1000]),
                ]
                RETRY_MESSAGES.labels(self.group, f.origin_topic).inc()
            else:
                topic = dlq_topic(f.origin_topic)
                extra = [
                    ("dlq_error", f.error[:2000]),
                    ("dlq_error_type", f.error_type),
                    ("dlq_origin_topic", f.origin_topic),
                    ("dlq_origin_partition", str(f.record.partition)),
                    ("dlq_origin_offset", str(f.record.offset)),
                    ("dlq_consumer", self.group),
                    ("dlq_attempts", str(f.attempt + 1)),
                    ("dlq_failed_at", datetime.now(UTC).isoformat()),
                ]
                DLQ_MESSAGES.labels(self.group, f.origin_topic).inc()
                self.dead_lettered += 1
                self._log_dead_letter(f)
            headers = base + [(k, v.encode()) for k, v in extra]
            futures.append(
                await self._producer.send(topic, value=f.record.value, key=f.record.key, headers=headers)
            )
        if futures:
            await asyncio.gather(*futures)
