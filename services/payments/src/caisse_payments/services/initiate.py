"""Tontine platform flow: initiate a collection at the aggregator, then check its status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from caisse_shared.errors import Conflict
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db import repositories as repo
from caisse_payments.domain.model import (
    Channel,
    Notification,
    NotificationOutcome,
    PaymentNotFound,
    PaymentStatus,
    TransactionType,
    validate_money,
)
from caisse_payments.services.ingest import IngestContext, ingest, new_reference
from caisse_payments.services.providers import InitiateRequest, PaymentProvider


@dataclass(frozen=True, slots=True)
class Initiation:
    """An operator's or customer's request to collect money by mobile money."""

    amount: int
    currency: str
    phone: str
    transaction_type: TransactionType
    account_number: str | None
    description: str


async def initiate(session: AsyncSession, provider: PaymentProvider, req: Initiation, actor: str) -> Any:
    """Ask the aggregator to collect, and store the PENDING payment under its reference."""
    validate_money(req.amount, req.currency)
    reference = new_reference(datetime.now(UTC))
    answer = await provider.initiate(
        InitiateRequest(reference, req.amount, req.currency, req.phone, req.description)
    )
    pid = uuid.uuid4()
    created = await repo.insert_payment(
        session,
        {
            "id": pid,
            "reference_number": reference,
            "channel": Channel.KKIAPAY.value,
            "provider_reference": answer.provider_reference,
            "transaction_type": req.transaction_type.value,
            "account_number": req.account_number,
            "amount": req.amount,
            "currency": req.currency,
            "payer_phone": req.phone,
            "status": PaymentStatus.PENDING.value,
            "created_by": actor,
            "institution_id": await repo.loan_institution(session, req.account_number),
        },
    )
    if not created:
        raise Conflict("the aggregator returned a transaction id we already hold")
    await repo.add_history(
        session,
        pid,
        None,
        PaymentStatus.PENDING.value,
        actor=actor,
        reason=f"initiated at {provider.name}",
    )
    return await repo.by_id(session, pid)


async def check_status(
    session: AsyncSession,
    provider: PaymentProvider,
    reference: str,
    ctx: IngestContext,
    *,
    forced: NotificationOutcome | None = None,
) -> Any:
    """Ask the aggregator (or the sandbox) for a pending payment's outcome and apply it."""
    row = await repo.by_reference(session, reference)
    if row is None:
        raise PaymentNotFound(f"no payment {reference}")
    if row.status != PaymentStatus.PENDING:
        return row
    answer = await provider.status(row.provider_reference)
    outcome = forced or answer.outcome
    if outcome is NotificationOutcome.PENDING:
        return row
    n = Notification(
        channel=Channel(row.channel),
        provider_reference=row.provider_reference,
        amount=row.amount,
        currency=row.currency,
        outcome=outcome,
        paid_at=datetime.now(UTC),
        account_number=row.account_number,
        transaction_type=TransactionType(row.transaction_type),
        payer_phone=row.payer_phone,
        failure_reason=answer.failure_reason,
    )
    return (await ingest(session, n, ctx)).payment
