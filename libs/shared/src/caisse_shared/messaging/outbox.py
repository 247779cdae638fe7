"""Transactional outbox: ``add_event`` writes the event in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_shared.db import session_metadata
from caisse_shared.events.envelope import Event, envelope_headers
from caisse_shared.events.registry import SchemaRegistry, default_registry
from caisse_shared.observability import current_correlation_id


def outbox_row(event: Event, registry: SchemaRegistry, producer: str) -> dict[str, object]:
    """The outbox row for an event (payload validated and encoded), for bulk writers."""
    payload = registry.encode(event.event_type, event.schema_version, event.payload)
    headers = envelope_headers(
        event_id=str(event.event_id),
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=event.occurred_at,
        producer=event.producer or producer,
        correlation_id=event.correlation_id or current_correlation_id(),
        causation_id=event.causation_id,
    )
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "topic": event.topic,
        "key": event.key,
        "payload": payload,
        "headers": {k: v.decode() for k, v in headers},
    }


def _insert_sql(schema: str) -> TextClause:
    """One INSERT of column arrays: one round trip and 7 parameters whatever the row count."""
    return text(
        f'INSERT INTO "{schema}".outbox '  # noqa: S608 (schema from the service's own metadata)
        "(event_id, event_type, schema_version, topic, key, payload, headers) "
        "SELECT e, t, v, tp, k, p, h::jsonb FROM unnest("
        "CAST(:event_ids AS uuid[]), CAST(:types AS text[]), CAST(:versions AS integer[]), "
        "CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:payloads AS bytea[]), "
        "CAST(:headers AS text[])) AS o(e, t, v, tp, k, p, h)"
    )


async def insert_outbox_rows(session: AsyncSession, rows: Sequence[dict[str, object]]) -> None:
    """Insert rows made by :func:`outbox_row` in the session's transaction (no commit)."""
    if not rows:
        return
    schema = session_metadata(session).schema or "public"
    await session.execute(
        _insert_sql(schema),
        {
            "event_ids": [r["event_id"] for r in rows],
            "types": [r["event_type"] for r in rows],
            "versions": [r["schema_version"] for r in rows],
            "topics": [r["topic"] for r in rows],
            "keys": [r["key"] for r in rows],
            "payloads": [r["payload"] for r in rows],
            "headers": [json.dumps(r["headers"]) for r in rows],
        },
    )


async def add_events(
    session: AsyncSession, events: Iterable[Event], *, registry: SchemaRegistry | None = None
) -> None:
    """Validate, encode and insert events into the session's outbox (no commit, no Kafka call)."""
    metadata = session_metadata(session)
    reg = registry or default_registry()
    producer = metadata.schema or "caisse"
    await insert_outbox_rows(session, [outbox_row(e, reg, producer) for e in events])


async def add_event(session: AsyncSession, event: Event, *, registry: SchemaRegistry | None = None) -> None:
    """Write one event to the outbox in the caller's transaction."""
    await add_events(session, [event], registry=registry)
