"""Reconciliation use cases: import a statement, run a date range, list and resolve issues."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from caisse_shared.errors import Conflict, NotFound
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db.models import (
    payment,
    reconciliation_issue,
    reconciliation_job,
    statement_line,
)
from caisse_payments.domain.model import FINAL_RECEIVED, PaymentStatus
from caisse_payments.domain.reconciliation import (
    InternalRecord,
    Report,
    StatementInvalid,
    StatementLine,
    parse_statement,
    reconcile,
)

COUNTED = [s.value for s in FINAL_RECEIVED | {PaymentStatus.REVERSED}]


@dataclass(frozen=True, slots=True)
class RunRequest:
    """One reconciliation run."""

    channel: str
    start_date: date
    end_date: date
    trigger: str = "MANUAL"
    statement_csv: str | None = None
    requested_by: str | None = None


async def import_statement(session: AsyncSession, channel: str, csv_text: str) -> int:
    """Store provider statement lines (replacing lines of the same references)."""
    lines = parse_statement(csv_text)
    if not lines:
        return 0
    import_id = uuid.uuid4()
    await session.execute(
        insert(statement_line),
        [
            {
                "channel": channel,
                "provider_reference": ln.provider_reference,
                "amount": ln.amount,
                "currency": ln.currency,
                "value_date": ln.value_date,
                "line_no": ln.line_no,
                "import_id": import_id,
            }
            for ln in lines
        ],
    )
    return len(lines)


def _day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time.min, UTC),
        datetime.combine(end + timedelta(days=1), time.min, UTC),
    )


async def _statement(session: AsyncSession, req: RunRequest) -> list[StatementLine]:
    # Only the latest import counts for a value date, so re-importing does not fake duplicates.
    latest = (
        select(statement_line.c.value_date, func.max(statement_line.c.imported_at).label("at"))
        .where(statement_line.c.channel == req.channel)
        .group_by(statement_line.c.value_date)
        .subquery()
    )
    rows = (
        await session.execute(
            select(statement_line)
            .join(
                latest,
                (latest.c.value_date == statement_line.c.value_date)
                & (latest.c.at == statement_line.c.imported_at),
            )
            .where(
                statement_line.c.channel == req.channel,
                statement_line.c.value_date.between(req.start_date, req.end_date),
            )
        )
    ).all()
    return [StatementLine(r.provider_reference, r.amount, r.currency, r.value_date, r.line_no) for r in rows]


async def _internal(session: AsyncSession, req: RunRequest) -> list[InternalRecord]:
    lo, hi = _day_bounds(req.start_date, req.end_date)
    rows = (
        await session.execute(
            select(payment).where(
                payment.c.channel == req.channel,
                payment.c.status.in_(COUNTED),
                payment.c.paid_at >= lo,
                payment.c.paid_at < hi,
            )
        )
    ).all()
    return [
        InternalRecord(
            r.provider_reference,
            r.amount,
            r.currency,
            r.paid_at.astimezone(UTC).date(),
            str(r.id),
            r.reference_number,
        )
        for r in rows
    ]


async def run(session: AsyncSession, req: RunRequest, *, tolerance_days: int) -> tuple[Any, Report]:
    """Compare statement and payments over the range; store the job and its issues."""
    if req.end_date < req.start_date:
        raise StatementInvalid("endDate is before startDate")
    if req.statement_csv:
        await import_statement(session, req.channel, req.statement_csv)
    report = reconcile(
        await _statement(session, req),
        await _internal(session, req),
        date_tolerance_days=tolerance_days,
    )
    job_id = uuid.uuid4()
    await session.execute(
        insert(reconciliation_job).values(
            id=job_id,
            channel=req.channel,
            start_date=req.start_date,
            end_date=req.end_date,
            trigger=req.trigger,
            status="COMPLETED",
            statement_lines=report.statement_lines,
            internal_records=report.internal_records,
            matched=report.matched,
            issues=len(report.discrepancies),
            requested_by=req.requested_by,
        )
    )
    if report.discrepancies:
        await session.execute(
            insert(reconciliation_issue),
            [
                {
                    "id": uuid.uuid4(),
                    "job_id": job_id,
                    "kind": d.kind.value,
                    "provider_reference": d.provider_reference,
                    "payment_id": uuid.UUID(d.payment_id) if d.payment_id else None,
                    "internal_amount": d.internal_amount,
                    "provider_amount": d.provider_amount,
                    "detail": d.detail,
                }
                for d in report.discrepancies
            ],
        )
    return await get_job(session, job_id), report


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> Any:
    """One reconciliation job (404 if absent)."""
    row = (await session.execute(select(reconciliation_job).where(reconciliation_job.c.id == job_id))).first()
    if row is None:
        raise NotFound(f"no reconciliation job {job_id}")
    return row


async def list_issues(
    session: AsyncSession, *, status: str | None, job_id: uuid.UUID | None, limit: int, offset: int
) -> Sequence[Any]:
    """Reconciliation issues, newest first."""
    stmt = select(reconciliation_issue)
    if status:
        stmt = stmt.where(reconciliation_issue.c.status == status)
    if job_id:
        stmt = stmt.where(reconciliation_issue.c.job_id == job_id)
    stmt = stmt.order_by(reconciliation_issue.c.created_at.desc(), reconciliation_issue.c.id)
    return (await session.execute(stmt.limit(limit).offset(offset))).all()


async def resolve_issue(
    session: AsyncSession, issue_id: uuid.UUID, resolution: str, note: str | None, actor: str
) -> Any:
    """Close an open issue with an operator's resolution (409 if already resolved)."""
    row = (
        await session.execute(
            update(reconciliation_issue)
            .where(reconciliation_issue.c.id == issue_id, reconciliation_issue.c.status == "OPEN")
            .values(
                status="RESOLVED",
                resolution=resolution,
                resolution_note=note,
                resolved_by=actor,
                resolved_at=datetime.now(UTC),
            )
            .returning(*reconciliation_issue.c)
        )
    ).first()
    if row is not None:
        return row
    exists = (
        await session.execute(select(reconciliation_issue.c.id).where(reconciliation_issue.c.id == issue_id))
    ).first()
    if exists is None:
        raise NotFound(f"no reconciliation issue {issue_id}")
    raise Conflict(f"issue {issue_id} is already resolved")
