"""Transactional outbox: ``add_event`` writes the event in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_shared.db import session_metadata
from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import SchemaRegistry, default_registry
from caisse_shared.messaging.tables import outbox_table
from caisse_shared.observability import current_correlation_id


def outbox_row(event: Event, registry: SchemaRegistry, producer: str) -> dict[str, object]:
    """The outbox row for an event (payload validated and encoded), for bulk writers."""
    payload = registry.encode(event.event_type, event.schema_version, event.payload)
    correlation = event.correlation_id or current_correlation_id()
    headers = {
        k: v.decode()
        for k, v in Event(
            event_type=event.event_type,
            topic=event.topic,
            key=event.key,
            payload={},
            schema_version=event.schema_version,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            producer=event.producer or producer,
            correlation_id=correlation,
            causation_id=event.causation_id,
        ).headers()
    }
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "topic": event.topic,
        "key": event.key,
        "payload": payload,
        "headers": headers,
    }


async def add_events(
    session: AsyncSession, events: Iterable[Event], *, registry: SchemaRegistry | None = None
) -> None:
    """Validate, encode and insert events into the session's outbox (no commit, no Kafka call)."""
    metadata = session_metadata(session)
    table = outbox_table(metadata)
    reg = registry or default_registry()
    producer = metadata.schema or "caisse"
    rows = [outbox_row(e, reg, producer) for e in events]
    if rows:
        await session.execute(insert(table), rows)


async def add_event(session: AsyncSession, event: Event, *, registry: SchemaRegistry | None = None) -> None:
    """Write one event to the outbox in the caller's transaction."""
    await add_events(session, [event], registry=registry)
