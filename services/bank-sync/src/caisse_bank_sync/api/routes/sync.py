"""``/api/sync``: status, run (background job to poll), job and its quarantined rows."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query

from caisse_bank_sync.api.deps import (
    RunnerDep,
    SessionDep,
    SettingsDep,
    SyncReader,
    SyncRunnerPrincipal,
)
from caisse_bank_sync.api.schemas import (
    PageRead,
    SyncErrorRead,
    SyncJobRead,
    SyncRunCreate,
    SyncStatusRead,
)
from caisse_bank_sync.services import jobs

router = APIRouter(prefix="/api/sync", tags=["sync"])


@router.get("/status", response_model=list[SyncStatusRead], summary="SyncStatus per source")
async def sync_status(session: SessionDep, settings: SettingsDep, _: SyncReader) -> list[dict[str, object]]:
    """Latest job of every configured source."""
    return await jobs.sync_status(session, set(settings.source_configs()))


@router.post(
    "/run",
    response_model=SyncJobRead,
    status_code=202,
    responses={409: {"description": "a sync of this source is already running"}},
)
async def run_sync(
    body: SyncRunCreate,
    session: SessionDep,
    settings: SettingsDep,
    runner: RunnerDep,
    principal: SyncRunnerPrincipal,
    background: BackgroundTasks,
) -> dict[str, object]:
    """Queue a sync of one source (optionally one entity type); poll the returned job."""
    job = await jobs.create_job(
        session,
        source=body.source.value,
        mode=body.mode,
        entity_type=body.entity_type,
        sources=set(settings.source_configs()),
        requested_by=principal.subject,
        queued_timeout_s=settings.queued_job_timeout_s,
    )
    # Background tasks run after the response, i.e. after the session committed the job row.
    background.add_task(runner.enqueue, job["id"])
    return job


@router.get("/jobs/{job_id}", response_model=SyncJobRead)
async def get_job(job_id: uuid.UUID, session: SessionDep, _: SyncReader) -> dict[str, object]:
    """One sync job and its counts."""
    return await jobs.get_job(session, job_id)


@router.get("/jobs/{job_id}/errors", response_model=PageRead[SyncErrorRead])
async def job_errors(
    job_id: uuid.UUID,
    session: SessionDep,
    _: SyncReader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    """Quarantined rows (file, line, reason) and referential-integrity errors of a job."""
    items, total = await jobs.job_errors(session, job_id, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
