"""Reversal: a linked REVERSAL record, the original marked REVERSED, loan dues restored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from caisse_shared.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db import repositories as repo
from caisse_payments.domain.allocation import Allocation
from caisse_payments.domain.model import (
    FINAL_RECEIVED,
    InvalidTransition,
    PaymentNotFound,
    PaymentStatus,
)
from caisse_payments.services import events
from caisse_payments.services.ingest import new_reference


async def reverse(session: AsyncSession, reference: str, reason: str, actor: str) -> Any:
    """Reverse a received payment once; returns the reversal record."""
    original = await repo.by_reference(session, reference, lock=True)
    if original is None:
        raise PaymentNotFound(f"no payment {reference}")
    if original.status not in FINAL_RECEIVED:
        raise InvalidTransition(f"payment {reference} is {original.status}; cannot reverse")
    now = datetime.now(UTC)
    rid = uuid.uuid4()
    await repo.insert_payment(
        session,
        {
            "id": rid,
            "reference_number": new_reference(now),
            "channel": original.channel,
            # Our reference (at most 40 characters) keeps it unique and whole; "REV:" + a
            # 120-character provider reference was cut to 120, so two reversals could collide.
            "provider_reference": f"REV:{original.reference_number}",
            "transaction_type": original.transaction_type,
            "account_number": original.account_number,
            "cif": original.cif,
            "amount": original.amount,
            "currency": original.currency,
            "status": PaymentStatus.REVERSAL.value,
            "paid_at": now,
            "original_payment_id": original.id,
            "created_by": actor,
            "institution_id": original.institution_id,
            "review_reason": reason,
        },
    )
    await repo.add_history(session, rid, None, PaymentStatus.REVERSAL.value, reason=reason, actor=actor)
    await repo.update_payment(session, original.id, status=PaymentStatus.REVERSED.value, updated_at=now)
    await repo.add_history(
        session,
        original.id,
        original.status,
        PaymentStatus.REVERSED.value,
        reason=reason,
        actor=actor,
    )
    if original.account_number and original.status == PaymentStatus.ALLOCATED:
        taken = Allocation(
            PaymentStatus.ALLOCATED,
            penalties=original.allocated_penalties,
            interest=original.allocated_interest,
            principal=original.allocated_principal,
        )
        await repo.apply_to_loan(session, rid, original.account_number, taken, sign=-1)
    reversal = await repo.by_id(session, rid)
    await add_event(session, events.reversed_(reversal, original, reason))
    return reversal
