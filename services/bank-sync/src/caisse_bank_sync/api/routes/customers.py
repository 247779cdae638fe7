"""``/api/customers``: search, one customer by CIF, their loans and collaterals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from caisse_bank_sync.api.deps import CustomerReader, LoanReader, SessionDep, SettingsDep, paging
from caisse_bank_sync.api.routes.loans import with_bucket
from caisse_bank_sync.api.schemas import (
    CollateralRead,
    CustomerRead,
    CustomerSummaryRead,
    LoanRead,
    PageRead,
)
from caisse_bank_sync.services import queries
from caisse_bank_sync.services.queries import Page

router = APIRouter(prefix="/api/customers", tags=["customers"])
Cif = Annotated[str, Path(min_length=1, max_length=32)]
CustomerPage = Annotated[Page, Depends(paging(("cif", "full_name", "updated_at")))]
LoanPage = Annotated[Page, Depends(paging(("account_number", "days_past_due", "updated_at")))]
CollateralPage = Annotated[Page, Depends(paging(("collateral_number", "value")))]


@router.get("", response_model=PageRead[CustomerSummaryRead])
async def search_customers(
    session: SessionDep,
    principal: CustomerReader,
    page: CustomerPage,
    q: Annotated[str | None, Query(max_length=100, description="name prefix, phone, ID, CIF")] = None,
    include_stale: Annotated[bool, Query(alias="includeStale")] = False,
) -> dict[str, object]:
    """Search customers by name (prefix), phone number, ID number or CIF."""
    items, total = await queries.search_customers(
        session, principal, q=q, include_stale=include_stale, page=page
    )
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{cif}", response_model=CustomerRead)
async def get_customer(cif: Cif, session: SessionDep, principal: CustomerReader) -> dict[str, object]:
    """``Customer`` by CIF with phones, addresses, e-mails and reference customers."""
    return await queries.get_customer(session, principal, cif)


@router.get("/{cif}/loans", response_model=PageRead[LoanRead])
async def customer_loans(
    cif: Cif, session: SessionDep, principal: LoanReader, page: LoanPage, settings: SettingsDep
) -> dict[str, object]:
    """``Loan[]`` of a customer."""
    items, total = await queries.customer_loans(session, principal, cif, page)
    return {"items": with_bucket(items, settings), "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{cif}/collaterals", response_model=PageRead[CollateralRead])
async def customer_collaterals(
    cif: Cif, session: SessionDep, principal: LoanReader, page: CollateralPage
) -> dict[str, object]:
    """``Collateral[]`` of a customer."""
    items, total = await queries.customer_collaterals(session, principal, cif, page)
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}
