"""bank-sync ``banksync.loan.updated`` -> the local loan read model used for allocation."""

from __future__ import annotations

from caisse_shared.events.envelope import ReceivedEvent
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db import repositories as repo


async def handle_loan_updated(session: AsyncSession, event: ReceivedEvent) -> None:
    """Upsert the loan snapshot; an older snapshot than the stored one is ignored."""
    p = event.payload
    await repo.upsert_loan(
        session,
        {
            "account_number": p["account_number"],
            "cif": p["cif"],
            "currency": p["currency"],
            "status": p["status"],
            "outstanding_principal": p["outstanding_principal"],
            "outstanding_interest": p.get("outstanding_interest", 0),
            "outstanding_penalties": p.get("outstanding_penalties", 0),
            "institution_id": p.get("institution_id"),
            "agency_id": p.get("agency_id"),
        },
        event.occurred_at,
    )
