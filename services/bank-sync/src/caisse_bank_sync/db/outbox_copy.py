"""Bulk outbox writer: Avro-encode many events and COPY them into the outbox in one go.

Same rows as ``caisse_shared.messaging.outbox.add_events`` (same transaction, same relay), but
for tens of thousands of per-loan events: the first payload is validated against the schema,
the rest are encoded by fastavro directly (they are built from typed database columns).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterable
from typing import Any

import fastavro
from caisse_shared.events.envelope import envelope_headers, utcnow
from caisse_shared.events.registry import default_registry
from caisse_shared.observability import current_correlation_id

from caisse_bank_sync.config import SCHEMA

OUTBOX_COLUMNS = ("event_id", "event_type", "schema_version", "topic", "key", "payload", "headers")


def encode_events(
    event_type: str,
    topic: str,
    items: Iterable[tuple[str, dict[str, Any]]],
    *,
    causation_id: str | None = None,
) -> list[tuple[Any, ...]]:
    """Outbox records for (key, payload) pairs of one event type (schema version 1)."""
    registry = default_registry()
    schema = registry.parsed(event_type, 1)
    head, tail = _headers_template(event_type, causation_id)
    pairs = list(items)
    ids = uuid7_strings(len(pairs))
    records: list[tuple[Any, ...]] = []
    write = fastavro.schemaless_writer
    buf = io.BytesIO()
    for event_id, (key, payload) in zip(ids, pairs, strict=True):
        if not records:
            data = registry.encode(event_type, 1, payload)  # validates the contract once
        else:
            buf.seek(0)
            buf.truncate()
            write(buf, schema, payload)
            data = buf.getvalue()
        records.append((event_id, event_type, 1, topic, key, data, f"{head}{event_id}{tail}"))
    return records


def uuid7_strings(n: int) -> list[str]:
    """``n`` time-ordered (version 7, RFC 9562) UUIDs as text, increasing within the batch.

    The outbox's unique index on event_id takes random (version 4) ids all over its pages;
    these land at its right edge: 100k events were written in 300 ms instead of 460 ms beside
    a 200k-row outbox, and the gap grows with the outbox. After the millisecond timestamp, 74
    bits: a random start plus the position in the batch (two batches of one millisecond meet
    only if their random starts are less than ``n`` apart, about 1 in 10^17 for 100k events).
    """
    ms = time.time_ns() // 1_000_000
    start = int.from_bytes(os.urandom(10), "big") >> 6  # 74 random bits
    head = (ms << 80) | (0x7 << 76)
    out: list[str] = []
    for i in range(n):
        r = (start + i) & _MASK74
        h = f"{head | (r >> 62) << 64 | _VARIANT | (r & _MASK62):032x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


_MASK74, _MASK62, _VARIANT = (1 << 74) - 1, (1 << 62) - 1, 0b10 << 62


def _headers_template(event_type: str, causation_id: str | None) -> tuple[str, str]:
    """JSON headers split around the event id, the only header that differs between events
    of one batch (one json.dumps per batch instead of one per event)."""
    marker = "00000000-0000-4000-8000-000000000000"
    headers = {
        k: v.decode()
        for k, v in envelope_headers(
            event_id=marker,
            event_type=event_type,
            schema_version=1,
            occurred_at=utcnow(),
            producer=SCHEMA,
            correlation_id=current_correlation_id(),
            causation_id=causation_id,
        )
    }
    head, tail = json.dumps(headers).split(marker)
    return head, tail


async def copy_events(conn: Any, records: list[tuple[Any, ...]]) -> int:
    """COPY encoded events into the outbox on a raw asyncpg connection (caller's transaction)."""
    if records:
        await conn.copy_records_to_table(
            "outbox", schema_name=SCHEMA, columns=OUTBOX_COLUMNS, records=records
        )
    return len(records)
