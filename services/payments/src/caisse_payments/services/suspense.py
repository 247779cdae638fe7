"""Suspense: an operator allocates an unallocated payment once the loan is identified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from caisse_shared.http.security import Principal
from caisse_shared.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db import repositories as repo
from caisse_payments.domain.allocation import LoanDues, allocate
from caisse_payments.domain.model import (
    AllocationRefused,
    Channel,
    InvalidTransition,
    Notification,
    NotificationOutcome,
    PaymentNotFound,
    PaymentStatus,
    TransactionType,
    UnknownLoan,
)
from caisse_payments.services import events
from caisse_payments.services.ingest import IngestContext, alloc_columns


def _as_notification(row: Any, account_number: str) -> Notification:
    """The stored payment, pointed at the loan the operator identified."""
    return Notification(
        channel=Channel(row.channel),
        provider_reference=row.provider_reference,
        amount=row.amount,
        currency=row.currency,
        outcome=NotificationOutcome.SUCCESS,
        paid_at=row.paid_at or row.received_at,
        account_number=account_number,
        cif=row.cif,
        transaction_type=TransactionType(row.transaction_type),
        payer_phone=row.payer_phone,
    )


async def _loan(session: AsyncSession, account_number: str, principal: Principal) -> tuple[LoanDues, Any]:
    """The loan, locked (payments on one loan allocate one after another), and its institution."""
    loan = await repo.lock_loan(session, account_number)
    institution = await repo.loan_institution(session, account_number) if loan else None
    if loan is None or not principal.can_see_institution(institution):
        raise UnknownLoan(f"no loan {account_number}")
    return loan, institution


async def allocate_suspense(
    session: AsyncSession, reference: str, account_number: str, ctx: IngestContext, principal: Principal
) -> Any:
    """Allocate a payment in suspense to a loan: dues, history, PAYMENT_RECEIVED; the new row."""
    row = await repo.by_reference(session, reference, lock=True)
    if row is None or not principal.can_see_institution(row.institution_id):
        raise PaymentNotFound(f"no payment {reference}")
    if row.status != PaymentStatus.UNALLOCATED:
        raise InvalidTransition(f"payment {reference} is {row.status}, not in suspense")
    loan, institution = await _loan(session, account_number, principal)
    alloc = allocate(_as_notification(row, account_number), loan, ctx.order)
    if alloc.status is not PaymentStatus.ALLOCATED:
        raise AllocationRefused(f"loan {account_number}: {alloc.review_reason or alloc.status}")
    await repo.update_payment(
        session,
        row.id,
        **alloc_columns(alloc),
        account_number=account_number,
        cif=row.cif or loan.cif,
        institution_id=institution,
        updated_at=datetime.now(UTC),
    )
    await repo.apply_to_loan(session, row.id, account_number, alloc)
    reason = f"allocated from suspense to {account_number}" + (
        f" ({alloc.review_reason})" if alloc.review_reason else ""
    )
    await repo.add_history(session, row.id, row.status, alloc.status.value, reason=reason, actor=ctx.actor)
    allocated = await repo.by_id(session, row.id)
    await add_event(session, events.received(allocated))
    return allocated
