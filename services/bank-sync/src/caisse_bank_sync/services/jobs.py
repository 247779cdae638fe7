"""Sync job use cases: create (one active per source), transitions, status and errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from caisse_shared.events.envelope import Event
from caisse_shared.messaging.outbox import add_event
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_bank_sync.db.models import sync_error_t, sync_job_t
from caisse_bank_sync.domain import events as ev
from caisse_bank_sync.domain.entities import ENTITIES, SyncMode
from caisse_bank_sync.domain.errors import (
    JobNotFound,
    SyncAlreadyRunning,
    UnknownEntityType,
    UnknownSource,
)
from caisse_bank_sync.domain.jobs import ACTIVE, JobStatus, lock_key
from caisse_bank_sync.services.engine import SyncResult


def _now() -> datetime:
    return datetime.now(UTC)


async def release_abandoned(
    session: AsyncSession, source: str, queued_timeout_s: float
) -> dict[str, Any] | None:
    """Fail the source's active job if its worker died (no lock held) or it never started;
    returns the active job that is still alive, if any."""
    row = (
        await session.execute(
            select(sync_job_t).where(
                and_(sync_job_t.c.source_system == source, sync_job_t.c.status.in_(list(ACTIVE)))
            )
        )
    ).first()
    if row is None:
        return None
    job = dict(row._mapping)
    if job["status"] == JobStatus.RUNNING:
        # A live worker holds the transaction-level advisory lock for the whole sync; a
        # killed one's is released when the server ends its session.
        free = await session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtext(lock_key(source)))))
        abandoned = bool(free)
    else:
        abandoned = job["created_at"] < _now() - timedelta(seconds=queued_timeout_s)
    if not abandoned:
        return job
    await fail_job(session, job, "abandoned (worker stopped)")
    return None


async def create_job(
    session: AsyncSession,
    *,
    source: str,
    mode: SyncMode,
    entity_type: str | None,
    sources: set[str],
    requested_by: str | None,
    trigger: str = "API",
    queued_timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Queue a sync job; 409 if one is already queued or running for the source."""
    if source not in sources:
        raise UnknownSource(f"source {source!r} is not configured", sources=sorted(sources))
    if entity_type is not None and entity_type not in ENTITIES:
        raise UnknownEntityType(f"unknown entity type {entity_type!r}", known=list(ENTITIES))
    live = await release_abandoned(session, source, queued_timeout_s)
    if live is not None:
        status = str(live["status"]).lower()
        raise SyncAlreadyRunning(f"a sync of {source} is already {status}", job_id=str(live["id"]))
    job_id = uuid.uuid4()
    values = {
        "id": job_id,
        "source_system": source,
        "mode": mode.value,
        "entity_type": entity_type,
        "status": JobStatus.QUEUED,
        "trigger": trigger,
        "requested_by": requested_by,
    }
    try:
        async with session.begin_nested():
            await session.execute(sync_job_t.insert().values(**values))
    except IntegrityError:
        raise SyncAlreadyRunning(f"a sync of {source} is already queued or running") from None
    return await get_job(session, job_id)


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> dict[str, Any]:
    """One job as a dict."""
    row = (await session.execute(select(sync_job_t).where(sync_job_t.c.id == job_id))).first()
    if row is None:
        raise JobNotFound(f"sync job {job_id} not found")
    return dict(row._mapping)


async def mark_running(session: AsyncSession, job_id: uuid.UUID) -> None:
    """QUEUED → RUNNING (committed apart from the sync itself, so pollers see it)."""
    await session.execute(
        update(sync_job_t)
        .where(sync_job_t.c.id == job_id)
        .values(status=JobStatus.RUNNING, started_at=_now())
    )


async def complete_job(session: AsyncSession, job: dict[str, Any], result: SyncResult) -> None:
    """RUNNING → COMPLETED with counts, and SYNC_COMPLETED in the same transaction."""
    errors = result.total("errors") + result.integrity_errors
    counts = {
        "entities_processed": result.total("processed"),
        "entities_created": result.total("created"),
        "entities_updated": result.total("updated"),
        "entities_unchanged": result.total("unchanged"),
        "entities_stale": result.total("stale"),
        "errors": errors,
    }
    await session.execute(
        update(sync_job_t)
        .where(sync_job_t.c.id == job["id"])
        .values(status=JobStatus.COMPLETED, finished_at=_now(), details=result.details(), **counts)
    )
    await _announce(session, ev.SYNC_COMPLETED, job, counts)


async def fail_job(session: AsyncSession, job: dict[str, Any], message: str) -> None:
    """QUEUED/RUNNING → FAILED with the reason in sync_error, and SYNC_FAILED in the same
    transaction; nothing if the job has already ended (a job ends once, whoever sees it first:
    its worker or a sweep of abandoned jobs)."""
    reason = message[:2000]
    ended = await session.execute(
        update(sync_job_t)
        .where(sync_job_t.c.id == job["id"], sync_job_t.c.status.in_(list(ACTIVE)))
        .values(status=JobStatus.FAILED, finished_at=_now(), error_message=reason)
    )
    if not ended.rowcount:  # type: ignore[attr-defined]
        return
    await session.execute(
        sync_error_t.insert().values(
            job_id=job["id"],
            source_system=job["source_system"],
            entity_type=job["entity_type"],
            kind="FATAL",
            reason=reason,
        )
    )
    await _announce(session, ev.SYNC_FAILED, job, {"error": reason})


async def _announce(
    session: AsyncSession, kind: tuple[str, str], job: dict[str, Any], extra: dict[str, Any]
) -> None:
    """The job's outcome event (keyed by source) through the outbox."""
    event_type, topic = kind
    payload = {"sync_job_id": str(job["id"]), "source_system": job["source_system"], "mode": job["mode"]}
    await add_event(
        session,
        Event(event_type=event_type, topic=topic, key=job["source_system"], payload={**payload, **extra}),
    )


async def sync_status(session: AsyncSession, sources: set[str]) -> list[dict[str, Any]]:
    """Per source: its latest job (or none)."""
    latest = (
        select(sync_job_t)
        .distinct(sync_job_t.c.source_system)
        .order_by(sync_job_t.c.source_system, sync_job_t.c.created_at.desc())
    )
    rows = {r.source_system: dict(r._mapping) for r in (await session.execute(latest))}
    return [{"source_system": s, "last_job": rows.get(s)} for s in sorted(sources | set(rows))]


async def job_errors(
    session: AsyncSession, job_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Quarantined rows and integrity errors of a job, by file line."""
    await get_job(session, job_id)
    where = sync_error_t.c.job_id == job_id
    total = await session.scalar(select(func.count()).select_from(sync_error_t).where(where))
    rows = await session.execute(
        select(sync_error_t).where(where).order_by(sync_error_t.c.id).limit(limit).offset(offset)
    )
    return [dict(r._mapping) for r in rows], int(total or 0)
