"""Deliveries that disagree with the stored payment: kept whole, the payment flagged, counted."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_payments.db import repositories as repo
from caisse_payments.domain.duplicates import ConflictKind
from caisse_payments.domain.model import Notification

CONFLICTING_DELIVERIES = Counter(
    "caisse_payments_conflicting_deliveries_total",
    "Provider deliveries of a known reference that disagree with the stored payment "
    "(recorded in payment_conflict, payment flagged for review)",
    ["channel", "kind"],
)


def _count_on_commit(session: AsyncSession, channel: str, kind: ConflictKind) -> None:
    """Count the conflict once its transaction commits (a rolled-back one recorded nothing)."""

    def committed(_session: Any) -> None:
        CONFLICTING_DELIVERIES.labels(channel=channel, kind=kind.value).inc()

    event.listen(session.sync_session, "after_commit", committed, once=True)


async def record(
    session: AsyncSession,
    row: Any,
    n: Notification,
    kind: ConflictKind,
    detail: str,
    delivery_id: str | None,
) -> None:
    """Keep the delivery, flag its payment for review, count it after the commit."""
    await repo.add_conflict(
        session,
        payment_id=row.id,
        channel=row.channel,
        kind=kind.value,
        detail=detail,
        delivery_id=delivery_id,
        raw=n.raw or None,
    )
    await repo.flag_for_review(session, row.id, f"conflicting delivery: {detail}")
    _count_on_commit(session, row.channel, kind)
