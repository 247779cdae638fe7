"""Outbox rows for set-based jobs: prepared (validated, Avro-encoded) apart from the insert, so
they can be built while another statement runs, then written as one statement of column arrays."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import default_registry
from caisse_shared.messaging.outbox import outbox_row
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.config import SCHEMA

# Seven array parameters whatever the number of events: no 32,767 bind-parameter limit and no
# per-row statement; created_at, attempts and the id come from the table defaults as in add_events.
_INSERT = text(
    "INSERT INTO collection.outbox (event_id, event_type, schema_version, topic, key, payload, headers) "
    "SELECT e, t, v, tp, k, p, h::jsonb FROM unnest("
    "CAST(:event_ids AS uuid[]), CAST(:types AS text[]), CAST(:versions AS integer[]), "
    "CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:payloads AS bytea[]), CAST(:headers AS text[])"
    ") AS o(e, t, v, tp, k, p, h)"
)
_PARAMS = ("event_ids", "types", "versions", "topics", "keys", "payloads", "headers")


class OutboxRow(NamedTuple):
    """One outbox row ready for the array insert (headers already JSON text)."""

    event_id: object
    event_type: object
    schema_version: object
    topic: object
    key: object
    payload: object
    headers: str


def prepare(event: Event) -> OutboxRow:
    """Validate and encode an event as the shared outbox does (same producer, same headers)."""
    row = outbox_row(event, default_registry(), SCHEMA)
    return OutboxRow(
        row["event_id"],
        row["event_type"],
        row["schema_version"],
        row["topic"],
        row["key"],
        row["payload"],
        json.dumps(row["headers"]),
    )


async def insert(session: AsyncSession, rows: Sequence[OutboxRow]) -> None:
    """Write prepared rows to the outbox in the session's transaction (no commit)."""
    if rows:
        columns = zip(*rows, strict=True)
        await session.execute(_INSERT, {name: list(col) for name, col in zip(_PARAMS, columns, strict=True)})
