"""Builders of the PAYMENT_RECEIVED / FAILED / REVERSED events (Avro payloads) from stored rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from caisse_shared.events.envelope import Event
from caisse_shared.events.registry import default_registry
from caisse_shared.messaging.outbox import outbox_row as shared_outbox_row

RECEIVED_TOPIC = "payments.payment.received"
FAILED_TOPIC = "payments.payment.failed"
REVERSED_TOPIC = "payments.payment.reversed"


def event_key(row: Any) -> str:
    """Loan account number so one loan's events stay ordered; reference when unallocated."""
    return str(row.account_number or row.reference_number)


def received(row: Any) -> Event:
    """PAYMENT_RECEIVED for a stored payment."""
    return Event(
        event_type="payments.PaymentReceived",
        topic=RECEIVED_TOPIC,
        key=event_key(row),
        payload={
            "payment_id": str(row.id),
            "reference_number": row.reference_number,
            "channel": row.channel,
            "provider_reference": row.provider_reference,
            "transaction_type": row.transaction_type,
            "account_number": row.account_number,
            "cif": row.cif,
            "amount": row.amount,
            "currency": row.currency,
            "allocated_penalties": row.allocated_penalties,
            "allocated_interest": row.allocated_interest,
            "allocated_principal": row.allocated_principal,
            "unallocated_amount": row.unallocated_amount,
            "status": row.status,
            "paid_at": row.paid_at or datetime.now(UTC),
            "payer_phone": row.payer_phone,
        },
    )


def failed(row: Any, reason: str) -> Event:
    """PAYMENT_FAILED for a stored payment."""
    return Event(
        event_type="payments.PaymentFailed",
        topic=FAILED_TOPIC,
        key=event_key(row),
        payload={
            "payment_id": str(row.id),
            "reference_number": row.reference_number,
            "channel": row.channel,
            "provider_reference": row.provider_reference,
            "account_number": row.account_number,
            "amount": row.amount,
            "currency": row.currency,
            "reason": reason,
            "failed_at": datetime.now(UTC),
        },
    )


def reversed_(reversal: Any, original: Any, reason: str) -> Event:
    """PAYMENT_REVERSED linking the reversal record to the original payment."""
    return Event(
        event_type="payments.PaymentReversed",
        topic=REVERSED_TOPIC,
        key=event_key(original),
        payload={
            "payment_id": str(reversal.id),
            "reference_number": reversal.reference_number,
            "original_payment_id": str(original.id),
            "account_number": original.account_number,
            "cif": original.cif,
            "amount": original.amount,
            "currency": original.currency,
            "reason": reason,
            "reversed_at": reversal.received_at,
        },
    )


def outbox_row(event: Event, *, producer: str) -> dict[str, Any]:
    """The outbox row ``add_event`` would insert (validated, Avro-encoded, envelope headers).

    Reuses the shared encoder so the one-statement intake writes byte-identical rows; the shared
    library does not export it yet (see the benchmark notes in the README).
    """
    return shared_outbox_row(event, default_registry(), producer)
