"""Reconciliation endpoints: run for a date range, import statements, list and resolve issues."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from caisse_payments.api.deps import Reconciler, SessionDep, SettingsDep
from caisse_payments.api.schemas import (
    IssueRead,
    IssueResolveCreate,
    ReconciliationCreate,
    ReconciliationJobRead,
    ReconciliationReportRead,
    StatementImportRead,
)
from caisse_payments.domain.model import Channel
from caisse_payments.domain.reconciliation import StatementInvalid
from caisse_payments.services import reconciliation as recon

router = APIRouter(prefix="/api/payments/reconciliation", tags=["reconciliation"])


@router.post(
    "",
    status_code=201,
    response_model=ReconciliationReportRead,
    summary="Trigger payment reconciliation for a date range (payments:reconcile)",
)
async def run_reconciliation(
    body: ReconciliationCreate, session: SessionDep, settings: SettingsDep, who: Reconciler
) -> ReconciliationReportRead:
    job, _ = await recon.run(
        session,
        recon.RunRequest(
            channel=body.channel.value,
            start_date=body.start_date,
            end_date=body.end_date,
            statement_csv=body.statement_csv,
            requested_by=who.subject,
        ),
        tolerance_days=settings.reconciliation_date_tolerance_days,
    )
    issues = await recon.list_issues(session, status=None, job_id=job.id, limit=10_000, offset=0)
    return ReconciliationReportRead(
        job=ReconciliationJobRead.model_validate(job),
        discrepancies=[IssueRead.model_validate(i) for i in issues],
    )


@router.post(
    "/statements",
    status_code=201,
    response_model=StatementImportRead,
    summary="Import a provider statement (text/csv body) (payments:reconcile)",
)
async def import_statement(
    request: Request, session: SessionDep, who: Reconciler, channel: Channel = Channel.KKIAPAY
) -> StatementImportRead:
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise StatementInvalid("statement must be UTF-8 CSV") from None
    lines = await recon.import_statement(session, channel.value, text)
    return StatementImportRead(channel=channel.value, lines=lines)


@router.get("/issues", response_model=list[IssueRead], summary="Reconciliation issues (payments:reconcile)")
async def list_issues(
    session: SessionDep,
    who: Reconciler,
    status: Literal["OPEN", "RESOLVED"] | None = None,
    job_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[IssueRead]:
    rows = await recon.list_issues(session, status=status, job_id=job_id, limit=limit, offset=offset)
    return [IssueRead.model_validate(r) for r in rows]


@router.post(
    "/issues/{issue_id}/resolve",
    response_model=IssueRead,
    summary="Resolve a reconciliation issue (payments:reconcile)",
)
async def resolve_issue(
    issue_id: uuid.UUID, body: IssueResolveCreate, session: SessionDep, who: Reconciler
) -> IssueRead:
    row = await recon.resolve_issue(session, issue_id, body.resolution, body.note, who.subject)
    return IssueRead.model_validate(row)


@router.get(
    "/{job_id}",
    response_model=ReconciliationJobRead,
    summary="One reconciliation job (payments:reconcile)",
)
async def get_job(job_id: uuid.UUID, session: SessionDep, who: Reconciler) -> ReconciliationJobRead:
    return ReconciliationJobRead.model_validate(await recon.get_job(session, job_id))
