"""Read use cases: one payment with its allocations and history, lists by loan or customer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caisse_shared.http.security import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db import repositories as repo
from caisse_payments.db.models import payment
from caisse_payments.domain.model import PaymentNotFound


@dataclass(frozen=True, slots=True)
class PaymentDetail:
    """A payment with its allocation lines, state history and conflicting deliveries."""

    payment: Any
    allocations: Sequence[Any]
    history: Sequence[Any]
    conflicts: Sequence[Any]


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    """Optional list filters."""

    account_number: str | None = None
    cif: str | None = None
    channel: str | None = None
    status: str | None = None
    transaction_type: str | None = None
    needs_review: bool | None = None
    since: datetime | None = None
    until: datetime | None = None


def _scope(principal: Principal) -> list[Any]:
    """An institution-bound principal sees only its institution's payments."""
    if principal.institution_id is None:
        return []
    return [payment.c.institution_id == principal.institution_id]


async def get_payment(session: AsyncSession, reference: str, principal: Principal) -> PaymentDetail:
    """One payment (404 if absent or outside the caller's institution)."""
    row = await repo.by_reference(session, reference)
    if row is None or not principal.can_see_institution(row.institution_id):
        raise PaymentNotFound(f"no payment {reference}")
    return PaymentDetail(
        row,
        await repo.allocations_of(session, row.id),
        await repo.history_of(session, row.id),
        await repo.conflicts_of(session, row.id),
    )


async def list_payments(
    session: AsyncSession, f: PaymentFilter, principal: Principal, *, limit: int, offset: int
) -> Sequence[Any]:
    """Payments matching ``f`` within the caller's scope."""
    c = payment.c
    filters = _scope(principal)
    pairs = [
        (f.account_number, c.account_number),
        (f.cif, c.cif),
        (f.channel, c.channel),
        (f.status, c.status),
        (f.transaction_type, c.transaction_type),
        (f.needs_review, c.needs_review),
    ]
    filters += [col == value for value, col in pairs if value is not None]
    if f.since is not None:
        filters.append(c.received_at >= f.since)
    if f.until is not None:
        filters.append(c.received_at < f.until)
    return await repo.list_payments(session, filters=filters, limit=limit, offset=offset)
