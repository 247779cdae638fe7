"""Payment processing flow: validate -> transform -> rules -> store -> allocate -> publish."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from caisse_shared.db import Database
from caisse_shared.events.envelope import Event
from caisse_shared.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.config import SCHEMA
from caisse_payments.db import intake
from caisse_payments.db import repositories as repo
from caisse_payments.domain.allocation import Allocation, Component, LoanDues, allocate
from caisse_payments.domain.duplicates import (
    ConflictKind,
    StoredPayment,
    amount_differs,
    completes,
    disagreements,
)
from caisse_payments.domain.model import (
    DuplicateMismatch,
    Notification,
    NotificationOutcome,
    PaymentStatus,
    TransactionType,
    WebhookReplayed,
    review_reason,
)
from caisse_payments.services import conflicts, events
from caisse_payments.services.events import outbox_row


@dataclass(frozen=True, slots=True)
class IngestContext:
    """Who records the payment and how allocation is ordered."""

    order: tuple[Component, ...]
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The stored payment, whether this call created it, and the refusal to raise once committed.

    ``refused``: a delivery with another amount under a known reference, recorded as a conflict
    (its transaction must commit, then the caller answers 409).
    """

    payment: Any
    created: bool
    refused: DuplicateMismatch | None = None


def new_reference(now: datetime) -> str:
    """Our reference number: PAY + date + random suffix (unique by constraint)."""
    return f"PAY{now:%y%m%d}{uuid.uuid4().hex[:12].upper()}"


def _needs_loan(n: Notification) -> bool:
    return (
        n.outcome is NotificationOutcome.SUCCESS
        and n.account_number is not None
        and n.transaction_type is TransactionType.REMBOURSEMENT_PRET
    )


def _initial_status(n: Notification, alloc: Allocation | None) -> PaymentStatus:
    if n.outcome is NotificationOutcome.FAILED:
        return PaymentStatus.FAILED
    if n.outcome is NotificationOutcome.PENDING:
        return PaymentStatus.PENDING
    return alloc.status if alloc else PaymentStatus.UNALLOCATED


UNALLOCATED_COLUMNS: dict[str, Any] = {
    "allocated_penalties": 0,
    "allocated_interest": 0,
    "allocated_principal": 0,
    "unallocated_amount": 0,
    "needs_review": False,
    "review_reason": None,
}


def review_columns(*reasons: str | None) -> dict[str, Any]:
    """needs_review and review_reason from every reason there is."""
    reason = review_reason(*reasons)
    return {"needs_review": reason is not None, "review_reason": reason}


def alloc_columns(alloc: Allocation, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The payment columns an allocation sets (with the notification's review notes)."""
    return {
        "allocated_penalties": alloc.penalties,
        "allocated_interest": alloc.interest,
        "allocated_principal": alloc.principal,
        "unallocated_amount": alloc.unallocated,
        **review_columns(alloc.review_reason, *notes),
        "status": alloc.status.value,
    }


def _values(n: Notification, ctx: IngestContext) -> dict[str, Any]:
    """Every column the intake sets (allocation columns explicit: the statement inserts them)."""
    now = datetime.now(UTC)
    alloc = allocate(n, None) if n.outcome is NotificationOutcome.SUCCESS and not _needs_loan(n) else None
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "reference_number": new_reference(now),
        "channel": n.channel.value,
        "provider_reference": n.provider_reference,
        "transaction_type": n.transaction_type.value,
        "account_number": n.account_number,
        "cif": n.cif,
        "amount": n.amount,
        "currency": n.currency,
        "payer_phone": n.payer_phone,
        "failure_reason": n.failure_reason,
        "paid_at": n.paid_at if n.outcome is NotificationOutcome.SUCCESS else None,
        "created_by": ctx.actor,
        "raw": n.raw or None,
        **UNALLOCATED_COLUMNS,
        **review_columns(*n.review_notes),
    }
    if alloc is not None:
        values.update(alloc_columns(alloc, n.review_notes))
    values["status"] = _initial_status(n, alloc).value
    return values


def _first_event(n: Notification, values: dict[str, Any]) -> Event | None:
    """The event announcing a payment stored in its final state (none while pending)."""
    row = SimpleNamespace(**values)
    if row.status == PaymentStatus.FAILED:
        return events.failed(row, n.failure_reason or "provider reported failure")
    if row.status != PaymentStatus.PENDING:
        return events.received(row)
    return None


def _outbox_row(n: Notification, values: dict[str, Any]) -> dict[str, Any] | None:
    event = _first_event(n, values)
    return outbox_row(event, producer=SCHEMA) if event is not None else None


async def ingest(
    session: AsyncSession,
    n: Notification,
    ctx: IngestContext,
    *,
    delivery: tuple[str, str] | None = None,
    keep_refused: bool = False,
) -> IngestResult:
    """Store a notification exactly once per (channel, provider reference) and announce it.

    ``delivery`` (channel, delivery id) is the signed webhook delivery to claim first: a replay
    raises :class:`WebhookReplayed`. A new payment that needs no loan is claimed, stored, given
    its history row and its outbox event in one statement; a loan repayment is then allocated
    under the loan's row lock; a known provider reference takes the duplicate path. Another
    amount under a known reference raises :class:`DuplicateMismatch`, or with ``keep_refused``
    is recorded and returned in ``refused`` for the caller to raise after the commit.
    """
    values = _values(n, ctx)
    final = not _needs_loan(n)
    row = await intake.insert_new(
        session,
        values,
        delivery=delivery,
        history_reason=values["review_reason"] or n.failure_reason,
        with_history=final,
        outbox_row=_outbox_row(n, values) if final else None,
    )
    if not row.claimed:
        raise WebhookReplayed("this signed delivery was already received")
    if row.id is None:
        result = await _duplicate(session, n, ctx, delivery[1] if delivery else None)
        if result.refused is not None and not keep_refused:
            raise result.refused
        return result
    if final:
        return IngestResult(row, created=True)
    await _allocate(session, row.id, n, ctx, from_status=None)
    return IngestResult(await repo.by_id(session, row.id), created=True)


async def ingest_delivery(
    database: Database, n: Notification, ctx: IngestContext, delivery: tuple[str, str]
) -> IngestResult:
    """A signed webhook delivery, in as few round trips as its case allows.

    The common cases of a payment that needs no loan allocation are one autocommit statement:
    a new payment (delivery + payment + history + outbox: all or nothing), a provider retry
    answered with the unchanged stored payment (delivery only), a replay (nothing). A new loan
    repayment is one transaction on the driver: the loan locked and allocated, then everything
    in one statement (:func:`intake.insert_allocated`). Anything else (amount mismatch, a retry
    that disagrees or completes a pending payment, a repayment's provider retry) runs
    :func:`ingest` in one transaction, claiming the delivery there. Another amount is recorded
    as a conflict, committed, then refused (409).
    """
    if not _needs_loan(n):
        values = _values(n, ctx)
        row = await intake.insert_standalone(
            database.engine,
            values,
            delivery=delivery,
            outcome=n.outcome.value,
            compare_type=n.transaction_type.value if n.type_given else None,
            history_reason=values["review_reason"] or n.failure_reason,
            outbox_row=_outbox_row(n, values),
        )
    else:
        assert n.account_number is not None  # _needs_loan
        row = await intake.insert_allocated(
            database.engine, n.account_number, lambda loan: _allocated(n, ctx, loan), delivery=delivery
        )
    if not row.claimed:
        raise WebhookReplayed("this signed delivery was already received")
    if row.id is not None:
        return IngestResult(row, created=row.created)
    async with database.unit_of_work() as session:
        result = await ingest(session, n, ctx, delivery=delivery, keep_refused=True)
    if result.refused is not None:
        raise result.refused
    return result


def _allocated(n: Notification, ctx: IngestContext, loan: LoanDues | None) -> intake.Allocated:
    """A new repayment's columns and event as :func:`_allocate` leaves them, for the locked loan."""
    alloc = allocate(n, loan, ctx.order)
    columns = alloc_columns(alloc, n.review_notes)
    values = {**_values(n, ctx), **columns, "cif": n.cif or (loan.cif if loan else None)}
    return intake.Allocated(values, alloc, columns["review_reason"], _outbox_row(n, values))


def _stored(row: Any) -> StoredPayment:
    return StoredPayment(
        row.amount, row.currency, row.status, row.account_number, row.cif, row.transaction_type
    )


async def _duplicate(
    session: AsyncSession, n: Notification, ctx: IngestContext, delivery_id: str | None
) -> IngestResult:
    """A known provider reference: the original answer, completion of a pending payment, and a
    conflict recorded (payment flagged) for a retry that disagrees with it."""
    row = await repo.by_provider_ref(session, n.channel.value, n.provider_reference, lock=True)
    assert row is not None  # the conflicting row is committed: ON CONFLICT saw it
    stored = _stored(row)
    if amount_differs(stored, n):
        detail = f"amount {n.amount} {n.currency}, stored {row.amount} {row.currency}"
        await conflicts.record(session, row, n, ConflictKind.AMOUNT_MISMATCH, detail, delivery_id)
        refused = DuplicateMismatch(
            f"provider reference {n.provider_reference} already recorded with another amount",
            reference_number=row.reference_number,
        )
        return IngestResult(row, created=False, refused=refused)
    disagree = disagreements(stored, n)
    moves_on = completes(stored, n)
    if moves_on:
        await _complete(session, row, n, ctx)
    if disagree:
        detail = "; ".join(disagree)
        await conflicts.record(session, row, n, ConflictKind.CONFLICTING_RETRY, detail, delivery_id)
    changed = moves_on or bool(disagree)
    return IngestResult(await repo.by_id(session, row.id) if changed else row, created=False)


async def _complete(session: AsyncSession, row: Any, n: Notification, ctx: IngestContext) -> None:
    """A PENDING (or FAILED) payment gets its final outcome; the stored loan and type win."""
    merged = dataclasses.replace(
        n,
        account_number=row.account_number or n.account_number,
        transaction_type=TransactionType(row.transaction_type),
        cif=row.cif or n.cif,
    )
    if merged.outcome is NotificationOutcome.FAILED:
        await repo.update_payment(
            session,
            row.id,
            status=PaymentStatus.FAILED.value,
            failure_reason=n.failure_reason,
            updated_at=datetime.now(UTC),
            **review_columns(row.review_reason, *n.review_notes),
        )
        await repo.add_history(
            session,
            row.id,
            row.status,
            PaymentStatus.FAILED.value,
            reason=n.failure_reason,
            actor=ctx.actor,
        )
        await _announce(session, await repo.by_id(session, row.id), merged)
    else:
        await repo.update_payment(
            session, row.id, paid_at=n.paid_at, payer_phone=row.payer_phone or n.payer_phone
        )
        await _allocate(session, row.id, merged, ctx, from_status=row.status)
        if row.review_reason:  # flagged while pending (a conflict): the allocation keeps it
            await repo.flag_for_review(session, row.id, row.review_reason)


async def _allocate(
    session: AsyncSession,
    pid: uuid.UUID,
    n: Notification,
    ctx: IngestContext,
    *,
    from_status: str | None,
) -> None:
    """Lock the loan, split the amount over its dues, record, and announce."""
    loan = await repo.lock_loan(session, n.account_number) if n.account_number else None
    alloc = allocate(n, loan, ctx.order)
    cif = n.cif or (loan.cif if loan else None)
    columns = alloc_columns(alloc, n.review_notes)
    await repo.update_payment(session, pid, **columns, cif=cif, updated_at=datetime.now(UTC))
    if loan is not None:
        await repo.apply_to_loan(session, pid, loan.account_number, alloc)
    await repo.add_history(
        session, pid, from_status, alloc.status.value, reason=columns["review_reason"], actor=ctx.actor
    )
    await _announce(session, await repo.by_id(session, pid), n)


async def _announce(session: AsyncSession, row: Any, n: Notification) -> None:
    """Outbox event for the payment's new state (none while pending)."""
    if row.status == PaymentStatus.FAILED:
        await add_event(session, events.failed(row, n.failure_reason or "provider reported failure"))
    elif row.status != PaymentStatus.PENDING:
        await add_event(session, events.received(row))
