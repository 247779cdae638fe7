"""``/api/loans``: delinquent loans (dpd/status filters) and one loan by account number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from caisse_bank_sync.api.deps import LoanReader, SessionDep, SettingsDep, paging
from caisse_bank_sync.api.schemas import LoanDetailRead, LoanRead, PageRead
from caisse_bank_sync.config import Settings
from caisse_bank_sync.domain.delinquency import Buckets
from caisse_bank_sync.services import queries
from caisse_bank_sync.services.queries import Page

router = APIRouter(prefix="/api/loans", tags=["loans"])
LoanPage = Annotated[
    Page, Depends(paging(("account_number", "days_past_due", "overdue_amount", "updated_at")))
]


def with_bucket(rows: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """Add the delinquency bucket label computed from days past due."""
    buckets = Buckets.of(settings.delinquency_thresholds)
    return [{**r, "delinquency_bucket": buckets.label(r["days_past_due"])} for r in rows]


@router.get("/delinquent", response_model=PageRead[LoanRead])
async def delinquent_loans(
    session: SessionDep,
    principal: LoanReader,
    page: LoanPage,
    settings: SettingsDep,
    dpd: Annotated[int, Query(ge=1, le=100_000, description="minimum days past due")] = 1,
    max_dpd: Annotated[int | None, Query(alias="maxDpd", ge=1, le=100_000)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, object]:
    """Delinquent loans: days past due ≥ ``dpd`` (and ≤ ``maxDpd``), optional ``status``."""
    items, total = await queries.delinquent_loans(
        session, principal, min_dpd=dpd, max_dpd=max_dpd, status=status, page=page
    )
    return {"items": with_bucket(items, settings), "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{account_number}", response_model=LoanDetailRead)
async def get_loan(
    account_number: Annotated[str, Path(min_length=1, max_length=32)],
    session: SessionDep,
    principal: LoanReader,
    settings: SettingsDep,
) -> dict[str, object]:
    """``Loan`` by account number, with its collaterals."""
    loan = await queries.get_loan(session, principal, account_number)
    return with_bucket([loan], settings)[0]
