# ruff: noqa: S608  -- SQL identifiers come from the entity specs only; values are bound.
"""Synchronisation engine (§1.2): extract → stage (COPY) → validate → upsert → stale → events.

Runs on the raw asyncpg connection of the caller's transaction; never commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from caisse_bank_sync.config import SCHEMA
from caisse_bank_sync.db import bulk_sql as q
from caisse_bank_sync.db.outbox_copy import copy_events, encode_events
from caisse_bank_sync.domain import events as ev
from caisse_bank_sync.domain.delinquency import Buckets
from caisse_bank_sync.domain.entities import ENTITIES, EntitySpec, SyncMode
from caisse_bank_sync.services.first_load import DeferredIndexes, claim_empty, defer_indexes
from caisse_bank_sync.services.staging import RawStager
from caisse_bank_sync.sources.base import Connector, Extract

ProgressFn = Callable[[str, int], None]
StageConnFn = Callable[[], AbstractAsyncContextManager[Any]]
Records = list[tuple[Any, ...]]
WORK_MEM = "64MB"
# Validation is CPU-bound per row (trim, hash, pg_input_is_valid): a Gather's tuple transfer
# costs far less than the planner's default assumes, so parallel plans are costed accordingly.
PARALLEL_SETUP_COST = 100
PARALLEL_TUPLE_COST = 0.001
ERROR_COLUMNS = (
    "job_id",
    "source_system",
    "entity_type",
    "kind",
    "file",
    "line",
    "natural_key",
    "reason",
    "raw",
)


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """What to synchronise: one job, one source, a mode and optionally one entity type."""

    job_id: uuid.UUID
    source: str
    mode: SyncMode
    entity_type: str | None = None


@dataclass
class EntityResult:
    """Counts of one entity type in one sync."""

    entity: str
    file: str
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    errors: int = 0
    events: int = 0


@dataclass
class SyncResult:
    """Counts of a whole sync (per entity, plus referential-integrity errors)."""

    entities: list[EntityResult] = field(default_factory=list)
    integrity_errors: int = 0

    def total(self, name: str) -> int:
        """Sum of one counter over the entity types."""
        return sum(int(getattr(e, name)) for e in self.entities)

    def details(self) -> dict[str, Any]:
        """JSON-able per-entity breakdown."""
        return {"entities": [asdict(e) for e in self.entities], "integrity_errors": self.integrity_errors}


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine knobs (from settings)."""

    buckets: Buckets = field(default_factory=Buckets)
    publish_loan_snapshots: bool = True
    event_batch_size: int = 1000
    defer_first_load_indexes: bool = True
    index_lock_timeout_ms: int = 2000
    stage_workers: int = 2  # connections staging extracts ahead of the sync's (one per core)


class Staged(NamedTuple):
    """One staged extract: raw rows, unchanged rows skipped, valid typed rows, and (loans) the
    delinquency events being encoded."""

    raw: int
    skipped: int
    valid: int
    events: asyncio.Future[Records] | None = None


async def drop_staging(conn: Any, job_id: uuid.UUID) -> None:
    """Drop a failed job's staging schema (tables the staging connection committed)."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {q.staging_schema(job_id.hex)} CASCADE")


class SyncEngine:
    """Loads every requested entity type of one source inside the caller's transaction."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    async def run(
        self,
        conn: Any,
        connector: Connector,
        req: SyncRequest,
        progress: ProgressFn | None = None,
        stage_conn: StageConnFn | None = None,
    ) -> SyncResult:
        """Synchronise; raises on a fatal error (the caller's transaction then rolls back).

        With ``stage_conn`` (another connection, outside the caller's transaction), the extracts
        are staged and validated there, one entity ahead: loans are typed while customers are
        written. Staging is scratch data (committed per entity, dropped with the job); the real
        tables and the outbox are only written in the caller's single transaction.
        """
        names = [req.entity_type] if req.entity_type else connector.entities()
        result = SyncResult()
        # Whole-extract hash aggregates and joins (~100 MB per million keys) stay in memory.
        await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        staging = await self._create_staging(conn, req, create=stage_conn is None)
        loop = asyncio.get_running_loop()
        staged: list[asyncio.Future[Staged]] = [loop.create_future() for _ in names]
        specs = [(ENTITIES[n], connector.open(n)) for n in names]
        if stage_conn is None:
            ahead = None
        else:
            ahead = asyncio.ensure_future(
                self._stage_ahead(stage_conn, staging, specs, req, progress, staged)
            )
        try:
            for (spec, extract), fut in zip(specs, staged, strict=True):
                if ahead is None:
                    fut.set_result(await self._stage(conn, spec, extract, req, progress))
                result.entities.append(await self._load(conn, spec, extract, req, await fut))
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()
            if ahead is not None:
                with contextlib.suppress(BaseException):
                    await ahead
            for fut in staged:  # errors of extracts never reached: the sync failed already
                if fut.done() and not fut.cancelled():
                    fut.exception()
        result.integrity_errors = await self._check_integrity(conn, req, names)
        await conn.execute(f"DROP SCHEMA {staging} CASCADE")
        return result

    async def _create_staging(self, conn: Any, req: SyncRequest, *, create: bool) -> str:
        """Put this job's staging schema first in the search path (creating it unless the
        staging connection does), after dropping committed leftovers of jobs no longer running.

        Staging tables are regular UNLOGGED tables (parallel scans, no WAL); the schema is dropped
        at the end of the sync, by ``drop_staging`` when the sync fails, and otherwise (a killed
        worker) by the next sync of any source.
        """
        for (name,) in await conn.fetch(q.leftover_staging_schemas()):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        staging = q.staging_schema(req.job_id.hex)
        if create:
            await conn.execute(f"CREATE SCHEMA {staging}")
        await conn.execute(f"SET LOCAL search_path TO {staging}, {SCHEMA}, public")
        return staging

    async def _stage_ahead(
        self,
        stage_conn: StageConnFn,
        staging: str,
        specs: list[tuple[EntitySpec, Extract]],
        req: SyncRequest,
        progress: ProgressFn | None,
        staged: list[asyncio.Future[Staged]],
    ) -> None:
        """Stage and validate the extracts on ``stage_workers`` connections of their own, in load
        order, one committed transaction each (the sync's connection reads the tables): loans are
        typed while customers are, and both while the sync's connection writes."""
        todo = iter(zip(specs, staged, strict=True))
        try:
            async with stage_conn() as conn:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {staging}")
            workers = min(self.config.stage_workers, len(specs))
            await asyncio.gather(
                *(self._stage_worker(stage_conn, staging, todo, req, progress) for _ in range(workers))
            )
        except BaseException as exc:
            for fut in staged:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            raise

    async def _stage_worker(
        self,
        stage_conn: StageConnFn,
        staging: str,
        todo: Iterator[tuple[tuple[EntitySpec, Extract], asyncio.Future[Staged]]],
        req: SyncRequest,
        progress: ProgressFn | None,
    ) -> None:
        """Stage the next extract not taken by another worker until none is left."""
        async with stage_conn() as conn:
            for (spec, extract), fut in todo:
                async with conn.transaction():
                    await conn.execute(
                        f"SET LOCAL work_mem = '{WORK_MEM}';"
                        f" SET LOCAL search_path TO {staging}, {SCHEMA}, public"
                    )
                    result = await self._stage(conn, spec, extract, req, progress)
                fut.set_result(result)

    async def _stage(
        self, conn: Any, spec: EntitySpec, extract: Extract, req: SyncRequest, progress: ProgressFn | None
    ) -> Staged:
        """Stage the extract raw, then typed the rows whose hash changed, each with its failure."""
        await RawStager(conn, spec).stage(extract, progress)
        # Key statistics only: the joins on the key need the row count, not the value columns.
        await conn.execute(f"ANALYZE {q.raw_table(spec)} ({', '.join(spec.key)})")
        dups = [r["dk"] for r in await conn.fetch(q.duplicate_keys(spec))]
        args = (req.source, dups) if dups else (req.source,)
        # Both steps are flat CREATE TABLE AS (INSERT … SELECT never runs in parallel) over
        # regular tables; costs that favour a Gather let the second core do half the work.
        await conn.execute(f"SET LOCAL parallel_setup_cost = {PARALLEL_SETUP_COST}")
        await conn.execute(f"SET LOCAL parallel_tuple_cost = {PARALLEL_TUPLE_COST}")
        await conn.execute(q.normalise(spec, bool(dups)), *args)
        await conn.execute(q.validate_and_type(spec, bool(dups)), *args[1:])
        await conn.execute("RESET parallel_setup_cost; RESET parallel_tuple_cost")
        typed, valid = await conn.fetchrow(
            f"SELECT count(*), count(*) FILTER (WHERE reason IS NULL) FROM {q.typed_table(spec)}"
        )
        raw = await conn.fetchval(f"SELECT count(*) FROM {q.raw_table(spec)}")
        events = await self._delinquency_events(conn, req) if spec.name == "loan" else None
        return Staged(raw, raw - typed, valid, events)

    async def _load(
        self, conn: Any, spec: EntitySpec, extract: Extract, req: SyncRequest, staged: Staged
    ) -> EntityResult:
        res = EntityResult(spec.name, extract.name)
        raw, skipped, valid, events = staged
        await self._record_bad_rows(conn, spec, extract, req)
        if raw - skipped > valid:
            await conn.execute(q.quarantine(spec), req.job_id, req.source, extract.name)
        res.processed = raw + len(extract.bad_rows)
        res.errors = res.processed - skipped - valid
        await self._upsert(conn, spec, req, res, (valid, skipped + valid), events)
        res.unchanged += skipped
        await conn.execute(f"DROP TABLE {q.raw_table(spec)}, {q.norm_table(spec)}, {q.typed_table(spec)}")
        return res

    async def _record_bad_rows(self, conn: Any, spec: EntitySpec, extract: Extract, req: SyncRequest) -> None:
        """Rows rejected while parsing (encoding, field count, truncation) go to sync_error."""
        rows = [
            (req.job_id, req.source, spec.name, "VALIDATION", extract.name, b.line, None, b.reason, b.raw)
            for b in extract.bad_rows
        ]
        if rows:
            await conn.copy_records_to_table(
                "sync_error", schema_name=SCHEMA, columns=ERROR_COLUMNS, records=rows
            )

    async def _upsert(
        self,
        conn: Any,
        spec: EntitySpec,
        req: SyncRequest,
        res: EntityResult,
        counts: tuple[int, int],
        events: asyncio.Future[Records] | None,
    ) -> None:
        """Write the valid staged rows, mark stale, count and announce. ``counts``: (valid staged
        rows, extract keys that are this source's live records once written); ``events``: the
        delinquency events being encoded, COPYed right after the write."""
        staged, known = counts
        snapshots = spec.name == "loan" and self.config.publish_loan_snapshots
        extra = ev.LOAN_SNAPSHOT_FIELDS if snapshots else ()
        first = await claim_empty(conn, f"{SCHEMA}.{spec.name}")
        if first:  # the table was empty: nothing of this source can be missing
            deferred = DeferredIndexes()
            if self.config.defer_first_load_indexes:
                deferred = await defer_indexes(conn, spec.name, self.config.index_lock_timeout_ms)
            created, updated, rows = await _keys(conn, spec, q.insert_new(spec, extra), req, extra)
            await deferred.restore(conn)
            await conn.execute(q.analyze_joined(spec))
        else:
            created, updated, rows = await _keys(conn, spec, q.upsert(spec, extra), req, extra)
        stale: list[str] = []
        if not first and await self._may_have_stale(conn, spec, req, known):
            stale, _, stale_rows = await _keys(conn, spec, q.mark_stale(spec, extra), req, extra)
            rows.extend(stale_rows)
        if events is not None:
            res.events += await copy_events(conn, await events)
        res.created, res.updated, res.stale = len(created), len(updated), len(stale)
        res.unchanged = staged - res.created - res.updated
        if res.unchanged:  # same values from different text: keep the hash current
            await conn.execute(q.refresh_hashes(spec))
        res.events += await self._entity_events(conn, spec, req, created, updated, stale)
        if snapshots:
            items = [(r["account_number"], ev.loan_snapshot(r["account_number"], r)) for r in rows]
            res.events += await copy_events(conn, encode_events(*ev.LOAN_UPDATED, items))

    async def _may_have_stale(self, conn: Any, spec: EntitySpec, req: SyncRequest, known: int) -> bool:
        """Whether a FULL sync must look for missing records: not when this source has exactly
        ``known`` live records, all of them in the extract (a count is cheaper than the anti-join)."""
        if req.mode is not SyncMode.FULL or req.entity_type not in (None, spec.name):
            return False
        live = await conn.fetchval(
            f"SELECT count(*) FROM {SCHEMA}.{spec.name} WHERE source_system = $1 AND NOT is_stale",
            req.source,
        )
        return bool(live != known)

    async def _entity_events(
        self,
        conn: Any,
        spec: EntitySpec,
        req: SyncRequest,
        created: list[str],
        updated: list[str],
        stale: list[str],
    ) -> int:
        """ENTITY_UPDATED events (batched keys) plus one sync_event log row."""
        payloads = ev.entity_updated_payloads(
            job_id=str(req.job_id),
            entity_type=spec.name,
            source=req.source,
            created=created,
            updated=updated,
            stale=stale,
            batch_size=self.config.event_batch_size,
        )
        if not payloads:
            return 0
        await conn.execute(
            f"INSERT INTO {SCHEMA}.sync_event (job_id, event_type, entity_type, source_system,"
            " affected_count, details) VALUES ($1, 'ENTITY_UPDATED', $2, $3, $4, $5)",
            req.job_id,
            spec.name,
            req.source,
            len(created) + len(updated) + len(stale),
            json.dumps(
                {
                    "created": len(created),
                    "updated": len(updated),
                    "stale": len(stale),
                    "events": len(payloads),
                }
            ),
        )
        records = encode_events(*ev.ENTITY_UPDATED, ((spec.name, p) for p in payloads))
        return await copy_events(conn, records)

    async def _delinquency_events(self, conn: Any, req: SyncRequest) -> asyncio.Future[Records]:
        """Outbox records of one LoanDelinquencyChanged per staged loan crossing a bucket boundary.

        The loans are read at staging, before the sync's upsert changes them (on the staging
        connection: its snapshot is at least as recent); their events are encoded in a thread
        while the sync's connection writes, and COPYed to the outbox after the loan upsert.
        """
        rows = await conn.fetch(q.delinquency_changes(), list(self.config.buckets.thresholds))
        buckets, source = self.config.buckets, req.source

        def encode() -> Records:
            items = [(r["account_number"], ev.delinquency_payload(r, source, buckets)) for r in rows]
            return encode_events(*ev.DELINQUENCY_CHANGED, items)

        return asyncio.ensure_future(asyncio.to_thread(encode))

    async def _check_integrity(self, conn: Any, req: SyncRequest, names: list[str]) -> int:
        """Report rows of this job whose soft references point at missing records."""
        total = 0
        for name in names:
            for sql, target in q.dangling_references(ENTITIES[name]):
                total += await conn.fetchval(
                    f"WITH ins AS (INSERT INTO {SCHEMA}.sync_error (job_id, source_system,"
                    " entity_type, kind, natural_key, reason)"
                    f" SELECT $1, $2, '{name}', 'INTEGRITY', d.nk,"
                    f" 'references missing {target} ' || d.ref FROM ({sql}) d RETURNING 1)"
                    " SELECT count(*) FROM ins",
                    req.job_id,
                    req.source,
                )
        return total


async def _keys(
    conn: Any, spec: EntitySpec, dml: str, req: SyncRequest, extra: tuple[str, ...]
) -> tuple[list[str], list[str], list[Any]]:
    """Run a write returning keys: (created or stale keys, updated keys, rows when ``extra``)."""
    if not extra:  # two text arrays decode far faster than one record per row
        first, second = await conn.fetchrow(q.key_arrays(spec, dml), req.source, req.job_id)
        return first, second, []
    rows = await conn.fetch(dml, req.source, req.job_id)
    flagged = "AS created" in dml
    keys = [(":".join(str(r[k]) for k in spec.key), r) for r in rows]
    if not flagged:
        return [k for k, _ in keys], [], rows
    return [k for k, r in keys if r["created"]], [k for k, r in keys if not r["created"]], rows
