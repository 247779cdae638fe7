"""Performance metrics per agent and per team for a period, computed from recorded facts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from caisse_collection.db.models import (
    ActionRecord,
    Agent,
    CustomerCaseAction,
    PaymentCredit,
    PromiseToPay,
    Team,
)
from caisse_collection.domain.actions import CONTACT_TYPES
from caisse_collection.domain.cases import RESOLVED_STATUSES
from caisse_collection.errors import NotYourCustomer, RuleViolation, TeamNotFound
from caisse_collection.services.scope import Actor, check_agent


@dataclass(slots=True)
class Metrics:
    """Contacts, promises, kept rate, amounts collected (per currency), cases resolved."""

    period_from: date
    period_to: date
    contacts: int = 0
    promises: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    kept_rate: float | None = None
    collected: dict[str, int] = field(default_factory=dict)
    cases_resolved: int = 0


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise RuleViolation("period 'to' is before 'from'")
    if (end - start).days > 366:
        raise RuleViolation("period is longer than a year")
    return (datetime.combine(start, time.min, UTC), datetime.combine(end + timedelta(days=1), time.min, UTC))


async def metrics_for(
    session: AsyncSession, agent_ids: Sequence[uuid.UUID], start: date, end: date
) -> Metrics:
    """Aggregate the facts of these agents between ``start`` and ``end`` (inclusive days)."""
    lo, hi = _bounds(start, end)
    m = Metrics(start, end)
    ids = list(agent_ids)
    m.contacts = (
        await session.execute(
            select(func.count()).where(
                ActionRecord.agent_id.in_(ids),
                ActionRecord.created_at >= lo,
                ActionRecord.created_at < hi,
                ActionRecord.action_type.in_([t.value for t in CONTACT_TYPES]),
            )
        )
    ).scalar_one()
    rows = (
        await session.execute(
            select(PromiseToPay.status, func.count())
            .where(
                PromiseToPay.agent_id.in_(ids), PromiseToPay.created_at >= lo, PromiseToPay.created_at < hi
            )
            .group_by(PromiseToPay.status)
        )
    ).all()
    by_status: dict[str, int] = {s: n for s, n in rows}  # noqa: C416
    m.promises = sum(by_status.values())
    m.promises_kept, m.promises_broken = by_status.get("KEPT", 0), by_status.get("BROKEN", 0)
    resolved = m.promises_kept + m.promises_broken
    m.kept_rate = round(m.promises_kept / resolved, 4) if resolved else None
    money = (
        await session.execute(
            select(PaymentCredit.currency, func.sum(PaymentCredit.amount))
            .where(PaymentCredit.agent_id.in_(ids), PaymentCredit.paid_at >= lo, PaymentCredit.paid_at < hi)
            .group_by(PaymentCredit.currency)
        )
    ).all()
    m.collected = {c: int(a) for c, a in money}
    m.cases_resolved = (
        await session.execute(
            select(func.count()).where(
                CustomerCaseAction.agent_id.in_(ids),
                CustomerCaseAction.created_at >= lo,
                CustomerCaseAction.created_at < hi,
                CustomerCaseAction.to_status.in_([s.value for s in RESOLVED_STATUSES]),
            )
        )
    ).scalar_one()
    return m


async def agent_performance(
    session: AsyncSession, actor: Actor, agent_id: uuid.UUID, start: date, end: date
) -> Metrics:
    """``GET /api/agents/:id/performance`` (own figures only unless manager)."""
    agent = check_agent(actor, await session.get(Agent, agent_id))
    return await metrics_for(session, [agent.id], start, end)


async def team_performance(
    session: AsyncSession, actor: Actor, team_id: uuid.UUID, start: date, end: date
) -> Metrics:
    """Team figures (managers only, enforced by the route's permission and scope)."""
    if not actor.manager:
        raise NotYourCustomer("team figures are for managers")
    team = await session.get(Team, team_id)
    if team is None or not actor.principal.can_see_institution(team.institution_id):
        raise TeamNotFound("no such team")
    ids = (await session.execute(select(Agent.id).where(Agent.team_id == team.id))).scalars().all()
    return await metrics_for(session, ids, start, end)
