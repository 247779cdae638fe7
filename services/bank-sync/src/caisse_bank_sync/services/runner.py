"""Runs queued sync jobs in the background: one long transaction per sync, status apart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from caisse_shared.db import Database
from sqlalchemy import func, select

from caisse_bank_sync.config import Settings
from caisse_bank_sync.domain.delinquency import Buckets
from caisse_bank_sync.domain.entities import SyncMode
from caisse_bank_sync.domain.jobs import lock_key
from caisse_bank_sync.services import jobs
from caisse_bank_sync.services.engine import (
    EngineConfig,
    ProgressFn,
    SyncEngine,
    SyncRequest,
    SyncResult,
    drop_staging,
)
from caisse_bank_sync.sources.base import Connector
from caisse_bank_sync.sources.files import FileConnector
from caisse_bank_sync.sources.http import HttpConnector

log = logging.getLogger("caisse.bank_sync.runner")


def connector_for(settings: Settings, source: str) -> Connector:
    """The configured connector of a source (file folder or HTTP API)."""
    cfg = settings.source_configs()[source]
    if cfg.kind == "http" and cfg.base_url:
        return HttpConnector(source, cfg.base_url)
    if cfg.path is None:
        raise ValueError(f"source {source} has no extract folder configured")
    return FileConnector(source, cfg.path)


def engine_for(settings: Settings) -> SyncEngine:
    """The engine configured from settings."""
    return SyncEngine(
        EngineConfig(
            buckets=Buckets.of(settings.delinquency_thresholds),
            publish_loan_snapshots=settings.publish_loan_snapshots,
            event_batch_size=settings.entity_event_batch_size,
            defer_first_load_indexes=settings.defer_first_load_indexes,
            index_lock_timeout_ms=settings.first_load_index_lock_timeout_ms,
        )
    )


class SyncRunner:
    """Background worker: ``submit(job_id)`` runs the job; ``stop()`` cancels running ones."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db, self.settings = database, settings
        self.engine = engine_for(settings)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Fail the jobs a stopped worker left active (jobs are submitted, nothing to start)."""
        for source in self.settings.source_configs():
            try:
                async with self.db.unit_of_work() as s:
                    await jobs.release_abandoned(s, source, self.settings.queued_job_timeout_s)
            except Exception:  # the next sync request of the source checks again
                log.warning("could not check %s for abandoned sync jobs", source, exc_info=True)

    async def stop(self) -> None:
        """Cancel running syncs (their transactions roll back; the jobs are marked FAILED)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    def submit(self, job_id: uuid.UUID, connector: Connector | None = None) -> asyncio.Task[Any]:
        """Run a queued job in the background."""
        task = asyncio.create_task(self.execute(job_id, connector))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def enqueue(self, job_id: uuid.UUID) -> None:
        """Async form of ``submit`` (for FastAPI background tasks, which run sync ones in threads)."""
        self.submit(job_id)

    async def execute(
        self, job_id: uuid.UUID, connector: Connector | None = None, progress: ProgressFn | None = None
    ) -> SyncResult | None:
        """Run one job to COMPLETED (one transaction) or FAILED (another transaction)."""
        async with self.db.unit_of_work() as s:
            job = await jobs.get_job(s, job_id)
        try:
            connector = connector or connector_for(self.settings, job["source_system"])
            return await self._run(job, connector, progress)
        except asyncio.CancelledError:
            await asyncio.shield(self._fail(job, "cancelled (service stopping)"))
            raise
        except Exception as exc:
            # The log keeps the server paths for operators; the job (read over HTTP) does not.
            log.exception("sync %s of %s failed", job_id, job["source_system"])
            message = f"{type(exc).__name__}: {exc}"
            await self._fail(job, connector.redact(message) if connector else message)
            return None

    async def _run(
        self, job: dict[str, Any], connector: Connector, progress: ProgressFn | None
    ) -> SyncResult:
        req = SyncRequest(job["id"], job["source_system"], SyncMode(job["mode"]), job["entity_type"])
        async with self.db.unit_of_work() as s:
            # Held until this transaction ends (or its connection dies): marks the sync alive.
            await s.scalar(select(func.pg_advisory_xact_lock(func.hashtext(lock_key(req.source)))))
            async with self.db.unit_of_work() as status:
                await jobs.mark_running(status, req.job_id)
            raw = await (await s.connection()).get_raw_connection()
            conn = raw.driver_connection
            assert conn is not None
            await conn.execute("SET LOCAL search_path TO bank_sync, public")
            result = await self.engine.run(conn, connector, req, progress, stage_conn=self._stage_conn)
            await jobs.complete_job(s, job, result)
        return result

    @contextlib.asynccontextmanager
    async def _stage_conn(self) -> AsyncIterator[Any]:
        """A pooled connection of its own for staging, outside the sync's transaction.

        One left by an error or a cancellation is closed, not pooled. A BEGIN cancelled in
        flight leaves a transaction open on the server and asyncpg counting it, so the next
        user's transactions would nest in it as savepoints and never commit; the pool's reset
        does not roll it back, as the pool did not start it.
        """
        async with self.db.engine.connect() as c:
            raw = await c.get_raw_connection()
            try:
                yield raw.driver_connection
            except BaseException:
                await c.invalidate()
                raise

    async def _fail(self, job: dict[str, Any], message: str) -> None:
        async with self.db.unit_of_work() as s:
            raw = await (await s.connection()).get_raw_connection()
            await drop_staging(raw.driver_connection, job["id"])
            await jobs.fail_job(s, job, message)
