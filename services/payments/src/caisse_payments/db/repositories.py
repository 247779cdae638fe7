"""Payment, loan read-model and history persistence (add + flush, never commit)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db.models import (
    loan,
    payment,
    payment_allocation,
    payment_conflict,
    payment_history,
    webhook_delivery,
)
from caisse_payments.domain.allocation import Allocation, LoanDues

PaymentRow = Row[Any]


async def claim_delivery(session: AsyncSession, channel: str, delivery_id: str) -> bool:
    """Record one signed webhook delivery; False if it was seen before (a replay)."""
    result = await session.execute(
        pg_insert(webhook_delivery)
        .values(channel=channel, delivery_id=delivery_id)
        .on_conflict_do_nothing()
        .returning(webhook_delivery.c.delivery_id)
    )
    return result.first() is not None


async def insert_payment(session: AsyncSession, values: Mapping[str, Any]) -> PaymentRow | None:
    """Insert unless (channel, provider_reference) exists; the new row, or None if it existed."""
    result = await session.execute(
        pg_insert(payment)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "provider_reference"])
        .returning(*payment.c)
    )
    return result.first()


async def by_provider_ref(
    session: AsyncSession, channel: str, provider_reference: str, *, lock: bool = False
) -> PaymentRow | None:
    """The payment for a provider reference on a channel."""
    stmt = select(payment).where(
        payment.c.channel == channel, payment.c.provider_reference == provider_reference
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def by_reference(session: AsyncSession, reference: str, *, lock: bool = False) -> PaymentRow | None:
    """The payment with our reference number."""
    stmt = select(payment).where(payment.c.reference_number == reference)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def by_id(session: AsyncSession, payment_id: uuid.UUID) -> PaymentRow:
    """A payment by id (must exist)."""
    return (await session.execute(select(payment).where(payment.c.id == payment_id))).one()


async def list_payments(
    session: AsyncSession, *, filters: Sequence[Any], limit: int, offset: int
) -> Sequence[PaymentRow]:
    """Payments matching the filters, newest first."""
    stmt = (
        select(payment)
        .where(and_(True, *filters))
        .order_by(payment.c.received_at.desc(), payment.c.id)
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(stmt)).all()


async def history_of(session: AsyncSession, payment_id: uuid.UUID) -> Sequence[Row[Any]]:
    """Every state change of a payment, oldest first."""
    stmt = (
        select(payment_history)
        .where(payment_history.c.payment_id == payment_id)
        .order_by(payment_history.c.id)
    )
    return (await session.execute(stmt)).all()


async def allocations_of(session: AsyncSession, payment_id: uuid.UUID) -> Sequence[Row[Any]]:
    """Allocation lines of a payment."""
    stmt = (
        select(payment_allocation)
        .where(payment_allocation.c.payment_id == payment_id)
        .order_by(payment_allocation.c.id)
    )
    return (await session.execute(stmt)).all()


async def add_history(
    session: AsyncSession,
    payment_id: uuid.UUID,
    from_status: str | None,
    to_status: str,
    *,
    reason: str | None = None,
    actor: str | None = None,
) -> None:
    """Append one state change."""
    await session.execute(
        insert(payment_history).values(
            payment_id=payment_id,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            actor=actor,
        )
    )


async def add_conflict(session: AsyncSession, **values: Any) -> None:
    """Keep one delivery that disagreed with its payment."""
    await session.execute(insert(payment_conflict).values(**values))


async def conflicts_of(session: AsyncSession, payment_id: uuid.UUID) -> Sequence[Row[Any]]:
    """The disagreeing deliveries of a payment, oldest first."""
    stmt = (
        select(payment_conflict)
        .where(payment_conflict.c.payment_id == payment_id)
        .order_by(payment_conflict.c.id)
    )
    return (await session.execute(stmt)).all()


async def flag_for_review(session: AsyncSession, payment_id: uuid.UUID, reason: str) -> None:
    """needs_review, the reason added to the payment's (once: the same retry again adds nothing)."""
    current = func.coalesce(payment.c.review_reason, "")
    await session.execute(
        update(payment)
        .where(payment.c.id == payment_id)
        .values(
            needs_review=True,
            review_reason=case(
                (func.strpos(current, reason) > 0, payment.c.review_reason),
                else_=func.concat_ws("; ", payment.c.review_reason, reason),
            ),
            updated_at=func.now(),
        )
    )


async def update_payment(session: AsyncSession, payment_id: uuid.UUID, **values: Any) -> None:
    """Change columns of one payment."""
    await session.execute(update(payment).where(payment.c.id == payment_id).values(**values))


async def lock_loan(session: AsyncSession, account_number: str) -> LoanDues | None:
    """The loan's dues, locked so concurrent payments on one loan allocate one after another."""
    row = (
        await session.execute(select(loan).where(loan.c.account_number == account_number).with_for_update())
    ).first()
    return None if row is None else loan_dues(row._mapping)


def loan_dues(row: Any) -> LoanDues:
    """The dues of a loan read-model row (a mapping or a driver record, read by column name)."""
    return LoanDues(
        account_number=row["account_number"],
        cif=row["cif"],
        currency=row["currency"],
        status=row["status"],
        penalties=row["outstanding_penalties"],
        interest=row["outstanding_interest"],
        principal=row["outstanding_principal"],
    )


async def loan_institution(session: AsyncSession, account_number: str | None) -> str | None:
    """Institution owning a loan (for data scoping), if known."""
    if account_number is None:
        return None
    return (
        await session.execute(select(loan.c.institution_id).where(loan.c.account_number == account_number))
    ).scalar_one_or_none()


async def apply_to_loan(
    session: AsyncSession,
    payment_id: uuid.UUID,
    account_number: str,
    alloc: Allocation,
    *,
    sign: int = 1,
) -> None:
    """Write allocation lines and move the loan's read-model balances (sign -1 on reversal)."""
    parts = alloc.parts()
    if not parts:
        return
    await session.execute(
        insert(payment_allocation),
        [
            {
                "payment_id": payment_id,
                "account_number": account_number,
                "component": c.value,
                "amount": sign * amount,
            }
            for c, amount in parts.items()
        ],
    )
    await session.execute(
        update(loan)
        .where(loan.c.account_number == account_number)
        .values(
            outstanding_penalties=loan.c.outstanding_penalties - sign * alloc.penalties,
            outstanding_interest=loan.c.outstanding_interest - sign * alloc.interest,
            outstanding_principal=loan.c.outstanding_principal - sign * alloc.principal,
        )
    )


async def upsert_loan(session: AsyncSession, values: Mapping[str, Any], occurred_at: datetime) -> None:
    """Store a bank-sync snapshot unless a newer one is already applied (out-of-order safe)."""
    stmt = pg_insert(loan).values(**values, source_occurred_at=occurred_at)
    excluded = stmt.excluded
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_number"],
            set_={
                **{k: excluded[k] for k in values if k != "account_number"},
                "source_occurred_at": excluded.source_occurred_at,
                "updated_at": excluded.updated_at,
            },
            where=loan.c.source_occurred_at <= excluded.source_occurred_at,
        )
    )


async def purge_deliveries(session: AsyncSession, older_than_s: float, *, batch: int) -> int:
    """Delete up to ``batch`` replay-guard rows received more than ``older_than_s`` ago."""
    cutoff = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, older_than_s)
    old = (
        select(webhook_delivery.c.channel, webhook_delivery.c.delivery_id)
        .where(webhook_delivery.c.received_at < cutoff)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(webhook_delivery).where(
            tuple_(webhook_delivery.c.channel, webhook_delivery.c.delivery_id).in_(old)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
