"""Topic -> use case. Inbox dedupe is done by the shared ConsumerRunner in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from caisse_shared.events.envelope import ReceivedEvent
from caisse_shared.messaging.consumer import Handler
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.services.cases import LoanFacts, apply_loan_facts
from caisse_collection.services.payments import PaymentFacts, on_payment, on_reversal

TOPIC_DELINQUENCY = "banksync.loan.delinquency_changed"
TOPIC_LOAN_UPDATED = "banksync.loan.updated"
TOPIC_PAYMENT_RECEIVED = "payments.payment.received"
TOPIC_PAYMENT_REVERSED = "payments.payment.reversed"
CLOSED_LOAN_STATUSES = frozenset({"CLOSED", "PAID_OFF", "SETTLED"})


def _delinquency_facts(p: dict[str, Any]) -> LoanFacts:
    return LoanFacts(
        p["account_number"],
        p["cif"],
        p["currency"],
        p["days_past_due"],
        p["overdue_amount"],
        p["outstanding_amount"],
        p.get("institution_id"),
        p.get("agency_id"),
    )


def _loan_facts(p: dict[str, Any]) -> LoanFacts:
    closed = str(p.get("status", "")).upper() in CLOSED_LOAN_STATUSES
    outstanding = (
        p["outstanding_principal"] + p.get("outstanding_interest", 0) + p.get("outstanding_penalties", 0)
    )
    return LoanFacts(
        p["account_number"],
        p["cif"],
        p["currency"],
        0 if closed else p.get("days_past_due", 0),
        0 if closed else p.get("overdue_amount", 0),
        outstanding,
        p.get("institution_id"),
        p.get("agency_id"),
    )


def make_handlers(*, auto_assign: bool) -> dict[str, Handler]:
    """The handlers of the collection consumer group."""

    def loan_handler(to_facts: Callable[[dict[str, Any]], LoanFacts]) -> Handler:
        async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
            await apply_loan_facts(session, to_facts(event.payload), auto_assign=auto_assign)

        return handle

    async def payment_received(session: AsyncSession, event: ReceivedEvent) -> None:
        await on_payment(session, _payment_facts(event.payload, "paid_at"))

    async def payment_reversed(session: AsyncSession, event: ReceivedEvent) -> None:
        p = event.payload
        facts = _payment_facts(p, "reversed_at", original_payment_id=p["original_payment_id"])
        await on_reversal(session, facts)

    return {
        TOPIC_DELINQUENCY: loan_handler(_delinquency_facts),
        TOPIC_LOAN_UPDATED: loan_handler(_loan_facts),
        TOPIC_PAYMENT_RECEIVED: payment_received,
        TOPIC_PAYMENT_REVERSED: payment_reversed,
    }


def _payment_facts(p: dict[str, Any], at: str, **extra: Any) -> PaymentFacts:
    """The payment facts of a PaymentReceived / PaymentReversed payload (``at``: its time field)."""
    return PaymentFacts(
        p["payment_id"], p.get("account_number"), p.get("cif"), p["amount"], p["currency"], p[at], **extra
    )
