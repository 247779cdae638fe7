"""Read use cases: customers, loans, collaterals with filters, sorting, pagination, scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caisse_shared.http.security import Principal
from sqlalchemy import Select, Table, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_bank_sync.db.models import (
    address_t,
    collateral_t,
    customer_t,
    email_t,
    loan_t,
    phone_t,
    reference_customer_t,
)
from caisse_bank_sync.domain.errors import CustomerNotFound, LoanNotFound


@dataclass(frozen=True, slots=True)
class Page:
    """Pagination and sorting asked by the caller (sort already whitelisted by the route)."""

    limit: int = 50
    offset: int = 0
    sort: str | None = None
    descending: bool = False


def _scoped(stmt: Select[Any], table: Table, principal: Principal) -> Select[Any]:
    """Institution-bound principals only see their institution's records."""
    if principal.institution_id is None:
        return stmt
    return stmt.where(table.c.institution_id == principal.institution_id)


async def _paged(
    session: AsyncSession, stmt: Select[Any], table: Table, page: Page, default_sort: str
) -> tuple[list[dict[str, Any]], int]:
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    col = table.c[page.sort or default_sort]
    order = col.desc() if page.descending else col.asc()
    key = list(table.primary_key.columns)
    rows = await session.execute(stmt.order_by(order, *key).limit(page.limit).offset(page.offset))
    return [dict(r._mapping) for r in rows], int(total or 0)


async def search_customers(
    session: AsyncSession, principal: Principal, *, q: str | None, include_stale: bool, page: Page
) -> tuple[list[dict[str, Any]], int]:
    """Customers by name prefix/substring, phone number, ID number or CIF."""
    stmt = _scoped(select(customer_t), customer_t, principal)
    if not include_stale:
        stmt = stmt.where(customer_t.c.is_stale.is_(False))
    if q:
        term = q.strip()
        like = "%" + term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        by_phone = select(phone_t.c.cif).where(phone_t.c.number == term)
        stmt = stmt.where(
            or_(
                func.lower(customer_t.c.full_name).like(like + "%", escape="\\"),
                customer_t.c.id_number == term,
                customer_t.c.cif == term,
                customer_t.c.cif.in_(by_phone),
            )
        )
    return await _paged(session, stmt, customer_t, page, "cif")


async def get_customer(session: AsyncSession, principal: Principal, cif: str) -> dict[str, Any]:
    """A customer with phones, addresses, emails and reference customers."""
    stmt = _scoped(select(customer_t).where(customer_t.c.cif == cif), customer_t, principal)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise CustomerNotFound(f"customer {cif} not found")
    out = dict(row._mapping)
    for name, table, col in (
        ("phones", phone_t, phone_t.c.cif),
        ("addresses", address_t, address_t.c.cif),
        ("emails", email_t, email_t.c.cif),
        ("references", reference_customer_t, reference_customer_t.c.primary_cif),
    ):
        rows = await session.execute(select(table).where(col == cif).order_by(*table.primary_key))
        out[name] = [dict(r._mapping) for r in rows]
    return out


async def customer_loans(
    session: AsyncSession, principal: Principal, cif: str, page: Page
) -> tuple[list[dict[str, Any]], int]:
    """Loans of a customer (404 if the customer is unknown or out of scope)."""
    await _visible_customer(session, principal, cif)
    stmt = _scoped(select(loan_t).where(loan_t.c.cif == cif), loan_t, principal)
    return await _paged(session, stmt, loan_t, page, "account_number")


async def customer_collaterals(
    session: AsyncSession, principal: Principal, cif: str, page: Page
) -> tuple[list[dict[str, Any]], int]:
    """Collaterals of a customer."""
    await _visible_customer(session, principal, cif)
    stmt = select(collateral_t).where(collateral_t.c.cif == cif)
    return await _paged(session, stmt, collateral_t, page, "collateral_number")


async def _visible_customer(session: AsyncSession, principal: Principal, cif: str) -> None:
    stmt = _scoped(select(customer_t.c.cif).where(customer_t.c.cif == cif), customer_t, principal)
    if await session.scalar(stmt) is None:
        raise CustomerNotFound(f"customer {cif} not found")


async def get_loan(session: AsyncSession, principal: Principal, account_number: str) -> dict[str, Any]:
    """One loan with its collaterals."""
    stmt = _scoped(select(loan_t).where(loan_t.c.account_number == account_number), loan_t, principal)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise LoanNotFound(f"loan {account_number} not found")
    out = dict(row._mapping)
    rows = await session.execute(select(collateral_t).where(collateral_t.c.account_number == account_number))
    out["collaterals"] = [dict(r._mapping) for r in rows]
    return out


async def delinquent_loans(
    session: AsyncSession,
    principal: Principal,
    *,
    min_dpd: int,
    max_dpd: int | None,
    status: str | None,
    page: Page,
) -> tuple[list[dict[str, Any]], int]:
    """Loans with days past due ≥ ``min_dpd`` (≥ 1), optional upper bound and status."""
    stmt = _scoped(
        select(loan_t).where(loan_t.c.days_past_due >= max(min_dpd, 1), loan_t.c.is_stale.is_(False)),
        loan_t,
        principal,
    )
    if max_dpd is not None:
        stmt = stmt.where(loan_t.c.days_past_due <= max_dpd)
    if status:
        stmt = stmt.where(loan_t.c.status == status.upper())
    return await _paged(session, stmt, loan_t, page, "days_past_due")
