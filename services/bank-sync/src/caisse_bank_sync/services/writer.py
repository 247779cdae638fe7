# ruff: noqa: S608  -- SQL identifiers come from the entity specs only; values are bound.
"""Writes one entity's validated parts into its table inside the sync's transaction.

Per part: INSERT (first load of an empty table) or upsert, refreshed hashes, loan snapshots
(its delinquency events are COPYed last). Once all parts are in: stale marking,
ENTITY_UPDATED; deferred indexes are rebuilt as ``chores``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.db import write_sql as q
from caisse_bank_sync.db.outbox_copy import copy_events, encode_events
from caisse_bank_sync.domain import events as ev
from caisse_bank_sync.domain.entities import EntitySpec, SyncMode
from caisse_bank_sync.services.first_load import defer_indexes
from caisse_bank_sync.services.pipeline import Records, StagedPart, parallel_favoured


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """What the writer needs of the sync request and the engine settings."""

    job_id: Any
    source: str
    mode: SyncMode
    entity_type: str | None
    snapshots: bool
    event_batch_size: int
    defer_indexes: bool
    index_lock_timeout_ms: int


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """What one entity's write did: created, updated, stale keys counts, events written."""

    created: int
    updated: int
    stale: int
    events: int


class EntityWriter:
    """Writes the parts of one entity in order, then finishes it (see module docstring).

    ``first``: the sync claimed the table empty (services.first_load.claim_empty).
    """

    def __init__(self, spec: EntitySpec, opts: WriteOptions, first: bool) -> None:
        self.spec, self.opts, self.first = spec, opts, first
        self.started = False
        self.snapshots = spec.name == "loan" and opts.snapshots
        self.extra = ev.LOAN_SNAPSHOT_FIELDS if self.snapshots else ()
        self.deferred: tuple[str, ...] = ()  # CREATE INDEX statements of dropped indexes
        self.created: list[str] = []
        self.updated: list[str] = []
        self.events = 0
        # Delinquency events of written parts, then ENTITY_UPDATED, encoded in threads: COPYed
        # while the sync waits (``copy_ready_events``), the rest last (``copy_late_events``).
        self.late: list[asyncio.Future[Records]] = []
        self.late_copied = 0

    async def write(self, conn: Any, part: StagedPart) -> None:
        """Write one part's valid rows (the table is claimed at the first part)."""
        if not self.started and self.first and self.opts.defer_indexes:
            self.deferred = await defer_indexes(conn, self.spec.name, self.opts.index_lock_timeout_ms)
        self.started = True
        created: list[str]
        updated: list[str] = []
        rows: list[Any] = []
        if self.first and part.keys is not None and not self.extra:  # no RETURNING to decode
            await conn.execute(q.insert_new(self.spec, part.part, None), self.opts.source, self.opts.job_id)
            created = part.keys
        else:
            build = q.insert_new if self.first else q.upsert
            created, updated, rows = await self._keys(conn, build(self.spec, part.part, self.extra))
        if part.events is not None:  # read before this write changed the loans
            self.late.append(part.events)
        if part.valid > len(created) + len(updated):  # same values from other text: keep the hash
            await conn.execute(q.refresh_hashes(self.spec, part.part))
        self.created += created
        self.updated += updated
        await self._snapshots(conn, rows)

    async def finish(self, conn: Any, known: int) -> WriteCounts:
        """Stale records marked (FULL syncs), ENTITY_UPDATED events written.

        ``known``: extract keys that are this source's live records once written.
        """
        stale: list[str] = []
        if not self.first and await self._may_have_stale(conn, known):
            stale, _, rows = await self._keys(conn, q.mark_stale(self.spec, self.extra))
            await self._snapshots(conn, rows)
        await self._entity_events(conn, stale)
        return WriteCounts(len(self.created), len(self.updated), len(stale), self.events)

    async def copy_ready_events(self, conn: Any) -> bool:
        """COPY the events already encoded (delinquency events of the parts in order, then
        ENTITY_UPDATED); whether any were.

        Other events of a loan go to other topics, so their order relative to these carries
        no meaning for consumers."""
        copied = False
        while self.late and self.late[0].done():
            self.late_copied += await copy_events(conn, self.late.pop(0).result())
            copied = True
        return copied

    async def copy_late_events(self, conn: Any) -> int:
        """COPY the events left (waiting for their encoding); returns how many events this
        writer COPYed in all, snapshots apart."""
        for fut in self.late:
            self.late_copied += await copy_events(conn, await fut)
        self.late.clear()
        return self.late_copied

    def chores(self) -> list[str]:
        """Statements a first load leaves for later in the same transaction (the sync runs them
        while it waits for the next extract's parts): rebuilding the deferred indexes, then
        ANALYZE of the joined columns (an empty table's statistics would mislead the integrity
        check and the next sync)."""
        if not self.first:
            return []
        return [*self.deferred, q.analyze_joined(self.spec)]

    async def _snapshots(self, conn: Any, rows: list[Any]) -> None:
        if self.snapshots and rows:
            items = [(r["account_number"], ev.loan_snapshot(r["account_number"], r)) for r in rows]
            self.events += await copy_events(conn, encode_events(*ev.LOAN_UPDATED, items))

    async def _may_have_stale(self, conn: Any, known: int) -> bool:
        """Whether a FULL sync must look for missing records: not when this source has exactly
        ``known`` live records, all of them in the extract (a count is cheaper than the anti-join)."""
        if self.opts.mode is not SyncMode.FULL or self.opts.entity_type not in (None, self.spec.name):
            return False
        # A scan of the table, with the second core's help: fetch, not fetchval (a row limit on
        # the portal rules out parallel workers).
        async with parallel_favoured(conn):
            (live,), *_ = await conn.fetch(
                f"SELECT count(*) FROM {SCHEMA}.{self.spec.name} WHERE source_system = $1 AND NOT is_stale",
                self.opts.source,
            )
        return bool(live != known)

    async def _entity_events(self, conn: Any, stale: list[str]) -> None:
        """One sync_event log row now; the ENTITY_UPDATED events (batched keys: a million keys
        take a quarter of a second) are built in a thread while the sync goes on (index
        builds, the next extract) and COPYed with the delinquency events."""
        created, updated, size = self.created, self.updated, self.opts.event_batch_size
        total = len(created) + len(updated) + len(stale)
        if not total:
            return
        counts = {"created": len(created), "updated": len(updated), "stale": len(stale)}
        await conn.execute(
            f"INSERT INTO {SCHEMA}.sync_event (job_id, event_type, entity_type, source_system,"
            " affected_count, details) VALUES ($1, 'ENTITY_UPDATED', $2, $3, $4, $5)",
            self.opts.job_id,
            self.spec.name,
            self.opts.source,
            total,
            json.dumps({**counts, "events": -(-total // size)}),
        )

        def encode() -> Records:
            payloads = ev.entity_updated_payloads(
                job_id=str(self.opts.job_id),
                entity_type=self.spec.name,
                source=self.opts.source,
                created=created,
                updated=updated,
                stale=stale,
                batch_size=size,
            )
            return encode_events(*ev.ENTITY_UPDATED, ((self.spec.name, p) for p in payloads))

        self.late.append(asyncio.ensure_future(asyncio.to_thread(encode)))

    async def _keys(self, conn: Any, dml: str) -> tuple[list[str], list[str], list[Any]]:
        """Run a write returning keys: (created or stale keys, updated keys, rows when snapshots)."""
        spec, args = self.spec, (self.opts.source, self.opts.job_id)
        if not self.extra:  # two text arrays decode far faster than one record per row
            first, second = await conn.fetchrow(q.key_arrays(spec, dml), *args)
            return first, second, []
        rows = await conn.fetch(dml, *args)
        keys = [(":".join(str(r[k]) for k in spec.key), r) for r in rows]
        if "AS created" not in dml:
            return [k for k, _ in keys], [], rows
        return [k for k, r in keys if r["created"]], [k for k, r in keys if not r["created"]], rows
