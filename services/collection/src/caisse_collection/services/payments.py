"""Payment events: credit the case and its agent, keep promises that are covered, settle cases;
reversals undo all of that."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db import repositories as repo
from caisse_collection.db.models import CaseLoan, CustomerCase, PaymentCredit, PromiseToPay
from caisse_collection.domain.cases import (
    CaseStatus,
    can_transition,
    status_after_delinquency,
    status_after_payment,
)
from caisse_collection.domain.promises import PromiseStatus, after_reversal, apply_payment
from caisse_collection.services.cases import change_status, recompute_figures, refresh_strategy

PAYMENTS = "payments"


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """A payment (positive) or a reversal (``original_payment_id`` set) as payments reports it."""

    payment_id: str
    account_number: str | None
    cif: str | None
    amount: int
    currency: str
    at: datetime
    original_payment_id: str | None = None


async def _find_case(session: AsyncSession, p: PaymentFacts) -> CustomerCase | None:
    case = await repo.case_by_account(session, p.account_number) if p.account_number else None
    if case is None and p.cif:
        case = await repo.case_by_cif(session, p.cif, lock=True)
    return case


async def _credit(
    session: AsyncSession,
    case: CustomerCase,
    p: PaymentFacts,
    promise: PromiseToPay | None,
    applied: int,
    amount: int,
) -> bool:
    """Insert the credit row; False if this payment was already credited."""
    result = await session.execute(
        insert(PaymentCredit)
        .values(
            payment_id=p.payment_id,
            original_payment_id=p.original_payment_id,
            case_id=case.id,
            cif=case.cif,
            account_number=p.account_number,
            agent_id=case.agent_id,
            promise_id=promise.id if promise else None,
            promise_applied=applied,
            amount=amount,
            currency=p.currency,
            paid_at=p.at,
        )
        .on_conflict_do_nothing()
        .returning(PaymentCredit.payment_id)
    )
    return result.scalar_one_or_none() is not None


async def _move_loan(session: AsyncSession, account: str | None, overdue_delta: int) -> None:
    """Reflect a payment (negative delta) or a reversal on the loan until bank-sync resyncs."""
    loan = await session.get(CaseLoan, account, with_for_update=True) if account else None
    if loan is None:
        return
    applied = max(overdue_delta, -loan.overdue_amount)
    loan.overdue_amount += applied
    loan.outstanding_amount = max(loan.outstanding_amount + overdue_delta, 0)
    if loan.overdue_amount == 0:
        loan.days_past_due = 0
        loan.bucket = "CURRENT"
    loan.updated_at = datetime.now(UTC)
    await session.flush()


async def _keep_promise(
    session: AsyncSession, case: CustomerCase, p: PaymentFacts
) -> tuple[PromiseToPay | None, int, bool]:
    """Apply the payment to the earliest pending promise whose window covers it."""
    for promise in await repo.pending_promises(session, case.id):
        if promise.currency != p.currency:
            continue
        cov = apply_payment(
            promised=promise.amount,
            already_paid=promise.paid_amount,
            payment=p.amount,
            made_on=p.at.date(),
            due_date=promise.due_date,
            promised_on=promise.created_at.date(),
        )
        if cov.applied == 0:
            continue
        promise.paid_amount = cov.paid_total
        if cov.kept:
            promise.status, promise.resolved_at = PromiseStatus.KEPT.value, datetime.now(UTC)
        return promise, cov.applied, cov.kept
    return None, 0, False


async def on_payment(session: AsyncSession, p: PaymentFacts) -> None:
    """A payment was received: credit, promise, case figures and status."""
    case = await _find_case(session, p)
    if case is None or p.amount <= 0:
        return  # not a customer in collection
    if p.currency != case.currency:
        return  # figures are kept in the case currency only; never mix currencies
    if not await _credit(session, case, p, None, 0, p.amount):
        return  # already credited (a replay that slipped past the inbox)
    promise, applied, kept = await _keep_promise(session, case, p)
    if promise is not None:
        credit = await session.get(PaymentCredit, p.payment_id)
        assert credit is not None
        credit.promise_id, credit.promise_applied = promise.id, applied
    await _move_loan(session, p.account_number, -p.amount)
    await recompute_figures(session, case)
    target = status_after_payment(
        CaseStatus(case.status), arrears_left=case.overdue_amount, promise_kept=kept
    )
    reason = "promise kept" if kept else f"payment {p.payment_id} received"
    await change_status(session, case, target, by=PAYMENTS, reason=reason)
    await refresh_strategy(session, case)


async def on_reversal(session: AsyncSession, p: PaymentFacts) -> None:
    """A payment was reversed: take the credit back, reopen the promise and the case if needed."""
    original = (
        await session.execute(select(PaymentCredit).where(PaymentCredit.payment_id == p.original_payment_id))
    ).scalar_one_or_none()
    if original is None:
        return  # the payment never counted here
    case = await session.get(CustomerCase, original.case_id, with_for_update=True)
    assert case is not None
    reversal = PaymentFacts(
        p.payment_id,
        original.account_number,
        case.cif,
        p.amount,
        original.currency,
        p.at,
        original.payment_id,
    )
    if not await _credit(session, case, reversal, None, 0, -min(p.amount, original.amount)):
        return
    await _move_loan(session, original.account_number, min(p.amount, original.amount))
    await recompute_figures(session, case)
    reopened = status_after_delinquency(
        CaseStatus(case.status), arrears=case.overdue_amount, days_past_due=case.days_past_due
    )
    await change_status(session, case, reopened, by=PAYMENTS, reason="payment reversed")
    if original.promise_id is not None:
        await _reopen_promise(session, case, original.promise_id, original.promise_applied)
    await refresh_strategy(session, case)


async def _reopen_promise(
    session: AsyncSession, case: CustomerCase, promise_id: uuid.UUID, amount: int
) -> None:
    promise = await session.get(PromiseToPay, promise_id, with_for_update=True)
    if promise is None:
        return
    paid, status = after_reversal(
        promise.paid_amount, amount, promise.amount, promise.due_date, datetime.now(UTC).date()
    )
    promise.paid_amount = paid
    if status.value == promise.status:
        return
    promise.status = status.value
    promise.resolved_at = None if status == PromiseStatus.PENDING else datetime.now(UTC)
    target = CaseStatus.PROMISE if status == PromiseStatus.PENDING else CaseStatus.BROKEN_PROMISE
    if status == PromiseStatus.BROKEN:
        case.broken_promises += 1
    if can_transition(CaseStatus(case.status), target):
        await change_status(session, case, target, by=PAYMENTS, reason="covering payment reversed")
