"""Audit trail: every authentication and administration event, stored and published."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caisse_shared.events.envelope import Event
from caisse_shared.messaging.outbox import add_event
from caisse_shared.observability import current_correlation_id
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_auth.db.models import AuditLog
from caisse_auth.domain.context import Origin

TOPICS = {
    "UserCreated": "auth.user.created",
    "UserUpdated": "auth.user.updated",
    "LoginSucceeded": "auth.login.succeeded",
    "LoginFailed": "auth.login.failed",
    "LoggedOut": "auth.user.logged_out",
}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited action."""

    action: str
    result: str
    username: str | None = None
    user_id: uuid.UUID | None = None
    target: str | None = None
    institution_id: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def auth_event(name: str, key: str, payload: dict[str, Any]) -> Event:
    """An ``auth.<Name>`` event on its topic."""
    return Event(event_type=f"auth.{name}", topic=TOPICS[name], key=key, payload=payload)


async def record(
    session: AsyncSession, entry: AuditEntry, origin: Origin, event: Event | None = None
) -> None:
    """Store the audit row and, when given, the event, in the caller's transaction."""
    session.add(
        AuditLog(
            action=entry.action,
            result=entry.result,
            actor=origin.actor,
            username=entry.username,
            user_id=entry.user_id,
            target=entry.target,
            institution_id=entry.institution_id,
            ip=origin.ip,
            user_agent=origin.user_agent,
            reason=entry.reason,
            correlation_id=current_correlation_id(),
            details=entry.details,
        )
    )
    if event is not None:
        await add_event(session, event)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit log endpoint."""

    action: str | None = None
    result: str | None = None
    username: str | None = None
    actor: str | None = None
    user_id: uuid.UUID | None = None
    ip: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    institution_id: str | None = None
    limit: int = 100
    before_id: int | None = None


async def search(session: AsyncSession, q: AuditQuery) -> Sequence[AuditLog]:
    """Audit rows matching the filters, newest first (keyset pagination on id)."""
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(q.limit)
    filters = {
        AuditLog.action: q.action,
        AuditLog.result: q.result,
        AuditLog.username: q.username,
        AuditLog.actor: q.actor,
        AuditLog.user_id: q.user_id,
        AuditLog.ip: q.ip,
        AuditLog.institution_id: q.institution_id,
    }
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if q.since is not None:
        stmt = stmt.where(AuditLog.occurred_at >= q.since)
    if q.until is not None:
        stmt = stmt.where(AuditLog.occurred_at < q.until)
    if q.before_id is not None:
        stmt = stmt.where(AuditLog.id < q.before_id)
    return (await session.execute(stmt)).scalars().all()
